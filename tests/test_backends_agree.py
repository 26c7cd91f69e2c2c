"""The demo world planned on the local, Google and Microsoft backends gives the same plan.

The demo's calendars (written by `coachd init --demo` as .ics files) are read once with the
local backend and loaded, event by event, into the loopback fake Google Calendar and the
loopback fake Graph; `coachd plan --json` then runs on each backend through the real
adapters. Only Graph's and Google's own ids for other people's events may differ.
"""

from __future__ import annotations

import json
import shutil
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from daemon import main
from integrations.calendar.local import LocalCalendar
from planner.model import Event
from planner.timeutil import Interval

HERE = Path(__file__).resolve().parent
for sub in ("integrations/google", "integrations/microsoft"):
    if str(HERE / sub) not in sys.path:
        sys.path.insert(0, str(HERE / sub))

from fake_graph import FakeGraph  # noqa: E402
from fake_server import FakeGoogle  # noqa: E402

# Planning on the demo depends on the day: `make test` reruns this at tests/instants.txt
# (DST changes, week 53, a leap day ...), so the backends must agree on those days too.
pytestmark = pytest.mark.instant

GRAPH_RESPONSE = {
    "accepted": "accepted",
    "tentative": "tentativelyAccepted",
    "declined": "declined",
    "needsAction": "notResponded",
}
SHOW_AS = {"outOfOffice": "oof", "workingLocation": "workingElsewhere"}


def _wall(dt: datetime) -> str:
    return dt.replace(tzinfo=None).isoformat(timespec="seconds")


def to_graph(ev: Event, owner: str) -> dict[str, Any]:
    """An Event as Graph would hold it in `owner`'s mailbox (occurrences stand alone)."""
    zone = getattr(ev.start.tzinfo, "key", "UTC")
    organizer = ev.organizer or owner
    body: dict[str, Any] = {
        "subject": ev.title,
        "body": {"contentType": "text", "content": ev.description},
        "start": {"dateTime": _wall(ev.start), "timeZone": zone},
        "end": {"dateTime": _wall(ev.end), "timeZone": zone},
        "isAllDay": ev.all_day,
        "isCancelled": ev.cancelled,
        "showAs": "free" if ev.transparent else SHOW_AS.get(ev.event_type, "busy"),
        "organizer": {"emailAddress": {"address": organizer, "name": ""}},
        "attendees": [
            {
                "emailAddress": {"address": a.email, "name": a.name},
                "type": a.role,
                "status": {"response": "organizer" if a.organizer else GRAPH_RESPONSE[a.status]},
            }
            for a in ev.attendees
        ],
        "iCalUId": ev.uid,
    }
    if ev.location:
        body["location"] = {"displayName": ev.location}
    if ev.self_status:
        body["responseStatus"] = {"response": GRAPH_RESPONSE[ev.self_status]}
    if ev.recurring:
        body.update(type="occurrence", seriesMasterId=ev.uid)
    assert ev.tag is None, "the demo has no coachd bookings before the first tick"
    return body


def to_google(ev: Event, owner: str) -> dict[str, Any]:
    """An Event as Google Calendar would hold it in `owner`'s calendar."""
    if ev.all_day:
        start: dict[str, str] = {"date": ev.start.date().isoformat()}
        end: dict[str, str] = {"date": ev.end.date().isoformat()}
    else:
        start, end = {"dateTime": ev.start.isoformat()}, {"dateTime": ev.end.isoformat()}
    organizer = ev.organizer or owner
    attendees = []
    for a in ev.attendees:
        status = a.status
        if a.email == owner and ev.self_status:
            status = ev.self_status
        att: dict[str, Any] = {"email": a.email, "displayName": a.name, "responseStatus": status}
        if a.organizer:
            att["organizer"] = True
        if a.email == owner:
            att["self"] = True
        attendees.append(att)
    body: dict[str, Any] = {
        "summary": ev.title,
        "description": ev.description,
        "start": start,
        "end": end,
        "organizer": {"email": organizer, **({"self": True} if organizer == owner else {})},
        "attendees": attendees,
        "transparency": "transparent" if ev.transparent else "opaque",
        "eventType": ev.event_type,
        "iCalUID": ev.uid,
        "status": "cancelled" if ev.cancelled else "confirmed",
    }
    if ev.location:
        body["location"] = ev.location
    if ev.recurring:
        body["recurringEventId"] = ev.uid
    return body


def _people(demo: Path) -> list[str]:
    return sorted(p.name for p in (demo / "calendar").iterdir() if p.is_dir())


def _read_demo(demo: Path, around: datetime) -> dict[str, list[Event]]:
    """Every person's events in the demo's .ics folders, occurrences expanded."""
    config = yaml.safe_load((demo / "config.yaml").read_text())
    cal = LocalCalendar(demo / "calendar", around.tzinfo)  # type: ignore[arg-type]
    window = Interval(around - timedelta(days=120), around + timedelta(days=120))
    assert config["calendar"]["backend"] == "local"
    return {p: cal.read(p, window).events for p in _people(demo)}


def _variant(demo: Path, name: str, calendar: dict[str, Any]) -> Path:
    target = demo.parent / name
    shutil.copytree(demo, target)
    config = yaml.safe_load((target / "config.yaml").read_text())
    config["calendar"] = calendar
    (target / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return target


def _plan(folder: Path, capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    capsys.readouterr()
    assert main(["plan", "--json", "--config", str(folder / "config.yaml")]) == 0
    out = json.loads(capsys.readouterr().out)
    return list(out["actions"])


def _comparable(actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The actions without the backends' own ids for other people's events."""
    out = []
    for a in actions:
        a = dict(a)
        if a["action"] in ("Flag", "Decline", "Keep"):
            a.pop("event_id")
        out.append(a)
    return out


def test_local_google_and_microsoft_plan_the_demo_alike(
    demo: Path, pinned_now: datetime, capsys: pytest.CaptureFixture[str]
) -> None:
    manager = yaml.safe_load((demo / "config.yaml").read_text())["manager"]["email"]
    world = _read_demo(demo, pinned_now)
    assert len(world[manager]) > 20
    with FakeGoogle(owner=manager) as google, FakeGraph(owner=manager) as graph:
        for person, events in world.items():
            for ev in events:
                google.add_event("primary" if person == manager else person, to_google(ev, person))
                graph.add_event(person, to_graph(ev, person))
        on_google = _variant(
            demo,
            "demo-google",
            {
                "backend": "google",
                "google": {"credentials": "none", "api_endpoint": google.endpoint},
            },
        )
        on_graph = _variant(
            demo,
            "demo-microsoft",
            {
                "backend": "microsoft",
                "microsoft": {"credentials": "none", "api_endpoint": graph.endpoint},
            },
        )
        local = _plan(demo, capsys)
        plans = {"google": _plan(on_google, capsys), "microsoft": _plan(on_graph, capsys)}
        assert not google.violations and not graph.violations, graph.violations
        assert {r.name for r in graph.requests} == {"delta", "getSchedule"}
    assert any(a["action"] == "Book" for a in local)  # a plan worth comparing
    for name, got in plans.items():
        assert _comparable(got) == _comparable(local), name
