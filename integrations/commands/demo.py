"""`coachd init`: the commented config.yaml, and with `--demo` a busy demo team to try it on.

The demo is deterministic given `today`: the same day always writes the same bytes, so the
demo can be tested and its planted meetings named in docs. Demo events carry stable UIDs
ending in `@demo.acme-demo.com` and no X-COACHD-* properties: to coachd they are other
people's meetings, exactly like a real calendar.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

from integrations.errors import UserError
from integrations.resources import example_config

log = logging.getLogger(__name__)

TZ = ZoneInfo("America/Chicago")
MANAGER = "dana.reyes@acme-demo.com"
BOSS = "morgan.lee@acme-demo.com"
REPS = (
    "alex.kim@acme-demo.com",
    "priya.shah@acme-demo.com",
    "jordan.miles@acme-demo.com",
    "sam.ortiz@acme-demo.com",
    "taylor.brooks@acme-demo.com",
)
NEW_HIRE = "taylor.brooks@acme-demo.com"
WEEKS = 3  # the current week and the next two
PAST_WEEKS = 4  # the weeks before coachd: what the time audit's trend starts from
HISTORY_WEEKS = 8
UID_DOMAIN = "demo.acme-demo.com"

_START_DATE = re.compile(r"^(\s*start_date:\s*)\d{4}-\d{2}-\d{2}", re.MULTILINE)


def write_config(directory: Path) -> Path:
    """Write the commented example config.yaml into `directory`; never overwrite one."""
    target = directory / "config.yaml"
    _refuse_existing(target)
    target.write_text(_template(), encoding="utf-8")
    log.info("wrote %s", target)
    return target


def write_demo(directory: Path, today: date) -> None:
    """Write a demo team into `directory`: config.yaml, calendar/, kpis.csv and notes/.

    The new hire's start date becomes three weeks before `today` so they are ramping; the
    rest of config.yaml is the repository's commented example, byte for byte.
    """
    target = directory / "config.yaml"
    _refuse_existing(target)
    text, n = _START_DATE.subn(rf"\g<1>{(today - timedelta(weeks=3)).isoformat()}", _template(), 1)
    if n != 1:
        raise RuntimeError("the example config.yaml has no new hire start_date to rewrite")
    directory.mkdir(parents=True, exist_ok=True)
    monday = demo_monday(today)
    stamp = datetime.combine(today, time(0, 0), tzinfo=UTC)
    for person, events in _calendars(monday).items():
        folder = directory / "calendar" / person
        folder.mkdir(parents=True, exist_ok=True)
        for ev in events:
            (folder / f"{ev.name}.ics").write_bytes(ev.to_ical(stamp))
    (directory / "kpis.csv").write_text(kpi_csv(monday), encoding="utf-8")
    notes = directory / "notes"
    notes.mkdir(exist_ok=True)
    for rep, body in _NOTES.items():
        (notes / f"{rep}.md").write_text(body, encoding="utf-8")
    # config.yaml last: a crash part-way leaves no config, so `init --demo` can simply rerun.
    target.write_text(text, encoding="utf-8")
    log.info("wrote a demo for the week of %s into %s", monday, directory)


def demo_monday(today: date) -> date:
    """The Monday of the demo's first week: this week, or next week from a weekend on,
    so the planted invitations are still ahead of whoever runs the demo."""
    monday = today - timedelta(days=today.weekday())
    return monday + timedelta(weeks=1) if today.weekday() >= 5 else monday


def _template() -> str:
    return example_config()


def _refuse_existing(target: Path) -> None:
    if target.exists():
        raise UserError(
            f"{target} already exists; coachd init never overwrites it. "
            "Move it away or choose another folder."
        )


# --- calendar ---------------------------------------------------------------------------------


@dataclass
class DemoEvent:
    """One demo .ics file: a VEVENT, maybe a weekly series with exceptions and an override."""

    name: str
    title: str
    start: datetime | date
    end: datetime | date
    organizer: str | None = None
    attendees: dict[str, str] = field(default_factory=dict)  # email -> PARTSTAT
    rrule: dict[str, object] | None = None
    exdates: list[datetime] = field(default_factory=list)
    override: tuple[datetime, datetime, datetime] | None = None  # (recurrence-id, start, end)
    description: str = ""
    location: str = ""
    transparent: bool = False

    @property
    def uid(self) -> str:
        return f"{self.name}@{UID_DOMAIN}"

    def _vevent(
        self, stamp: datetime, start: datetime | date, end: datetime | date
    ) -> icalendar.Event:
        ev = icalendar.Event()
        ev.add("uid", self.uid)
        ev.add("dtstamp", stamp)
        ev.add("summary", self.title)
        ev.add("dtstart", start)
        ev.add("dtend", end)
        if self.description:
            ev.add("description", self.description)
        if self.location:
            ev.add("location", self.location)
        ev.add("transp", "TRANSPARENT" if self.transparent else "OPAQUE")
        if self.organizer:
            org = icalendar.vCalAddress(f"mailto:{self.organizer}")
            org.params["CN"] = icalendar.vText(_display_name(self.organizer))
            ev.add("organizer", org)
        for email, partstat in self.attendees.items():
            att = icalendar.vCalAddress(f"mailto:{email}")
            att.params["CN"] = icalendar.vText(_display_name(email))
            att.params["ROLE"] = icalendar.vText("REQ-PARTICIPANT")
            att.params["PARTSTAT"] = icalendar.vText(partstat)
            if partstat == "NEEDS-ACTION":
                att.params["RSVP"] = icalendar.vText("TRUE")
            ev.add("attendee", att)
        return ev

    def to_ical(self, stamp: datetime) -> bytes:
        cal = icalendar.Calendar()
        cal.add("prodid", "-//coachd//demo//EN")
        cal.add("version", "2.0")
        master = self._vevent(stamp, self.start, self.end)
        if self.rrule:
            master.add("rrule", self.rrule)
        for ex in self.exdates:
            master.add("exdate", ex)
        cal.add_component(master)
        if self.override:
            rid, start, end = self.override
            moved = self._vevent(stamp, start, end)
            moved.add("recurrence-id", rid)
            moved.add("sequence", 1)
            cal.add_component(moved)
        # A VTIMEZONE for America/Chicago, so readers without zoneinfo agree on the times.
        cal.add_missing_timezones()
        return bytes(cal.to_ical())


def _display_name(email: str) -> str:
    local = email.split("@", 1)[0]
    return " ".join(p.capitalize() for p in re.split(r"[._-]+", local) if p)


def _at(day: date, hhmm: str) -> datetime:
    h, m = (int(x) for x in hhmm.split(":"))
    return datetime.combine(day, time(h, m), tzinfo=TZ)


def _weekly(
    name: str,
    title: str,
    first: date,
    start: str,
    end: str,
    **kw: Any,
) -> DemoEvent:
    return DemoEvent(name, title, _at(first, start), _at(first, end), **kw)


def _team(status: str = "ACCEPTED", *extra: str) -> dict[str, str]:
    return {MANAGER: status, **{e: "ACCEPTED" for e in extra}}


def _manager_series(monday: date) -> list[DemoEvent]:
    """Recurring meetings: lunch and admin blocks, the boss's forecast, syncs."""
    d = monday
    weekdays = {"freq": "weekly", "byday": ["MO", "TU", "WE", "TH", "FR"]}
    return [
        _weekly("lunch", "Lunch", d, "12:30", "13:00", rrule=weekdays, organizer=MANAGER),
        _weekly(
            "inbox-admin", "Inbox and admin", d, "17:00", "17:30", rrule=weekdays, organizer=MANAGER
        ),
        _weekly(
            "pipeline-forecast-call",
            "Pipeline forecast call",
            d,
            "11:00",
            "12:00",
            rrule={"freq": "weekly"},
            organizer=BOSS,
            attendees=_team("ACCEPTED", "ana.ruiz@acme-demo.com", "lee.park@acme-demo.com"),
        ),
        # Weekly staff meeting, skipped next week (EXDATE): the boss is travelling.
        _weekly(
            "sales-leadership-staff",
            "Sales leadership staff meeting",
            d + timedelta(days=3),
            "15:00",
            "16:00",
            rrule={"freq": "weekly", "count": 12},
            exdates=[_at(d + timedelta(days=10), "15:00")],
            organizer=BOSS,
            attendees=_team("ACCEPTED", "ana.ruiz@acme-demo.com", "lee.park@acme-demo.com"),
        ),
        # A big internal recurring sync, not yet answered; the week-3 instance moved to 15:00.
        _weekly(
            "marketing-sales-sync",
            "Marketing and sales weekly sync",
            d + timedelta(days=2),
            "14:00",
            "15:00",
            rrule={"freq": "weekly"},
            override=(
                _at(d + timedelta(days=16), "14:00"),
                _at(d + timedelta(days=16), "15:00"),
                _at(d + timedelta(days=16), "16:00"),
            ),
            organizer="marketing-ops@acme-demo.com",
            attendees=_team(
                "NEEDS-ACTION",
                "kim.nguyen@acme-demo.com",
                "ravi.patel@acme-demo.com",
                "ellen.cho@acme-demo.com",
                "marc.dubois@acme-demo.com",
                "sara.holm@acme-demo.com",
                "tom.berg@acme-demo.com",
            ),
        ),
        _weekly(
            "deal-desk-office-hours",
            "Deal desk office hours",
            d + timedelta(days=4),
            "11:00",
            "11:30",
            rrule={"freq": "weekly"},
            organizer="dealdesk@acme-demo.com",
            attendees=_team("ACCEPTED"),
        ),
    ]


def _manager_week(monday: date, week: int, *, planted: bool = True) -> list[DemoEvent]:
    """One week of single meetings for the manager: own blocks, accepted internal meetings,
    customer meetings, and the planted non-sales and leadership invitations.

    Thursday mornings stay free (after week 0) so a half-day ride-along fits, and Tuesday
    10:00 stays free for the sales meeting.
    """
    mon, tue, wed, thu, fri = (monday + timedelta(days=i) for i in range(5))
    tag = monday.isoformat()
    customer = ("northwind", "contoso", "fabrikam")[week % 3]
    out = [
        DemoEvent(
            f"forecast-prep-{tag}",
            "Weekly forecast prep",
            _at(mon, "09:00"),
            _at(mon, "10:00"),
            MANAGER,
        ),
        DemoEvent(
            f"finance-commissions-{tag}",
            "Call with Finance: commission questions",
            _at(mon, "16:30"),
            _at(mon, "17:00"),
            "finance@acme-demo.com",
            _team("ACCEPTED"),
        ),
        DemoEvent(
            f"account-plan-{tag}",
            f"Account plan: {customer.capitalize()}",
            _at(tue, "08:00"),
            _at(tue, "09:00"),
            MANAGER,
        ),
        DemoEvent(
            f"campaign-sync-{tag}",
            "Campaign calendar check-in",
            _at(mon, "16:00"),
            _at(mon, "16:30"),
            "kim.nguyen@acme-demo.com",
            _team("ACCEPTED"),
        ),
        DemoEvent(
            f"interview-{tag}",
            "Interview: Account Executive candidate",
            _at(tue, "16:00"),
            _at(tue, "16:45"),
            "recruiting@acme-demo.com",
            _team("ACCEPTED"),
        ),
        DemoEvent(
            f"partner-checkin-{tag}",
            "Partner channel check-in",
            _at(wed, "09:00"),
            _at(wed, "09:30"),
            "channel@acme-demo.com",
            _team("ACCEPTED"),
        ),
        DemoEvent(
            f"commit-prep-{tag}",
            "Forecast commit prep",
            _at(wed, "16:00"),
            _at(wed, "16:30"),
            MANAGER,
        ),
        DemoEvent(
            f"escalation-{tag}",
            f"Customer escalation: {customer.capitalize()}",
            _at(mon, "10:00"),
            _at(mon, "10:45"),
            MANAGER,
            {f"ops@{customer}.example": "ACCEPTED", "support-lead@acme-demo.com": "ACCEPTED"},
        ),
        DemoEvent(
            f"wrap-up-{tag}",
            "Weekly wrap-up notes",
            _at(fri, "16:30"),
            _at(fri, "17:00"),
            MANAGER,
        ),
        DemoEvent(
            f"ops-review-{tag}",
            "Sales ops dashboard review",
            _at(fri, "13:00"),
            _at(fri, "13:30"),
            "salesops@acme-demo.com",
            _team("ACCEPTED"),
        ),
    ]
    if planted:
        out += _planted(week, mon, tue, wed, thu, fri)
    return out


def _past_week(monday: date, week: int) -> list[DemoEvent]:
    """A week before coachd ran: the usual meetings plus the non-sales ones the manager sat
    through, and no coaching blocks, so the audit's trend shows where the hours went."""
    _, tue, wed, thu, fri = (monday + timedelta(days=i) for i in range(5))
    tag = monday.isoformat()
    sat_through = [
        (
            "facilities-walkthrough",
            "Facilities walkthrough: new badges",
            tue,
            "14:00",
            "15:00",
            "facilities@acme-demo.com",
        ),
        (
            "benefits-webinar",
            "Benefits enrollment webinar",
            wed,
            "11:00",
            "12:00",
            "hr@acme-demo.com",
        ),
        (
            "product-training",
            "Product training: winter release",
            thu,
            "13:00",
            "14:30",
            "enablement@acme-demo.com",
        ),
        (
            "survey-follow-up",
            "All-hands survey follow-up",
            thu,
            "09:00",
            "10:00",
            "people-ops@acme-demo.com",
        ),
        (
            "vendor-pitch",
            "Vendor demo: pipeline analytics",
            fri,
            "14:00",
            "15:00",
            "pat.gray@vendors.example",
        ),
    ]
    out = _manager_week(monday, week, planted=False)
    for name, title, day, start, end, organizer in sat_through:
        out.append(
            DemoEvent(
                f"{name}-{tag}", title, _at(day, start), _at(day, end), organizer, _team("ACCEPTED")
            )
        )
    return out


def _planted(week: int, mon: date, tue: date, wed: date, thu: date, fri: date) -> list[DemoEvent]:
    """Invitations the triage rules and the never-decline lists are there for."""
    if week == 0:
        return [
            DemoEvent(
                "office-move-desk-assignments",
                "Office move: desk assignments",
                _at(tue, "14:00"),
                _at(tue, "15:00"),
                "facilities@acme-demo.com",
                _team("NEEDS-ACTION", "all-staff@acme-demo.com"),
                location="3rd floor kitchen",
            ),
            DemoEvent(
                "benefits-enrollment-webinar",
                "Benefits enrollment webinar",
                _at(wed, "11:00"),
                _at(wed, "12:00"),
                "hr@acme-demo.com",
                _team("NEEDS-ACTION", "all-staff@acme-demo.com"),
            ),
            DemoEvent(
                "all-hands-survey-review",
                "Quarterly all-hands survey review",
                _at(thu, "13:30"),
                _at(thu, "14:30"),
                "people-ops@acme-demo.com",
                _team("NEEDS-ACTION", "ana.ruiz@acme-demo.com", "lee.park@acme-demo.com"),
            ),
            DemoEvent(
                "northwind-renewal-negotiation",
                "Northwind renewal negotiation",
                _at(wed, "15:00"),
                _at(wed, "16:00"),
                "jamie.fox@northwind.example",
                _team("NEEDS-ACTION", "alex.kim@acme-demo.com"),
                description="Pricing and term for the 2027 renewal.",
            ),
            DemoEvent(
                "regional-pipeline-review",
                "Regional pipeline review",
                _at(fri, "09:00"),
                _at(fri, "10:00"),
                "chris.wong@leadership.acme-demo.com",
                _team("NEEDS-ACTION", BOSS),
            ),
        ]
    if week == 1:
        return [
            DemoEvent(
                "all-hands-survey-results",
                "All-hands engagement survey results",
                _at(thu, "13:00"),
                _at(thu, "14:00"),
                "people-ops@acme-demo.com",
                _team("NEEDS-ACTION", "ana.ruiz@acme-demo.com", "lee.park@acme-demo.com"),
            ),
            DemoEvent(
                "q1-territory-planning",
                "Q1 territory planning",
                _at(mon, "14:30"),
                _at(mon, "15:30"),
                BOSS,
                _team("NEEDS-ACTION"),
            ),
            DemoEvent(
                "parking-badge-update",
                "Parking badge update",
                _at(mon, "15:30"),
                _at(mon, "16:00"),
                "facilities@acme-demo.com",
                _team("NEEDS-ACTION", "all-staff@acme-demo.com"),
            ),
            DemoEvent(
                "product-training-spring-release",
                "Product training: spring release",
                _at(tue, "14:00"),
                _at(tue, "15:30"),
                "enablement@acme-demo.com",
                _team("NEEDS-ACTION", *REPS),
            ),
            DemoEvent(
                "vendor-demo-callcoach",
                "Vendor demo: CallCoach AI",
                _at(fri, "14:00"),
                _at(fri, "15:00"),
                "sam.lee@vendors.example",
                _team("NEEDS-ACTION"),
            ),
            DemoEvent(
                "contoso-qbr",
                "Contoso QBR",
                _at(wed, "15:00"),
                _at(wed, "16:00"),
                MANAGER,
                {"cfo@contoso.example": "ACCEPTED", "priya.shah@acme-demo.com": "ACCEPTED"},
            ),
        ]
    return [
        DemoEvent(
            "fabrikam-pricing-call",
            "Fabrikam pricing call",
            _at(wed, "11:00"),
            _at(wed, "11:45"),
            "lena.ortiz@fabrikam.example",
            _team("NEEDS-ACTION", "sam.ortiz@acme-demo.com"),
        ),
        DemoEvent(
            "leadership-offsite",
            "Sales leadership offsite",
            fri,
            fri + timedelta(days=1),
            BOSS,
            _team("ACCEPTED", "ana.ruiz@acme-demo.com"),
            location="Lakeview Conference Center",
        ),
        DemoEvent(
            "benefits-open-enrollment-qa",
            "Benefits open enrollment Q&A",
            _at(tue, "14:00"),
            _at(tue, "15:00"),
            "hr@acme-demo.com",
            _team("NEEDS-ACTION", "all-staff@acme-demo.com"),
        ),
    ]


def _rep_events(monday: date) -> dict[str, list[DemoEvent]]:
    """A few customer calls per rep per week, and one all-day out-of-office."""
    slots = (("tue", 1, "13:00"), ("wed", 2, "10:00"), ("thu", 3, "09:00"), ("fri", 4, "10:30"))
    accounts = ("Northwind", "Contoso", "Fabrikam", "Globex", "Initech")
    out: dict[str, list[DemoEvent]] = {}
    for i, rep in enumerate(REPS):
        events: list[DemoEvent] = []
        for week in range(WEEKS):
            wk = monday + timedelta(weeks=week)
            for j, (_, offset, hhmm) in enumerate(slots):
                if (i + j + week) % 3 == 2:
                    continue  # leave gaps so reps differ
                day = wk + timedelta(days=offset)
                start = _at(day, hhmm) + timedelta(minutes=30 * (i % 3))
                account = accounts[(i + j) % len(accounts)]
                events.append(
                    DemoEvent(
                        f"{rep.split('@')[0]}-call-{day.isoformat()}",
                        f"Discovery call: {account}",
                        start,
                        start + timedelta(hours=1),
                        rep,
                        {f"buyer@{account.lower()}.example": "ACCEPTED"},
                    )
                )
        out[rep] = events
    ooo = monday + timedelta(days=3)
    out["priya.shah@acme-demo.com"].append(
        DemoEvent(
            f"priya.shah-out-of-office-{ooo.isoformat()}",
            "Out of office",
            ooo,
            ooo + timedelta(days=1),
            "priya.shah@acme-demo.com",
        )
    )
    return out


def _calendars(monday: date) -> dict[str, list[DemoEvent]]:
    manager = _manager_series(monday)
    for back in range(PAST_WEEKS, 0, -1):
        manager += _past_week(monday - timedelta(weeks=back), -back)
    for week in range(WEEKS):
        manager += _manager_week(monday + timedelta(weeks=week), week)
    return {MANAGER: manager, **_rep_events(monday)}


# --- KPIs and notes ---------------------------------------------------------------------------

# rep -> kpi -> typical weekly figure. Jordan is under the conversations minimum (15) for
# the last 7 weeks (a coach-out candidate); Sam under the pipeline minimum ($25,000) for the
# last 3; Priya's calls sit under the team minimum but above her own override (30).
_BASE: dict[str, dict[str, float]] = {
    "alex.kim@acme-demo.com": {
        "outbound_calls": 72,
        "conversations": 22,
        "meetings_booked": 6,
        "pipeline_added": 48000,
        "win_rate": 31,
        "days_to_first_meeting": 5,
    },
    "priya.shah@acme-demo.com": {
        "outbound_calls": 36,
        "conversations": 19,
        "meetings_booked": 6,
        "pipeline_added": 61000,
        "win_rate": 28,
        "days_to_first_meeting": 7,
    },
    "jordan.miles@acme-demo.com": {
        "outbound_calls": 58,
        "conversations": 11,
        "meetings_booked": 6,
        "pipeline_added": 29000,
        "win_rate": 23,
        "days_to_first_meeting": 7,
    },
    "sam.ortiz@acme-demo.com": {
        "outbound_calls": 64,
        "conversations": 18,
        "meetings_booked": 6,
        "pipeline_added": 33000,
        "win_rate": 25,
        "days_to_first_meeting": 7,
    },
    "taylor.brooks@acme-demo.com": {
        "outbound_calls": 60,
        "conversations": 18,
        "meetings_booked": 6,
        "pipeline_added": 31000,
        "win_rate": 24,
        "days_to_first_meeting": 7,
    },
}
_STEP = {
    "outbound_calls": 3,
    "conversations": 1,
    "meetings_booked": 1,
    "pipeline_added": 1500,
    "win_rate": 1,
    "days_to_first_meeting": 1,
}


def kpi_rows(monday: date) -> Iterable[tuple[str, str, str, float]]:
    """(week, rep, kpi, value) for the HISTORY_WEEKS weeks before the week of `monday`."""
    for back in range(HISTORY_WEEKS, 0, -1):
        week = monday - timedelta(weeks=back)
        for i, (rep, figures) in enumerate(_BASE.items()):
            if rep == NEW_HIRE and back > 3:
                continue  # started three weeks ago
            for j, (kpi, base) in enumerate(figures.items()):
                wobble = ((i * 3 + j * 5 + back * 7) % 5) - 2  # -2..2, fixed
                value = base + wobble * _STEP[kpi]
                if rep == "jordan.miles@acme-demo.com" and kpi == "conversations" and back == 8:
                    value = 17  # fine eight weeks ago, under the minimum ever since
                if rep == "sam.ortiz@acme-demo.com" and kpi == "pipeline_added" and back <= 3:
                    value = (21000, 19500, 22500)[back - 1]
                yield week.isoformat(), rep, kpi, value


def kpi_csv(monday: date) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(("week", "rep", "kpi", "value"))
    for week, rep, kpi, value in kpi_rows(monday):
        w.writerow((week, rep, kpi, f"{value:g}"))
    return buf.getvalue()


_NOTES = {
    "alex.kim@acme-demo.com": """# Alex Kim

- [x] Send Northwind the renewal proposal
- [ ] Get a second contact at Northwind (procurement)
- [ ] Draft the territory list for Q1
""",
    "priya.shah@acme-demo.com": """# Priya Shah

- [x] Map the Contoso buying committee
- [ ] Book the Contoso executive sponsor meeting
- [ ] Share the mutual action plan template with the team
""",
    "jordan.miles@acme-demo.com": """# Jordan Miles

- [ ] Block two 90-minute call sessions a day
- [ ] Use the call planning sheet before every discovery call
- [x] Listen to two of Alex's recorded discovery calls
- [ ] Agree a 30-day plan to get back to 15 conversations a week
""",
    "sam.ortiz@acme-demo.com": """# Sam Ortiz

- [x] Rewrite the price-objection talk track
- [ ] Qualify out the three stalled Globex opportunities
- [ ] Add $40,000 of new pipeline this week
""",
    "taylor.brooks@acme-demo.com": """# Taylor Brooks (new hire)

- [x] Laptop, CRM and phone set up
- [ ] Finish product certification modules 3 and 4
- [ ] Shadow two of Priya's discovery calls
""",
}
