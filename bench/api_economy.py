"""HTTP requests per tick against the loopback fake Google Calendar and Microsoft Graph servers.

The real tick path (`integrations.tick.app.run_tick` on a config.yaml with `calendar.backend:
google` or `microsoft`, `credentials: none` and `api_endpoint` pointing at the fake;
Maildir for email) talks HTTP through google-api-python-client to
`tests/integrations/google/fake_server.py`, and through requests to
`tests/integrations/microsoft/fake_graph.py`; both log every request, batch parts
included. For teams of 10 and 50 reps, on each backend:

1. first tick: full sync of the manager's calendar, reps' freebusy, all bookings and
   triage answers written;
2. settling ticks, if any (time freed by a decline is bookable only on the next tick);
3. steady tick: nothing changed since the last tick;
4. invitation tick: one new invitation arrived that a triage rule declines.

Each beside the minimum the API allows. Google: one events.list per calendar (a full sync
needs a page per 2500 events, an incremental one a single request when little changed),
one freebusy.query per 50 reps (per 90 days of horizon) when the tick books or moves
something (the reps' busy times are read only then), and ceil(writes / 50) requests for
the writes (a batch holds at most 50; a single write is one plain request). Microsoft: one
calendarView delta request (a full sync needs a page per 1000 events), one getSchedule per
20 reps (per 62 days) when the tick books or moves something, and ceil(writes / 20) $batch
requests. Target: the steady tick makes exactly the minimum.

Run from the repository root: `python bench/api_economy.py`.
"""

from __future__ import annotations

import argparse
import importlib
import math
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

import _common as c  # puts the repository root on sys.path, before first-party imports
import yaml

from integrations.config_file import LoadedConfig, load_policy
from integrations.store.state import StateStore
from integrations.tick.app import TickResult, run_tick
from planner.actions import Book, Cancel, Decline, Flag, Move
from planner.periods import snapshot_window
from planner.timeutil import Interval

NOW = datetime(2026, 11, 30, 6, 0, tzinfo=c.TZ)
TEAMS = (10, 50)
STEP = timedelta(minutes=10)
LIST_PAGE = 2500  # the most events.list returns per page
FREEBUSY_CALENDARS = 50  # the most calendars one freebusy.query answers for
FREEBUSY_DAYS = 90  # the longest range one freebusy.query answers for
BATCH_PARTS = 50  # the most requests coachd puts in one batch (Google's advice for Calendar)
MAX_SETTLE = 5
RESYNC_MARGIN = timedelta(days=7)  # a full sync reads this far beyond the window
GRAPH_PAGE = 1000  # the delta page size coachd asks for (Prefer: odata.maxpagesize)
SCHEDULE_PEOPLE = 20  # the most schedules one getSchedule answers for
SCHEDULE_DAYS = 61  # getSchedule's range must be under 62 days
GRAPH_BATCH = 20  # the most requests one Graph JSON $batch holds

FAKE_DIR = c.ROOT / "tests" / "integrations" / "google"
GRAPH_DIR = c.ROOT / "tests" / "integrations" / "microsoft"


@dataclass(frozen=True)
class Backend:
    """What differs between the two backends in this benchmark."""

    name: str
    fake_cls: Any
    page: int  # events per full-sync page
    people: int  # reps per busy query
    days: int  # days per busy query
    batch: int  # writes per batch request
    to_event: Callable[[c.Meeting], dict[str, Any]]
    list_kind: str
    busy_kind: str

    def calendar(self, endpoint: str) -> dict[str, Any]:
        return {"backend": self.name, self.name: {"credentials": "none", "api_endpoint": endpoint}}


def load_fake() -> Any:
    """The FakeGoogle class from the test suite's fake server module (needs no pytest run)."""
    if str(FAKE_DIR) not in sys.path:
        sys.path.insert(0, str(FAKE_DIR))
    return importlib.import_module("fake_server").FakeGoogle


def load_graph() -> Any:
    """The FakeGraph class from the test suite's fake Graph module (needs no pytest run)."""
    if str(GRAPH_DIR) not in sys.path:
        sys.path.insert(0, str(GRAPH_DIR))
    return importlib.import_module("fake_graph").FakeGraph


GRAPH_RESPONSE = {
    "accepted": "accepted",
    "tentative": "tentativelyAccepted",
    "declined": "declined",
    "needsAction": "notResponded",
}


def to_graph(m: c.Meeting) -> dict[str, Any]:
    """A Graph event as the owner's mailbox holds it; series occurrences stand alone with
    their seriesMasterId (what calendarView returns)."""
    wall = "%Y-%m-%dT%H:%M:%S"
    me = next((s for e, s in m.guests if e == c.MANAGER), None)
    body: dict[str, Any] = {
        "subject": m.title,
        "body": {"contentType": "text", "content": m.description},
        "start": {"dateTime": m.start.strftime(wall), "timeZone": c.TZ_NAME},
        "end": {"dateTime": m.end.strftime(wall), "timeZone": c.TZ_NAME},
        "isAllDay": m.all_day,
        "attendees": [
            {
                "emailAddress": {"address": e, "name": ""},
                "type": "required",
                "status": {"response": "organizer" if e == m.organizer else GRAPH_RESPONSE[s]},
            }
            for e, s in m.guests
        ],
        "iCalUId": m.uid,
    }
    if m.organizer:
        body["organizer"] = {"emailAddress": {"address": m.organizer, "name": ""}}
    if me is not None and m.organizer != c.MANAGER:
        body["responseStatus"] = {"response": GRAPH_RESPONSE[me]}
    if m.series:
        body.update(type="occurrence", seriesMasterId=m.series)
    return body


def backends() -> list[Backend]:
    return [
        Backend(
            "google",
            load_fake(),
            LIST_PAGE,
            FREEBUSY_CALENDARS,
            FREEBUSY_DAYS,
            BATCH_PARTS,
            c.to_google,
            "list",
            "freebusy",
        ),
        Backend(
            "microsoft",
            load_graph(),
            GRAPH_PAGE,
            SCHEDULE_PEOPLE,
            SCHEDULE_DAYS,
            GRAPH_BATCH,
            to_graph,
            "delta",
            "getSchedule",
        ),
    ]


def config_text(n_reps: int, calendar: dict[str, Any]) -> str:
    pol = c.policy_dict(n_reps, NOW.date(), horizon="4 weeks")
    pol.update(
        {
            "kpi_source": {"type": "csv", "path": "kpis.csv"},
            "email": {
                "transport": "maildir",
                "from": f"coachd@{c.DOMAIN}",
                "maildir": {"path": "outbox"},
                "notes_dir": "notes",
            },
            "calendar": calendar,
            "state": {"path": "state/coachd.json"},
        }
    )
    return yaml.safe_dump(pol, sort_keys=False)


def seed(fake: Any, loaded: LoadedConfig, world: c.World, to_event: Any) -> int:
    """Fill the fake: the manager's meetings over the window a full sync reads, and the
    reps' customer calls over the horizon. Returns the manager's event count."""
    window = snapshot_window(loaded.policy, NOW)
    cover = Interval(window.start, window.end + RESYNC_MARGIN)
    n = 0
    for monday in c.mondays(cover):
        for m in world.manager_week(monday):
            fake.add_event(c.MANAGER, to_event(m))
            n += 1
    for monday in c.mondays(Interval(NOW, window.end)):
        for rep in world.reps:
            for m in world.rep_week(rep, monday):
                fake.add_event(rep, to_event(m))
    return n


def invitation(start: datetime, to_event: Any) -> dict[str, Any]:
    """A new invitation that the `facilities` rule declines."""
    m = c.Meeting(
        uid=f"invite-{start:%Y%m%dT%H%M}",
        title="Parking badge rollout",
        start=start,
        end=start + timedelta(minutes=45),
        organizer=f"facilities@{c.DOMAIN}",
        guests=(
            (f"facilities@{c.DOMAIN}", "accepted"),
            (f"ops1@{c.DOMAIN}", "accepted"),
            (c.MANAGER, "needsAction"),
        ),
    )
    return dict(to_event(m))


def writes_planned(result: TickResult) -> int:
    return sum(1 for a in result.actions if isinstance(a, Book | Move | Cancel | Decline | Flag))


def kind_of(r: Any) -> str:
    """A request's kind: batch, token, or the API method without its resource prefix."""
    path = r.path
    if path.startswith("/batch/") or path == "/$batch":
        return "batch"
    if path == "/token":
        return "token"
    name = str(getattr(r, "method_name", None) or getattr(r, "name", "") or "")
    return name.removeprefix("events.").removesuffix(".query") or "other"


def count(requests: list[Any]) -> tuple[Counter[str], Counter[str]]:
    """HTTP requests by kind, and the calls carried inside batches by kind."""
    top: Counter[str] = Counter()
    inner: Counter[str] = Counter()
    for r in requests:
        (inner if r.in_batch else top)[kind_of(r)] += 1
    return top, inner


def minimum(
    b: Backend,
    full_sync_events: int | None,
    n_reps: int,
    horizon_days: float,
    writes: int,
    slots: bool,
) -> int:
    """The fewest requests the API allows for a tick (see the module docstring); `slots`:
    whether the tick books or moves anything (only then are the reps' busy times needed)."""
    lists = max(1, math.ceil(full_sync_events / b.page)) if full_sync_events else 1
    busy = math.ceil(n_reps / b.people) * math.ceil(horizon_days / b.days)
    return lists + (busy if slots else 0) + math.ceil(writes / b.batch)


def run_team(b: Backend, n_reps: int, rows: list[list[object]], notes: list[str]) -> None:
    with (
        b.fake_cls(owner=c.MANAGER, page_size=b.page) as fake,
        tempfile.TemporaryDirectory(prefix="coachd-bench-") as tmp,
    ):
        root = Path(tmp)
        text = config_text(n_reps, b.calendar(fake.endpoint))
        (root / "config.yaml").write_text(text, encoding="utf-8")
        (root / "notes").mkdir()
        loaded = load_policy(root / "config.yaml")
        policy = loaded.policy
        world = c.World([r.email for r in policy.team], anchor=NOW.date() - timedelta(weeks=26))
        kpis = root / "kpis.csv"
        with kpis.open("w", encoding="utf-8") as fh:
            fh.write("week,rep,kpi,value\n")
            for k in range(1, 9):
                for row in world.kpi_week(NOW.date() - timedelta(weeks=k)):
                    fh.write(f"{row.week.isoformat()},{row.rep},{row.kpi},{row.value}\n")
        events = seed(fake, loaded, world, b.to_event)
        horizon_days = policy.coaching.horizon.total_seconds() / 86400
        state = loaded.resolve(policy.state.path)

        def tick(label: str, now: datetime, full_sync: int | None) -> int:
            fake.clear_log()
            t0 = time.perf_counter()
            res = run_tick(loaded, store, now)
            took = time.perf_counter() - t0
            if res.report is not None and (res.report.errors or res.report.held):
                notes.append(f"{n_reps} reps, {label}: {res.report.errors[:2]} {res.report.held}")
            top, inner = count(list(fake.requests))
            writes = writes_planned(res)
            total = sum(top.values())
            slots = any(isinstance(a, Book | Move) for a in res.actions)
            low = minimum(b, full_sync, n_reps, horizon_days, writes, slots)
            parts = ", ".join(f"{k} {v}" for k, v in sorted(inner.items())) or "-"
            plain = ", ".join(
                f"{k} {v}"
                for k, v in sorted(top.items())
                if k not in (b.list_kind, b.busy_kind, "batch")
            )
            rows.append(
                [
                    b.name,
                    n_reps,
                    label,
                    writes,
                    total,
                    low,
                    "yes" if total == low else f"+{total - low}",
                    top[b.list_kind],
                    top[b.busy_kind],
                    f"{top['batch']} ({parts})" if top["batch"] else "0",
                    plain or "-",
                    c.ms(took),
                ]
            )
            return writes

        with StateStore.open(state, now=NOW) as store:
            now = NOW
            writes = tick("first", now, events)
            settled = 0
            while writes and settled < MAX_SETTLE:
                settled += 1
                now += STEP
                writes = tick(f"tick {settled + 1}", now, None)
            now += STEP
            tick("steady (nothing changed)", now, None)
            arrives = datetime.combine(NOW.date() + timedelta(days=2), dtime(9), c.TZ)
            fake.add_event(c.MANAGER, invitation(arrives, b.to_event))
            now += STEP
            tick("one invitation arrived", now, None)
            now += STEP
            tick("steady again", now, None)
            size = state.stat().st_size
        notes.append(
            f"{b.name}, {n_reps} reps: {events} events in the manager's calendar; "
            f"state file {c.size_text(size)} (holds the sync cache); "
            f"fake's request-check violations: {len(fake.violations)}"
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.parse_args()
    c.quiet_logging()
    c.print_header(
        "coachd benchmark: HTTP requests per tick (loopback fake Google Calendar API and "
        "Microsoft Graph)",
        [
            ("now", f"{NOW.isoformat()} ({c.TZ_NAME}); ticks 10 minutes apart"),
            ("teams", ", ".join(f"{n} reps" for n in TEAMS)),
            (
                "config",
                "calendar.backend google or microsoft, credentials none, api_endpoint = fake; "
                "email.transport maildir; horizon 4 weeks; triage mode decline, 6 rules",
            ),
            (
                "calendars",
                "manager ~35 meetings a week over the sync window (5 weeks back to horizon "
                "+ 7 days); reps ~12 customer calls a week",
            ),
            (
                "client",
                "google-api-python-client / requests, real tick path (app.run_tick)",
            ),
            ("counted", "by the fake server's request log; batch parts listed in brackets"),
            (
                "minimum",
                f"google: ceil(events/{LIST_PAGE}) list pages (1 when incremental) + "
                f"ceil(reps/{FREEBUSY_CALENDARS}) freebusy + ceil(writes/{BATCH_PARTS}) "
                f"write requests; microsoft: ceil(events/{GRAPH_PAGE}) delta pages (1 when "
                f"incremental) + ceil(reps/{SCHEDULE_PEOPLE}) getSchedule + "
                f"ceil(writes/{GRAPH_BATCH}) write requests; free/busy only when the tick "
                "books or moves",
            ),
        ],
    )
    rows: list[list[object]] = []
    notes: list[str] = []
    for b in backends():
        for n in TEAMS:
            run_team(b, n, rows, notes)
    print(
        c.table(
            [
                "backend",
                "reps",
                "tick",
                "writes",
                "HTTP requests",
                "minimum",
                "= min",
                "list / delta",
                "freebusy / getSchedule",
                "batch (parts)",
                "other requests",
                "tick time",
            ],
            rows,
        )
    )
    print()
    for note in notes:
        print(note)
    steady = [r for r in rows if str(r[2]).startswith("steady")]
    ok = all(r[4] == r[5] for r in steady)
    print(f"target: steady tick = minimum: {'met' if ok else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
