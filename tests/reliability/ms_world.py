"""The crash campaign's world on Microsoft 365: the demo served by the loopback FakeGraph,
mail through Graph sendMail on the same fake (like GoogleWorld in worlds.py)."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from worlds import MANAGER, REPS, Effects, World, demo_events, invite_at, point_config, seed_fake

_MS = Path(__file__).resolve().parents[1] / "integrations" / "microsoft"
if str(_MS) not in sys.path:
    sys.path.insert(0, str(_MS))

from fake_graph import FakeGraph  # noqa: E402

from integrations.microsoft.serializer import PROP_TAG  # noqa: E402
from planner.model import Event  # noqa: E402

RESPONSE = {
    "accepted": "accepted",
    "tentative": "tentativelyAccepted",
    "declined": "declined",
    "needsAction": "notResponded",
}
_SEEDS: dict[Path, list[tuple[str, dict[str, Any]]]] = {}


def graph_body(ev: Event, owner: str) -> dict[str, Any]:
    """The Graph event `owner`'s mailbox would hold for `ev` (occurrences stand alone)."""
    zone = getattr(ev.start.tzinfo, "key", "UTC")
    organizer = ev.organizer or owner
    me = next((a for a in ev.attendees if a.email == owner), None)
    body: dict[str, Any] = {
        # Graph's ids are opaque; these are stable, so a world and its twin name alike.
        "id": "AAMk" + hashlib.sha1(f"{owner}|{ev.id}".encode()).hexdigest(),
        "subject": ev.title,
        "start": {"dateTime": ev.start.replace(tzinfo=None).isoformat(), "timeZone": zone},
        "end": {"dateTime": ev.end.replace(tzinfo=None).isoformat(), "timeZone": zone},
        "isAllDay": ev.all_day,
        "showAs": "free" if ev.transparent else "busy",
        "organizer": {"emailAddress": {"address": organizer, "name": ""}},
        "attendees": [
            {
                "emailAddress": {"address": a.email, "name": ""},
                "type": "required",
                "status": {"response": "organizer" if a.organizer else RESPONSE[a.status]},
            }
            for a in ev.attendees
        ],
    }
    if me is not None and organizer != owner:
        body["responseStatus"] = {"response": RESPONSE[me.status]}
    if ev.recurring:
        body.update(type="occurrence", seriesMasterId=ev.uid)
    return body


def seed_events(demo: Path) -> list[tuple[str, dict[str, Any]]]:
    if demo not in _SEEDS:
        _SEEDS[demo] = [
            (person, graph_body(ev, person))
            for person in (MANAGER, *REPS)
            for ev in demo_events(demo, person)
        ]
    return _SEEDS[demo]


def invite(eid: str, title: str, organizer: str, start: datetime) -> dict[str, Any]:
    """An invitation to the manager, not answered yet (one hour, in the demo's zone)."""
    zone = getattr(start.tzinfo, "key", "UTC")
    end = start + timedelta(hours=1)
    return {
        "id": eid,
        "subject": title,
        "start": {"dateTime": start.replace(tzinfo=None).isoformat(), "timeZone": zone},
        "end": {"dateTime": end.replace(tzinfo=None).isoformat(), "timeZone": zone},
        "organizer": {"emailAddress": {"address": organizer, "name": ""}},
        "attendees": [
            {"emailAddress": {"address": organizer}, "status": {"response": "organizer"}},
            {"emailAddress": {"address": MANAGER}, "status": {"response": "notResponded"}},
            {"emailAddress": {"address": REPS[0]}, "status": {"response": "notResponded"}},
        ],
        "responseStatus": {"response": "notResponded"},
    }


class MicrosoftWorld(World):
    """The demo's people and meetings on a FakeGraph; mail through Graph on the same fake.

    Graph's sendMail does not deduplicate: at most one resend, as with Gmail. `decline=True`
    sets `triage.mode: decline` so the planted invitations are declined.
    """

    max_copies = 2

    def __init__(self, template: Path, target: Path, *, decline: bool) -> None:
        shutil.copytree(template, target)
        self.cfg = target / "config.yaml"
        self.fake = FakeGraph(owner=MANAGER).start()
        invitation = lambda i: invite(f"AAMkinvite{i:05d}", *invite_at(i))  # noqa: E731
        seed_fake(self.fake, seed_events(template), invitation)
        point_config(self.cfg, "microsoft", self.fake.endpoint, "microsoft", decline=decline)

    def effects(self) -> Effects:
        fx = Effects()
        for ev in self.fake.events(MANAGER):
            for p in ev.get("singleValueExtendedProperties") or []:
                if p["id"] == PROP_TAG:
                    fx.booked[json.loads(p["value"])["key"]] += 1
        for r in self.fake.requests:
            if (
                r.status // 100 == 2
                and r.method in ("POST", "PATCH", "DELETE")
                and r.name
                not in (
                    "getSchedule",
                    "$batch",
                )
            ):
                fx.writes += 1
        for event_id, _body in self.fake.declines:
            fx.declines[event_id] += 1
        for msg in self.fake.sent_mail:
            mid, key = str(msg["Message-ID"]).strip(), str(msg["X-Coachd-Key"])
            fx.mail[mid] += 1
            fx.mail_keys.setdefault(key, set()).add(mid)
        return fx

    def close(self) -> None:
        self.fake.stop()
