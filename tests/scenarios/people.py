"""What people do to the manager's calendar between coachd's ticks, on either backend.

`Calendar people` act as other clients would: a rep declines (their PARTSTAT / responseStatus
on the manager's copy), the manager or a person moves or deletes a block, someone books a
meeting or an out-of-office entry, a rep gets busy. Local: .ics files edited with icalendar.
Google: the loopback fake changed as Google would after another client's write.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import icalendar
from fake_server import FakeGoogle

from integrations.calendar.vdir import list_items, person_dir, write_event_file


@dataclass(frozen=True)
class Block:
    """One of coachd's events as the calendar shows it."""

    id: str
    key: str
    generation: int
    start: datetime
    end: datetime
    declined_by: frozenset[str]


class People(Protocol):
    def blocks(self) -> list[Block]: ...
    def decline(self, block: Block, rep: str) -> None: ...
    def move(self, block: Block, start: datetime, end: datetime) -> None: ...
    def delete(self, block: Block) -> None: ...
    def meeting(
        self, title: str, start: datetime, end: datetime, organizer: str | None, **kw: Any
    ) -> None: ...
    def rep_busy(self, rep: str, start: datetime, end: datetime) -> None: ...


def _uid(title: str, start: datetime) -> str:
    return "p" + hashlib.sha1(f"{title}|{start.isoformat()}".encode()).hexdigest()[:24]


class LocalPeople:
    """People editing the vdir folders."""

    def __init__(self, root: Path, manager: str) -> None:
        self.root = root
        self.manager = manager

    def _files(self) -> list[tuple[Path, icalendar.Calendar]]:
        out = []
        for p in list_items(person_dir(self.root, self.manager)):
            out.append((p, icalendar.Calendar.from_ical(p.read_bytes())))
        return out

    def blocks(self) -> list[Block]:
        out = []
        for _, cal in self._files():
            for ev in cal.walk("VEVENT"):
                if "X-COACHD-KEY" not in ev:
                    continue
                people = ev.get("ATTENDEE", [])
                people = people if isinstance(people, list) else [people]
                declined = frozenset(
                    str(a).lower().removeprefix("mailto:")
                    for a in people
                    if str(a.params.get("PARTSTAT", "")).upper() == "DECLINED"
                )
                out.append(
                    Block(
                        id=str(ev["UID"]),
                        key=str(ev["X-COACHD-KEY"]),
                        generation=int(str(ev.get("X-COACHD-GENERATION", "0"))),
                        start=ev["DTSTART"].dt,
                        end=ev["DTEND"].dt,
                        declined_by=declined,
                    )
                )
        return sorted(out, key=lambda b: b.start)

    def _edit(self, block: Block, change: Any) -> None:
        for path, cal in self._files():
            evs = [e for e in cal.walk("VEVENT") if str(e.get("UID")) == block.id]
            if evs:
                change(path, cal, evs[0])
                return
        raise AssertionError(f"no event {block.id}")

    def decline(self, block: Block, rep: str) -> None:
        def change(path: Path, cal: icalendar.Calendar, ev: icalendar.Event) -> None:
            people = ev.get("ATTENDEE", [])
            for a in people if isinstance(people, list) else [people]:
                if str(a).lower().removeprefix("mailto:") == rep:
                    a.params["PARTSTAT"] = "DECLINED"
            path.write_bytes(cal.to_ical())

        self._edit(block, change)

    def move(self, block: Block, start: datetime, end: datetime) -> None:
        def change(path: Path, cal: icalendar.Calendar, ev: icalendar.Event) -> None:
            for name in ("DTSTART", "DTEND"):
                del ev[name]
            ev.add("DTSTART", start)
            ev.add("DTEND", end)
            path.write_bytes(cal.to_ical())

        self._edit(block, change)

    def delete(self, block: Block) -> None:
        self._edit(block, lambda path, cal, ev: path.unlink())

    def _write(self, owner: str, uid: str, ev: icalendar.Event) -> None:
        cal = icalendar.Calendar()
        cal.add("PRODID", "-//people//EN")
        cal.add("VERSION", "2.0")
        cal.add_component(ev)
        write_event_file(person_dir(self.root, owner), uid, cal.to_ical())

    def meeting(
        self, title: str, start: datetime, end: datetime, organizer: str | None, **kw: Any
    ) -> None:
        uid = _uid(title, start)
        ev = icalendar.Event()
        ev.add("UID", uid)
        ev.add("SUMMARY", title)
        ev.add("DTSTAMP", start)
        if kw.get("all_day"):
            ev.add("DTSTART", start.date())
            ev.add("DTEND", end.date())
        else:
            ev.add("DTSTART", start)
            ev.add("DTEND", end)
        if kw.get("transparent"):
            ev.add("TRANSP", "TRANSPARENT")
        if kw.get("out_of_office"):
            ev.add("X-MICROSOFT-CDO-BUSYSTATUS", "OOF")
        if organizer:
            ev.add("ORGANIZER", f"mailto:{organizer}")
            answer = (
                str(kw.get("answer", "accepted")).upper().replace("NEEDSACTION", "NEEDS-ACTION")
            )
            ev.add("ATTENDEE", f"mailto:{self.manager}", parameters={"PARTSTAT": answer})
        self._write(self.manager, uid, ev)

    def rep_busy(self, rep: str, start: datetime, end: datetime) -> None:
        uid = _uid(f"busy {rep}", start)
        ev = icalendar.Event()
        ev.add("UID", uid)
        ev.add("SUMMARY", "Customer call")
        ev.add("DTSTAMP", start)
        ev.add("DTSTART", start)
        ev.add("DTEND", end)
        self._write(rep, uid, ev)


class GooglePeople:
    """People using Google Calendar: the loopback fake changed as Google would."""

    def __init__(self, fake: FakeGoogle, manager: str) -> None:
        self.fake = fake
        self.manager = manager

    def blocks(self) -> list[Block]:
        out = []
        for ev in self.fake.events("primary"):
            priv = ev.get("extendedProperties", {}).get("private", {})
            if "coachd_key" not in priv or ev.get("status") == "cancelled":
                continue
            out.append(
                Block(
                    id=ev["id"],
                    key=priv["coachd_key"],
                    generation=int(priv.get("coachd_generation", 0)),
                    start=datetime.fromisoformat(ev["start"]["dateTime"]),
                    end=datetime.fromisoformat(ev["end"]["dateTime"]),
                    declined_by=frozenset(
                        a["email"]
                        for a in ev.get("attendees", [])
                        if a.get("responseStatus") == "declined"
                    ),
                )
            )
        return sorted(out, key=lambda b: b.start)

    def decline(self, block: Block, rep: str) -> None:
        ev = self.fake.event(block.id)
        assert ev is not None
        people = [
            {**a, "responseStatus": "declined"} if a["email"] == rep else a
            for a in ev.get("attendees", [])
        ]
        self.fake.update_event("primary", block.id, {"attendees": people})

    def move(self, block: Block, start: datetime, end: datetime) -> None:
        self.fake.update_event(
            "primary",
            block.id,
            {"start": {"dateTime": start.isoformat()}, "end": {"dateTime": end.isoformat()}},
        )

    def delete(self, block: Block) -> None:
        self.fake.remove_event("primary", block.id)

    def meeting(
        self, title: str, start: datetime, end: datetime, organizer: str | None, **kw: Any
    ) -> None:
        if kw.get("all_day"):
            when = {
                "start": {"date": start.date().isoformat()},
                "end": {"date": end.date().isoformat()},
            }
        else:
            when = {"start": {"dateTime": start.isoformat()}, "end": {"dateTime": end.isoformat()}}
        body: dict[str, Any] = {"id": _uid(title, start), "summary": title, **when}
        if kw.get("transparent"):
            body["transparency"] = "transparent"
        if kw.get("out_of_office"):
            body["eventType"] = "outOfOffice"
        if organizer:
            body["organizer"] = {"email": organizer}
            body["attendees"] = [
                {"email": organizer, "organizer": True, "responseStatus": "accepted"},
                {
                    "email": self.manager,
                    "self": True,
                    "responseStatus": kw.get("answer", "accepted"),
                },
            ]
        self.fake.add_event("primary", body)

    def rep_busy(self, rep: str, start: datetime, end: datetime) -> None:
        body = {
            "id": _uid(f"busy {rep}", start),
            "summary": "Customer call",
            "start": {"dateTime": start.isoformat()},
            "end": {"dateTime": end.isoformat()},
        }
        self.fake.add_event(rep, body)
