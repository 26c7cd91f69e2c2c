"""Shared pieces of the benchmarks: machine info, tables, timing, and a synthetic team.

The synthetic world is deterministic: every week of every calendar is drawn from a
`random.Random` seeded with (seed, what, week), so two runs (and two scripts) see the same
meetings. It renders to planner Events (plan_scale), to iCalendar files (history, local
backend) and to Google event resources (api_economy, loopback fake server).

Imported by the scripts in bench/ as `import _common` (the script's folder is on sys.path);
it puts the repository root on sys.path so the scripts also run without an installed coachd.
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from integrations.calendar.ics_encode import EventSpec  # noqa: E402
from planner.model import Attendee, Event, KpiRow, PartStat  # noqa: E402
from planner.timeutil import Interval, merge  # noqa: E402

TZ_NAME = "America/Chicago"
TZ = ZoneInfo(TZ_NAME)
DOMAIN = "acme-demo.com"
MANAGER = f"dana.reyes@{DOMAIN}"
BOSS = f"morgan.lee@{DOMAIN}"
CUSTOMER_DOMAINS = ("northwind.example", "contoso.example", "fabrikam.example")
SEED = 20261130

# --- output ------------------------------------------------------------------------------


def quiet_logging() -> None:
    """Benchmarks print figures only: log nothing below WARNING, to stderr."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(logging.WARNING)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> list[tuple[str, str]]:
    """What the figures were measured on: cores, CPU, Python, OS."""
    cores = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    return [
        ("cores", f"{cores} (usable by this process: {usable})"),
        ("cpu", _cpu_model()),
        ("python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("platform", platform.platform()),
    ]


def print_header(title: str, inputs: Sequence[tuple[str, str]]) -> None:
    """The title, the machine and the inputs, as `key: value` lines."""
    print(title)
    print("=" * len(title))
    print("machine:")
    for k, v in machine():
        print(f"  {k:<10} {v}")
    print("inputs:")
    width = max((len(k) for k, _ in inputs), default=0)
    for k, v in inputs:
        print(f"  {k:<{width}}  {v}")
    print()


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A plain-text table (Markdown pipe syntax, so the README can quote it as it is)."""
    body = [[str(c) for c in r] for r in rows]
    widths = [max([len(h), *(len(r[i]) for r in body)]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in body]
    return "\n".join(out)


# --- timing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds of repeated runs, and the CPU seconds of each (which a shared
    machine inflates far less)."""

    runs: tuple[float, ...]
    cpu: tuple[float, ...] = ()

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu) if self.cpu else float("nan")

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def min(self) -> float:
        return min(self.runs)

    @property
    def max(self) -> float:
        return max(self.runs)


def measure(fn: Callable[[], object], runs: int = 7, warmup: int = 1) -> Timing:
    """Time `runs` calls of fn after `warmup` untimed ones (imports, caches, JIT-free warm-up)."""
    for _ in range(warmup):
        fn()
    out = []
    cpu = []
    for _ in range(runs):
        c0 = time.process_time()
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return Timing(tuple(out), tuple(cpu))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def size_text(n: int) -> str:
    return f"{n / 1024:.1f} KiB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.2f} MiB"


# --- the synthetic team ------------------------------------------------------------------

KPIS: list[dict[str, Any]] = [
    {"id": "outbound_calls", "name": "Outbound calls", "unit": "calls", "minimum": 50, "goal": 75},
    {"id": "conversations", "name": "Conversations", "unit": "", "minimum": 15, "goal": 25},
    {"id": "meetings_booked", "name": "Meetings booked", "unit": "", "minimum": 4, "goal": 6},
    {
        "id": "pipeline_added",
        "name": "Pipeline added",
        "unit": "$",
        "minimum": 25000,
        "goal": 50000,
    },
    {"id": "win_rate", "name": "Win rate", "unit": "%", "minimum": 20, "goal": 30},
    {
        "id": "days_to_first_meeting",
        "name": "Days from lead to first meeting",
        "unit": "days",
        "higher_is_better": False,
        "minimum": 10,
        "goal": 5,
    },
]

TRIAGE_RULES: list[dict[str, Any]] = [
    {
        "name": "facilities",
        "match": {"title_regex": r"(?i)\b(office move|desk|parking|badge|facilities)\b"},
        "action": "decline",
        "message": "Thanks! Please send me the outcome by email; I'm coaching the team then.",
    },
    {
        "name": "hr-webinars",
        "match": {"organizer": [f"hr@{DOMAIN}"], "title": ["webinar", "enrollment", "benefits"]},
        "action": "decline",
        "message": "Thanks, I'll watch the recording. This time is booked for coaching.",
    },
    {"name": "surveys", "match": {"title": ["survey"], "internal_only": True}, "action": "flag"},
    {
        "name": "vendor-demos",
        "match": {"title": ["vendor demo", "product demo"], "organizer": ["vendors.example"]},
        "action": "delegate",
        "delegate_to": f"rep000@{DOMAIN}",
        "message": "Thanks for the invitation; a rep will attend for our team.",
    },
    {
        "name": "product-training",
        "match": {"title": ["product training", "release training"]},
        "action": "flag",
        "category": "non_sales",
    },
    {
        "name": "internal-recurring-syncs",
        "match": {
            "internal_only": True,
            "recurring": True,
            "min_attendees": 6,
            "overlaps_coaching": True,
        },
        "action": "flag",
        "message": "This recurring sync overlaps my coaching time; could we move it?",
    },
]

FIRST_NAMES = ("Alex", "Priya", "Jordan", "Sam", "Taylor", "Casey", "Robin", "Noor", "Lee", "Mika")
LAST_NAMES = ("Kim", "Shah", "Miles", "Ortiz", "Brooks", "Nguyen", "Haas", "Diaz", "Okafor", "Berg")


def rep_email(i: int) -> str:
    return f"rep{i:03d}@{DOMAIN}"


def team(n: int, today: date) -> list[dict[str, Any]]:
    """n reps: every 10th a new hire (ramping), every 7th with an own minimum, two goals each."""
    out: list[dict[str, Any]] = []
    for i in range(n):
        rep: dict[str, Any] = {
            "name": f"{FIRST_NAMES[i % 10]} {LAST_NAMES[(i // 10) % 10]}",
            "email": rep_email(i),
            "goals": [f"Close {3 + i % 4} new logos this quarter", "Multi-thread every deal"],
        }
        if i % 10 == 3:
            rep["start_date"] = (today - timedelta(weeks=1 + i % 8)).isoformat()
        if i % 7 == 5:
            rep["minimums"] = {"outbound_calls": 30}
        out.append(rep)
    return out


def policy_dict(n_reps: int, today: date, *, horizon: str = "4 weeks") -> dict[str, Any]:
    """A realistic config.yaml as a dict: the example policy with n reps and this horizon."""
    return {
        "manager": {
            "name": "Dana Reyes",
            "email": MANAGER,
            "timezone": TZ_NAME,
            "working_hours": {"start": "08:00", "end": "17:30"},
            "boss": BOSS,
        },
        "team": team(n_reps, today),
        "kpis": KPIS,
        "coaching": {
            "horizon": horizon,
            "sales_meeting": {
                "topics": ["Discovery", "Price objections", "Multi-threading", "Closing"],
            },
        },
        "triage": {
            "mode": "decline",
            "max_declines_per_tick": 10,
            "never_decline": [BOSS, f"leadership.{DOMAIN}", f"ceo@{DOMAIN}"],
            "customer_domains": list(CUSTOMER_DOMAINS),
            "internal_domains": [DOMAIN],
            "rules": TRIAGE_RULES,
        },
        "audit": {
            "categories": {
                "account_management": ["QBR", "renewal", "escalation"],
                "recruiting": ["interview", "candidate"],
                "personal": ["dentist", "doctor"],
            }
        },
    }


@dataclass(frozen=True)
class Meeting:
    """One occurrence in somebody's calendar, independent of any backend.

    `guests` holds every attendee with their answer (the calendar owner included when
    invited). `series` is the series uid of a recurring occurrence. All-day meetings start
    and end at local midnight.
    """

    uid: str
    title: str
    start: datetime
    end: datetime
    organizer: str | None
    guests: tuple[tuple[str, PartStat], ...] = ()
    all_day: bool = False
    series: str | None = None
    description: str = ""


@dataclass(frozen=True)
class Series:
    """A weekly (or every n weeks) recurring meeting in the manager's calendar."""

    uid: str
    title: str
    weekdays: tuple[int, ...]  # 0 = Monday
    at: dtime
    minutes: int
    organizer: str
    guests: tuple[tuple[str, PartStat], ...]
    every_weeks: int = 1

    def rrule(self) -> str:
        days = ",".join(("MO", "TU", "WE", "TH", "FR", "SA", "SU")[d] for d in self.weekdays)
        return f"FREQ=WEEKLY;INTERVAL={self.every_weeks};BYDAY={days}"

    def first_start(self, anchor: date) -> datetime:
        """The first occurrence on or after `anchor` (a Monday): DTSTART of the series."""
        day = anchor + timedelta(days=self.weekdays[0])
        return datetime.combine(day, self.at, TZ)

    def in_week(self, monday: date, anchor: date) -> list[Meeting]:
        """Occurrences in the week of `monday`, for a series that started in `anchor`'s week."""
        if (monday - anchor).days // 7 % self.every_weeks:
            return []
        out = []
        for d in self.weekdays:
            start = datetime.combine(monday + timedelta(days=d), self.at, TZ)
            out.append(
                Meeting(
                    uid=f"{self.uid}-{start.astimezone(UTC):%Y%m%dT%H%M%SZ}",
                    title=self.title,
                    start=start,
                    end=start + timedelta(minutes=self.minutes),
                    organizer=self.organizer,
                    guests=self.guests,
                    series=self.uid,
                )
            )
        return out


def _people(
    names: Iterable[str], status: PartStat = "accepted"
) -> tuple[tuple[str, PartStat], ...]:
    return tuple((n, status) for n in names)


def _internal(rng: random.Random, k: int) -> list[str]:
    return [
        f"{rng.choice(FIRST_NAMES).lower()}.{rng.choice(LAST_NAMES).lower()}@{DOMAIN}"
        for _ in range(k)
    ]


MANAGER_SERIES: tuple[Series, ...] = (
    # 12.5 occurrences a week: the manager's own stand-up, the boss's meetings, syncs.
    Series(
        "standup",
        "Sales floor stand-up",
        (0, 1, 2, 3, 4),
        dtime(8, 45),
        15,
        MANAGER,
        _people([f"floor@{DOMAIN}"]),
    ),
    Series(
        "staff",
        "Weekly staff meeting",
        (0,),
        dtime(11, 0),
        60,
        BOSS,
        ((BOSS, "accepted"), (MANAGER, "accepted"), (f"cfo@{DOMAIN}", "accepted")),
    ),
    Series(
        "forecast",
        "Forecast call",
        (3,),
        dtime(9, 0),
        30,
        BOSS,
        ((BOSS, "accepted"), (MANAGER, "accepted")),
    ),
    Series(
        "boss-1on1",
        "1:1 Morgan / Dana",
        (4,),
        dtime(14, 0),
        30,
        BOSS,
        ((BOSS, "accepted"), (MANAGER, "accepted")),
    ),
    Series(
        "ops-sync",
        "Sales ops sync",
        (1, 3),
        dtime(15, 0),
        30,
        f"ops@{DOMAIN}",
        (
            (f"ops@{DOMAIN}", "accepted"),
            (MANAGER, "needsAction"),
            *_people(f"ops{i}@{DOMAIN}" for i in range(6)),
        ),
    ),
    Series(
        "mkt-align",
        "Marketing / sales alignment",
        (2,),
        dtime(14, 0),
        60,
        f"marketing@{DOMAIN}",
        ((f"marketing@{DOMAIN}", "accepted"), (MANAGER, "needsAction")),
        every_weeks=2,
    ),
    Series(
        "deal-desk",
        "Deal desk review",
        (2,),
        dtime(16, 0),
        30,
        f"dealdesk@{DOMAIN}",
        ((f"dealdesk@{DOMAIN}", "accepted"), (MANAGER, "accepted")),
    ),
    Series(
        "leadership",
        "Leadership update",
        (4,),
        dtime(9, 0),
        45,
        f"vp@leadership.{DOMAIN}",
        ((f"vp@leadership.{DOMAIN}", "accepted"), (MANAGER, "accepted")),
    ),
)


class World:
    """The synthetic calendars and KPIs of one manager and their reps.

    `anchor` is the Monday the recurring series start on; every week is generated on demand
    and the same week always comes out the same.
    """

    def __init__(self, reps: Sequence[str], anchor: date, seed: int = SEED) -> None:
        self.reps = list(reps)
        self.anchor = anchor
        self.seed = seed

    def _rng(self, what: str, monday: date) -> random.Random:
        return random.Random(f"{self.seed}|{what}|{monday.isoformat()}")

    # --- the manager ------------------------------------------------------------------

    def manager_series(self) -> tuple[Series, ...]:
        return MANAGER_SERIES

    def manager_occurrences(self, monday: date) -> list[Meeting]:
        """The recurring meetings' occurrences in one week."""
        return [m for s in MANAGER_SERIES for m in s.in_week(monday, self.anchor)]

    def manager_singles(self, monday: date) -> list[Meeting]:
        """About 22 one-off meetings a week: customers, account work, interviews, invitations
        that triage rules catch, internal meetings, and an all-day event."""
        rng = self._rng("manager", monday)
        out: list[Meeting] = []
        taken: list[Interval] = []

        def slot(minutes: int, day: int | None = None) -> datetime:
            for _ in range(50):
                d = rng.randrange(5) if day is None else day
                start = datetime.combine(
                    monday + timedelta(days=d), dtime(8 + rng.randrange(9), rng.choice((0, 30))), TZ
                )
                iv = Interval(start, start + timedelta(minutes=minutes))
                if iv.end.hour < 18 and not any(iv.overlaps(t) for t in taken):
                    taken.append(iv)
                    return start
            return start

        def add(
            title: str,
            minutes: int,
            organizer: str,
            others: Sequence[str],
            status: PartStat,
            description: str = "",
        ) -> None:
            start = slot(minutes)
            guests: tuple[tuple[str, PartStat], ...] = (
                (organizer, "accepted"),
                *((g, "accepted") for g in others),
                (MANAGER, status),
            )
            out.append(
                Meeting(
                    uid=f"m{monday:%Y%m%d}-{len(out):02d}",
                    title=title,
                    start=start,
                    end=start + timedelta(minutes=minutes),
                    organizer=organizer,
                    guests=guests if organizer != MANAGER else guests[:-1],
                    description=description,
                )
            )

        for k in range(6):
            dom = CUSTOMER_DOMAINS[k % 3]
            rep = self.reps[rng.randrange(len(self.reps))] if self.reps else MANAGER
            add(
                f"{dom.split('.')[0].title()} discovery call",
                60,
                MANAGER,
                [f"buyer@{dom}", rep],
                "accepted",
            )
        add("Northwind QBR", 90, MANAGER, ["cio@northwind.example"], "accepted")
        add("Renewal escalation: Contoso", 30, f"cs@{DOMAIN}", [f"cs2@{DOMAIN}"], "accepted")
        add("Interview: AE candidate", 45, f"recruiting@{DOMAIN}", [], "accepted")
        add("Office move planning", 60, f"facilities@{DOMAIN}", _internal(rng, 5), "needsAction")
        add("Benefits enrollment webinar", 60, f"hr@{DOMAIN}", _internal(rng, 12), "needsAction")
        add("Engagement survey readout", 30, f"people@{DOMAIN}", _internal(rng, 8), "needsAction")
        add("Vendor demo: DialerPro", 45, "ae@vendors.example", [], "needsAction")
        add(
            "Product training: v5 release",
            90,
            f"enablement@{DOMAIN}",
            _internal(rng, 9),
            "needsAction",
        )
        for title in ("Territory planning", "Pricing committee", "CRM clean-up", "Team lunch"):
            status: PartStat = rng.choice(("needsAction", "accepted", "tentative"))
            add(
                title,
                rng.choice((30, 60)),
                f"{title.split()[0].lower()}@{DOMAIN}",
                _internal(rng, 4),
                status,
            )
        add("Account planning: Fabrikam", 60, MANAGER, [f"se@{DOMAIN}"], "accepted")
        add("Dentist", 60, MANAGER, [], "accepted")
        # One all-day event a week; every fourth week a two-day one.
        day = monday + timedelta(days=rng.randrange(5))
        length = 2 if (monday.toordinal() // 7) % 4 == 0 and day.weekday() < 4 else 1
        out.append(
            Meeting(
                uid=f"m{monday:%Y%m%d}-allday",
                title="Sales kickoff" if length == 2 else "Regional sales conference",
                start=datetime.combine(day, dtime(0), TZ),
                end=datetime.combine(day + timedelta(days=length), dtime(0), TZ),
                organizer=f"events@{DOMAIN}",
                guests=((f"events@{DOMAIN}", "accepted"), (MANAGER, "accepted")),
                all_day=True,
            )
        )
        return out

    def manager_week(self, monday: date) -> list[Meeting]:
        return self.manager_occurrences(monday) + self.manager_singles(monday)

    # --- reps --------------------------------------------------------------------------

    def rep_week(self, rep: str, monday: date) -> list[Meeting]:
        """About 12 customer calls and visits a week in the rep's calendar."""
        rng = self._rng(rep, monday)
        out = []
        for d in range(5):
            hours = rng.sample(range(8, 17), k=rng.choice((2, 2, 3)))
            for h in sorted(hours):
                start = datetime.combine(
                    monday + timedelta(days=d), dtime(h, rng.choice((0, 30))), TZ
                )
                dom = rng.choice(CUSTOMER_DOMAINS)
                out.append(
                    Meeting(
                        uid=f"{rep.split('@')[0]}-{start:%Y%m%dT%H%M}",
                        title=f"Call with {dom.split('.')[0].title()}",
                        start=start,
                        end=start + timedelta(minutes=rng.choice((30, 45, 60, 90))),
                        organizer=rep,
                        guests=((rep, "accepted"), (f"buyer@{dom}", "accepted")),
                    )
                )
        return out

    def rep_busy(self, window: Interval) -> dict[str, tuple[Interval, ...]]:
        """Each rep's merged busy intervals inside `window`, as a freebusy answer gives them."""
        out: dict[str, tuple[Interval, ...]] = {}
        for rep in self.reps:
            ivs = [
                Interval(max(m.start, window.start), min(m.end, window.end))
                for monday in mondays(window)
                for m in self.rep_week(rep, monday)
                if m.end > window.start and m.start < window.end
            ]
            out[rep] = tuple(merge(ivs))
        return out

    # --- KPIs ---------------------------------------------------------------------------

    def kpi_week(self, monday: date) -> list[KpiRow]:
        """One figure per rep and KPI for that week. Every 6th rep runs below the minimum."""
        rng = self._rng("kpi", monday)
        rows = []
        for i, rep in enumerate(self.reps):
            weak = i % 6 == 1
            for k in KPIS:
                lo, goal = float(k["minimum"]), float(k["goal"])
                higher = k.get("higher_is_better", True)
                if weak:
                    v = (
                        lo * (0.7 + 0.2 * rng.random())
                        if higher
                        else lo * (1.1 + 0.3 * rng.random())
                    )
                else:
                    v = (
                        goal * (0.8 + 0.4 * rng.random())
                        if higher
                        else goal * (0.8 + 0.6 * rng.random())
                    )
                rows.append(KpiRow(monday, rep, str(k["id"]), round(v, 1)))
        return rows


def mondays(window: Interval) -> list[date]:
    """The Mondays of every week that overlaps the window (local dates)."""
    first = window.start.astimezone(TZ).date()
    first -= timedelta(days=first.weekday())
    last = window.end.astimezone(TZ).date()
    out = []
    d = first
    while d <= last:
        out.append(d)
        d += timedelta(weeks=1)
    return out


# --- renderings ----------------------------------------------------------------------------


def to_event(m: Meeting, owner: str) -> Event:
    """A planner Event as a backend would read it from the owner's calendar."""
    people = tuple(Attendee(email=e, status=s, organizer=(e == m.organizer)) for e, s in m.guests)
    self_status = None
    if owner != m.organizer:
        self_status = next((s for e, s in m.guests if e == owner), None)
    return Event(
        id=m.uid,
        uid=m.series or m.uid,
        calendar=owner,
        title=m.title,
        start=m.start,
        end=m.end,
        all_day=m.all_day,
        description=m.description,
        organizer=m.organizer,
        attendees=people,
        self_status=self_status,
        recurring=m.series is not None,
    )


def _attendees(
    guests: Iterable[tuple[str, PartStat]], organizer: str | None
) -> tuple[Attendee, ...]:
    return tuple(Attendee(email=e, status=s, organizer=(e == organizer)) for e, s in guests)


def to_spec(m: Meeting) -> EventSpec:
    """An iCalendar file for a one-off meeting."""
    start: datetime | date = m.start.date() if m.all_day else m.start
    end: datetime | date = m.end.date() if m.all_day else m.end
    return EventSpec(
        uid=m.uid,
        start=start,
        end=end,
        summary=m.title,
        organizer=m.organizer,
        attendees=_attendees(m.guests, m.organizer),
        description=m.description,
    )


def series_spec(s: Series, anchor: date) -> EventSpec:
    """An iCalendar file for a recurring series (RRULE, no end), starting in anchor's week."""
    first = s.first_start(anchor)
    return EventSpec(
        uid=s.uid,
        start=first,
        end=first + timedelta(minutes=s.minutes),
        summary=s.title,
        organizer=s.organizer,
        attendees=_attendees(s.guests, s.organizer),
        rrule=s.rrule(),
    )


def _g_time(dt: datetime, all_day: bool) -> dict[str, str]:
    if all_day:
        return {"date": dt.date().isoformat()}
    return {"dateTime": dt.isoformat(), "timeZone": TZ_NAME}


def google_id(text: str) -> str:
    """A Google-valid event id (base32hex characters) derived from any text."""
    digest = hashlib.sha1(text.encode()).hexdigest()  # 0-9a-f is a subset of base32hex
    return "b" + digest[:25]


def to_google(m: Meeting) -> dict[str, Any]:
    """A Google Calendar event resource as another person's client would store it; series
    occurrences arrive as instances with `recurringEventId` (the fake does not expand)."""
    body: dict[str, Any] = {
        "id": google_id(m.uid),
        "summary": m.title,
        "description": m.description,
        "start": _g_time(m.start, m.all_day),
        "end": _g_time(m.end, m.all_day),
        "attendees": [
            {"email": e, "responseStatus": s, **({"organizer": True} if e == m.organizer else {})}
            for e, s in m.guests
        ],
    }
    if m.organizer:
        body["organizer"] = {
            "email": m.organizer,
            **({"self": True} if m.organizer == MANAGER else {}),
        }
    if m.series:
        body["recurringEventId"] = google_id(m.series)
        body["originalStartTime"] = _g_time(m.start, m.all_day)
    return body
