"""The local vdir backend: the shared Calendar contract plus what only iCalendar files have."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import icalendar
import pytest
from calendar_contract import REP, TZ, WINDOW, CalendarContract, at
from hypothesis import example, given, settings
from hypothesis import strategies as st

from integrations.calendar.base import Calendar
from integrations.calendar.ics_decode import prop
from integrations.calendar.ics_encode import EventSpec, encode_event
from integrations.calendar.local import LocalCalendar
from integrations.calendar.vdir import atomic_write, write_event_file
from planner.actions import Cancel, Decline, Flag, Move
from planner.model import Attendee, Event
from planner.timeutil import Interval

OWNER = "manager@example.com"
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def ics(*lines: str) -> bytes:
    """A VCALENDAR around some VEVENT lines (CRLF, as RFC 5545 wants)."""
    body = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//test//EN", *lines, "END:VCALENDAR"]
    return ("\r\n".join(body) + "\r\n").encode()


def vevent(uid: str, *props: str) -> list[str]:
    return ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20270201T000000Z", *props, "END:VEVENT"]


class TestLocalCalendar(CalendarContract):
    @pytest.fixture(autouse=True)
    def _root(self, tmp_path: Path) -> None:
        self.root = tmp_path / "calendar"
        self.root.mkdir()
        self.seeded = 0

    def make_calendar(self) -> tuple[Calendar, str]:
        return LocalCalendar(self.root, TZ, clock=lambda: NOW), OWNER

    def seed_invitation(
        self,
        owner: str,
        *,
        organizer: str,
        attendees: Sequence[Attendee],
        start: datetime,
        end: datetime,
        title: str,
    ) -> str:
        uid = "040000008200E00074C5B7101A82E008-invite@outlook"
        spec = EventSpec(uid, start, end, title, organizer=organizer, attendees=tuple(attendees))
        # Named like a foreign client would, not `<uid>.ics`: lookups must go by UID.
        write_event_file(self.root / owner, "from-outlook-1", encode_event(spec, TZ, NOW))
        return uid

    def seed_busy(
        self, person: str, start: datetime, end: datetime, *, transparent: bool = False
    ) -> None:
        self.seeded += 1
        uid = f"busy-{self.seeded}"
        spec = EventSpec(uid, start, end, "Busy", transparent=transparent)
        write_event_file(self.root / person, uid, encode_event(spec, TZ, NOW))

    # ------------------------------------------------------------------ local-only helpers

    def put(self, name: str, data: bytes, person: str = OWNER) -> Path:
        folder = self.root / person
        folder.mkdir(exist_ok=True)
        path = folder / name
        path.write_bytes(data)
        return path

    def read(self, window: Interval = WINDOW) -> tuple[list[Event], list[str]]:
        cal, owner = self.make_calendar()
        got = cal.read(owner, window)
        return got.events, got.warnings

    # ------------------------------------------------------------------ recurrence

    def test_rrule_with_exdate_and_overridden_instance(self) -> None:
        self.put(
            "standup.ics",
            ics(
                *vevent(
                    "standup",
                    "DTSTART;TZID=America/Chicago:20270301T090000",
                    "DTEND;TZID=America/Chicago:20270301T091500",
                    "RRULE:FREQ=DAILY;COUNT=5",
                    "EXDATE;TZID=America/Chicago:20270302T090000",
                    "SUMMARY:Standup",
                ),
                *vevent(
                    "standup",
                    "RECURRENCE-ID;TZID=America/Chicago:20270304T090000",
                    "DTSTART;TZID=America/Chicago:20270304T110000",
                    "DTEND;TZID=America/Chicago:20270304T113000",
                    "SUMMARY:Standup (moved)",
                ),
            ),
        )
        events, warnings = self.read()
        assert warnings == []
        assert [(e.start, e.end, e.title) for e in events] == [
            (at(1, 9), at(1, 9, 15), "Standup"),
            (at(3, 9), at(3, 9, 15), "Standup"),
            (at(4, 11), at(4, 11, 30), "Standup (moved)"),
            (at(5, 9), at(5, 9, 15), "Standup"),
        ]
        assert all(e.recurring and e.uid == "standup" for e in events)
        # Occurrence ids carry the original start in UTC, even for the moved instance.
        assert [e.id for e in events] == [
            "standup/20270301T150000Z",
            "standup/20270303T150000Z",
            "standup/20270304T150000Z",
            "standup/20270305T150000Z",
        ]

    def test_all_day_series_occurrence_ids_use_the_date(self) -> None:
        self.put(
            "payday.ics",
            ics(*vevent("payday", "DTSTART;VALUE=DATE:20270305", "RRULE:FREQ=WEEKLY;COUNT=2")),
        )
        events, _ = self.read()
        assert [(e.id, e.all_day, e.start) for e in events] == [
            ("payday/20270305", True, at(5, 0)),
            ("payday/20270312", True, at(12, 0)),
        ]

    def test_rdate_adds_occurrences(self) -> None:
        self.put(
            "review.ics",
            ics(
                *vevent(
                    "review",
                    "DTSTART:20270301T150000Z",
                    "DURATION:PT1H",
                    "RDATE:20270310T150000Z,20270317T160000Z",
                    "SUMMARY:Review",
                )
            ),
        )
        events, _ = self.read()
        assert [(e.start, e.end) for e in events] == [
            (at(1, 9), at(1, 10)),
            (at(10, 9), at(10, 10)),  # still CST: 15:00Z is 09:00
            (at(17, 11), at(17, 12)),  # CDT since 14 March: 16:00Z is 11:00
        ]

    def test_dst_week_keeps_weekly_meeting_at_local_time(self) -> None:
        self.put(
            "weekly.ics",
            ics(
                *vevent(
                    "weekly",
                    "DTSTART;TZID=America/Chicago:20270308T090000",
                    "DTEND;TZID=America/Chicago:20270308T100000",
                    "RRULE:FREQ=WEEKLY;BYDAY=MO",
                    "SUMMARY:Pipeline review",
                )
            ),
        )
        window = Interval(at(8, 0), at(16, 0))
        events, _ = self.read(window)
        assert [(e.start.hour, e.start.utcoffset()) for e in events] == [
            (9, timedelta(hours=-6)),  # Monday 8 March: CST
            (9, timedelta(hours=-5)),  # Monday 15 March, after 14 March: CDT
        ]
        assert [e.start.astimezone(UTC).hour for e in events] == [15, 14]
        assert all(e.interval.duration == timedelta(hours=1) for e in events)

    def test_dst_booking_written_and_read_at_local_time(self) -> None:
        cal, owner = self.make_calendar()
        b = self.book(owner, at(15, 9))  # the Monday after spring-forward
        cal.apply(owner, [b])
        ev = self.only(cal.read(owner, WINDOW).events, b.event_id)
        assert ev.start == at(15, 9) and ev.start.utcoffset() == timedelta(hours=-5)
        raw = (self.root / owner / f"{b.event_id}.ics").read_bytes()
        assert b"DTSTART;TZID=America/Chicago:20270315T090000" in raw

    # ------------------------------------------------------------------ all-day, floating

    def test_all_day_and_multi_day_events(self) -> None:
        self.put(
            "holiday.ics",
            ics(*vevent("holiday", "DTSTART;VALUE=DATE:20270305", "SUMMARY:Holiday")),
        )
        self.put(
            "conference.ics",
            ics(
                *vevent(
                    "conf",
                    "DTSTART;VALUE=DATE:20270313",
                    "DTEND;VALUE=DATE:20270316",
                    "SUMMARY:Sales kick-off",
                )
            ),
        )
        events, _ = self.read()
        holiday, conf = events
        assert holiday.all_day and (holiday.start, holiday.end) == (at(5, 0), at(6, 0))
        assert conf.all_day and (conf.start, conf.end) == (at(13, 0), at(16, 0))
        # Local midnight to local midnight across spring-forward: 71 real hours.
        assert conf.end.astimezone(UTC) - conf.start.astimezone(UTC) == timedelta(hours=71)
        cal, owner = self.make_calendar()
        busy = cal.busy([owner], WINDOW).busy[owner]
        assert busy == [Interval(at(5, 0), at(6, 0)), Interval(at(13, 0), at(16, 0))]

    def test_multi_day_event_overlapping_window_start_is_read(self) -> None:
        self.put(
            "trip.ics",
            ics(
                *vevent(
                    "trip",
                    "DTSTART;TZID=America/Chicago:20270227T080000",
                    "DTEND;TZID=America/Chicago:20270302T180000",
                    "SUMMARY:Trip",
                )
            ),
        )
        events, _ = self.read()
        assert [(e.start, e.end) for e in events] == [
            (datetime(2027, 2, 27, 8, tzinfo=TZ), at(2, 18))
        ]

    def test_floating_time_is_read_in_the_manager_zone(self) -> None:
        self.put(
            "lunch.ics",
            ics(*vevent("lunch", "DTSTART:20270309T120000", "DTEND:20270309T130000")),
        )
        [ev], _ = self.read()
        assert (ev.start, ev.end) == (at(9, 12), at(9, 13))
        assert ev.start.tzinfo == TZ

    def test_events_outside_the_window_are_left_out(self) -> None:
        self.put("before.ics", ics(*vevent("before", "DTSTART:20270228T150000Z", "DURATION:PT1H")))
        self.put("after.ics", ics(*vevent("after", "DTSTART;VALUE=DATE:20270329")))
        self.put("in.ics", ics(*vevent("in", "DTSTART:20270328T230000Z", "DURATION:PT1H")))
        events, _ = self.read()
        assert [e.id for e in events] == ["in"]

    # ------------------------------------------------------------------ properties

    def test_transparency_status_and_attendee_mapping(self) -> None:
        self.put(
            "party.ics",
            ics(
                *vevent(
                    "party",
                    "DTSTART:20270309T200000Z",
                    "DTEND:20270309T210000Z",
                    "SUMMARY:Party",
                    "TRANSP:TRANSPARENT",
                    "ORGANIZER;CN=Boss:MAILTO:The.Boss@Example.com",
                    "ATTENDEE;CN=Boss;PARTSTAT=ACCEPTED:mailto:the.boss@example.com",
                    "ATTENDEE;PARTSTAT=TENTATIVE:mailto:MANAGER@example.com",
                    'ATTENDEE;CN="Doe, Jane";PARTSTAT=DECLINED:mailto:jane@example.com',
                    "ATTENDEE:mailto:nobody-answered@example.com",
                    "X-MICROSOFT-CDO-BUSYSTATUS:FREE",
                    "X-MICROSOFT-CDO-IMPORTANCE:1",
                    "LAST-MODIFIED:20270215T101500Z",
                    "SEQUENCE:3",
                ),
                *vevent(
                    "gone",
                    "DTSTART:20270310T200000Z",
                    "DTEND:20270310T210000Z",
                    "STATUS:CANCELLED",
                ),
            ),
        )
        events, warnings = self.read()
        party, gone = events
        assert warnings == []
        assert party.transparent and not party.blocks_time()
        assert party.organizer == "the.boss@example.com"
        assert party.self_status == "tentative"
        assert [(a.email, a.name, a.status, a.organizer) for a in party.attendees] == [
            ("the.boss@example.com", "Boss", "accepted", True),
            ("manager@example.com", "", "tentative", False),
            ("jane@example.com", "Doe, Jane", "declined", False),
            ("nobody-answered@example.com", "", "needsAction", False),
        ]
        assert party.sequence == 3 and party.updated == "2027-02-15T10:15:00+00:00"
        assert gone.cancelled and not gone.blocks_time() and gone.updated.startswith("2027-02-01")

    def test_self_status_is_none_for_organizer_or_absent_owner(self) -> None:
        self.put(
            "mine.ics",
            ics(
                *vevent(
                    "mine",
                    "DTSTART:20270309T200000Z",
                    "ORGANIZER:mailto:manager@example.com",
                    "ATTENDEE;PARTSTAT=ACCEPTED:mailto:manager@example.com",
                )
            ),
        )
        self.put("notlisted.ics", ics(*vevent("notlisted", "DTSTART:20270310T200000Z")))
        events, _ = self.read()
        assert [(e.id, e.self_status) for e in events] == [("mine", None), ("notlisted", None)]

    def test_tag_decoding(self) -> None:
        self.put(
            "huddle.ics",
            ics(
                *vevent(
                    "huddle",
                    "DTSTART:20270309T150000Z",
                    "X-COACHD-KEY:huddle:-:2027-03-09",
                    "X-COACHD-KIND:huddle",
                    "X-COACHD-REP:-",
                    "X-COACHD-PERIOD:2027-03-09",
                    "X-COACHD-GENERATION:2",
                    "X-COACHD-FLAG:manual",
                )
            ),
        )
        self.put("plain.ics", ics(*vevent("plain", "DTSTART:20270309T160000Z", "X-COACHD-KIND:x")))
        huddle, plain = self.read()[0]
        assert huddle.tag is not None and huddle.tag.rep is None and huddle.tag.generation == 2
        assert huddle.tag.kind == "huddle" and huddle.flagged
        assert plain.tag is None

    # ------------------------------------------------------------------ malformed input

    def test_malformed_files_are_skipped_with_a_warning_naming_them(self) -> None:
        bad = {
            "syntax.ics": b"this is not iCalendar at all\r\n",
            "nostart.ics": ics(*vevent("nostart", "SUMMARY:No start")),
            "backwards.ics": ics(
                *vevent("backwards", "DTSTART:20270309T150000Z", "DTEND:20270309T140000Z")
            ),
            "badrule.ics": ics(
                *vevent("badrule", "DTSTART:20270309T150000Z", "RRULE:FREQ=SOMETIMES")
            ),
            "badstart.ics": ics(*vevent("badstart", "DTSTART:next tuesday")),
            "binary.ics": b"\x00\xff\xfe garbage \x80",
            "mixed.ics": ics(
                *vevent("mixed", "DTSTART;VALUE=DATE:20270309", "DTEND:20270309T150000Z")
            ),
            "truncated.ics": ics(*vevent("trunc", "DTSTART:20270309T150000Z"))[:60],
        }
        for name, data in bad.items():
            self.put(name, data)
        self.put("good.ics", ics(*vevent("good", "DTSTART:20270309T150000Z", "DURATION:PT1H")))
        events, warnings = self.read()
        assert [e.id for e in events] == ["good"]
        for name in bad:
            path = str(self.root / OWNER / name)
            assert sum(path in w for w in warnings) == 1, (name, warnings)
        assert len(warnings) == len(bad)

    def test_non_event_files_and_hidden_files_are_ignored(self) -> None:
        self.put("todo.ics", ics("BEGIN:VTODO", "UID:t", "SUMMARY:Task", "END:VTODO"))
        self.put(".tmp-partial.ics", b"BEGIN:VCAL")
        self.put("notes.txt", b"not a calendar item")
        events, warnings = self.read()
        assert events == [] and warnings == []

    def test_missing_folder_means_no_events_and_free_with_warning(self) -> None:
        cal, _owner = self.make_calendar()
        got = cal.read("new.person@example.com", WINDOW)
        assert got.events == [] and "new.person@example.com" in got.warnings[0]
        busy = cal.busy(["new.person@example.com", REP], WINDOW)
        assert busy.busy == {"new.person@example.com": [], REP: []}
        assert busy.errors == {}
        assert any("new.person@example.com" in w for w in busy.warnings)

    def test_person_folder_is_found_regardless_of_case(self) -> None:
        data = ics(*vevent("x", "DTSTART:20270309T150000Z", "DURATION:PT1H"))
        self.put("x.ics", data, person="Rep.One@Example.com")
        cal, _ = self.make_calendar()
        assert cal.busy([REP], WINDOW).busy[REP] == [Interval(at(9, 9), at(9, 10))]
        assert [e.id for e in cal.read(REP, WINDOW).events] == ["x"]

    def test_changes_by_other_programs_are_seen_on_the_next_read(self) -> None:
        cal, owner = self.make_calendar()
        self.put("a.ics", ics(*vevent("a", "DTSTART:20270309T150000Z", "SUMMARY:Old")))
        self.put("b.ics", ics(*vevent("b", "DTSTART:20270309T160000Z", "RRULE:FREQ=DAILY")))
        assert [e.title for e in cal.read(owner, WINDOW).events][:1] == ["Old"]
        # Another client edits one file in place and deletes the other.
        self.put("a.ics", ics(*vevent("a", "DTSTART:20270309T150000Z", "SUMMARY:New title")))
        (self.root / owner / "b.ics").unlink()
        assert [e.title for e in cal.read(owner, WINDOW).events] == ["New title"]

    # ------------------------------------------------------------------ writing

    def test_written_file_is_standard_icalendar_with_coachd_tag(self) -> None:
        cal, owner = self.make_calendar()
        b = self.book(owner, at(9, 10))
        cal.apply(owner, [b])
        path = self.root / owner / f"{b.event_id}.ics"
        parsed = icalendar.Calendar.from_ical(path.read_bytes())
        assert str(prop(parsed, "PRODID")) == "-//coachd//coachd//EN"
        [tz] = parsed.walk("VTIMEZONE")
        assert str(prop(tz, "TZID")) == "America/Chicago"
        [ev] = parsed.walk("VEVENT")
        assert str(prop(ev, "UID")) == b.event_id
        assert prop(ev, "DTSTART").params["TZID"] == "America/Chicago"
        assert prop(ev, "DTSTART").dt == b.start and prop(ev, "DTEND").dt == b.end
        assert prop(ev, "DTSTAMP").dt == NOW
        assert str(prop(ev, "SUMMARY")) == b.title and str(prop(ev, "DESCRIPTION")) == b.description
        assert str(prop(ev, "ORGANIZER")) == f"mailto:{owner}"
        attendees = {str(a): dict(a.params) for a in prop(ev, "ATTENDEE")}
        assert attendees[f"mailto:{owner}"]["PARTSTAT"] == "ACCEPTED"
        assert attendees[f"mailto:{REP}"]["PARTSTAT"] == "NEEDS-ACTION"
        assert attendees[f"mailto:{REP}"]["RSVP"] == "TRUE"
        assert str(prop(ev, "TRANSP")) == "OPAQUE" and int(prop(ev, "SEQUENCE")) == 0
        assert {k: str(ev[k]) for k in ev if k.startswith("X-COACHD-")} == {
            "X-COACHD-KEY": b.key,
            "X-COACHD-KIND": "one_on_one",
            "X-COACHD-REP": REP,
            "X-COACHD-PERIOD": "2027-W10",
            "X-COACHD-GENERATION": "0",
        }
        assert [p.name for p in (self.root / owner).iterdir()] == [path.name]  # no temp files

    def test_booking_is_idempotent_even_when_the_file_was_renamed(self) -> None:
        cal, owner = self.make_calendar()
        b = self.book(owner, at(9, 10))
        cal.apply(owner, [b])
        folder = self.root / owner
        (folder / f"{b.event_id}.ics").rename(folder / "synced-by-vdirsyncer.ics")
        fresh, _ = self.make_calendar()  # no index yet: must find it by scanning
        assert [o.error for o in fresh.apply(owner, [b])] == [None]
        assert sorted(p.name for p in folder.iterdir()) == ["synced-by-vdirsyncer.ics"]

    def test_booking_that_ends_before_it_starts_is_refused(self) -> None:
        cal, owner = self.make_calendar()
        b = self.book(owner, at(9, 10))
        bad = dataclasses.replace(b, end=b.start - timedelta(minutes=5))
        [outcome] = cal.apply(owner, [bad])
        assert outcome.error and "before" in outcome.error
        assert not (self.root / owner).exists() or not list((self.root / owner).iterdir())

    def test_hostile_event_id_is_refused(self) -> None:
        cal, owner = self.make_calendar()
        b = self.book(owner, at(9, 10))
        hostile = dataclasses.replace(b, event_id="../../etc/evil")
        [outcome] = cal.apply(owner, [hostile])
        assert outcome.error is not None
        assert not (self.root.parent / "etc").exists()

    def test_decline_of_series_occurrence_declines_the_series_and_keeps_the_rest(self) -> None:
        path = self.put(
            "weekly-sync.ics",
            ics(
                *vevent(
                    "sync",
                    "DTSTART;TZID=America/Chicago:20270302T100000",
                    "DTEND;TZID=America/Chicago:20270302T110000",
                    "RRULE:FREQ=WEEKLY",
                    "SUMMARY:Facilities sync",
                    "ORGANIZER:mailto:facilities@example.com",
                    "ATTENDEE;PARTSTAT=ACCEPTED;CN=Fac:mailto:facilities@example.com",
                    "ATTENDEE;PARTSTAT=TENTATIVE;ROLE=OPT-PARTICIPANT:mailto:x@example.com",
                    "ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:manager@example.com",
                    "X-MICROSOFT-CDO-OWNERAPPTID:12345",
                    "SEQUENCE:4",
                )
            ),
        )
        cal, owner = self.make_calendar()
        first = cal.read(owner, WINDOW).events[0]
        d = Decline(
            first.id,
            "",
            first.title,
            "facilities@example.com",
            first.start,
            rule="facilities",
            message="m",
            reason="r",
        )
        assert [o.error for o in cal.apply(owner, [d])] == [None]
        events = cal.read(owner, WINDOW).events
        assert len(events) == 4 and all(e.self_status == "declined" for e in events)
        [ev] = icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT")
        assert str(prop(ev, "X-COACHD-DECLINED")) == "facilities"
        assert str(prop(ev, "X-MICROSOFT-CDO-OWNERAPPTID")) == "12345"
        assert int(prop(ev, "SEQUENCE")) == 4
        lines = {str(a): dict(a.params) for a in prop(ev, "ATTENDEE")}
        assert lines["mailto:x@example.com"] == {
            "PARTSTAT": "TENTATIVE",
            "ROLE": "OPT-PARTICIPANT",
        }
        assert lines["mailto:manager@example.com"] == {"PARTSTAT": "DECLINED"}

    def test_decline_of_invitation_not_naming_the_owner_adds_them(self) -> None:
        path = self.put(
            "allhands.ics",
            ics(
                *vevent(
                    "allhands",
                    "DTSTART:20270309T150000Z",
                    "DTEND:20270309T160000Z",
                    "ORGANIZER:mailto:ceo@example.com",
                    "BEGIN:VALARM",
                    "ACTION:DISPLAY",
                    "DESCRIPTION:Reminder",
                    "TRIGGER:-PT10M",
                    "END:VALARM",
                )
            ),
        )
        cal, owner = self.make_calendar()
        d = Decline("allhands", "", "t", "o", at(9, 9), "all-hands", "m", "r")
        assert [o.error for o in cal.apply(owner, [d])] == [None]
        [ev] = cal.read(owner, WINDOW).events
        assert ev.self_status == "declined"
        parsed = icalendar.Calendar.from_ical(path.read_bytes())
        assert len(parsed.walk("VALARM")) == 1  # nothing else of the event was lost

    def test_delegation_follows_rfc5545(self) -> None:
        eid, _ = self.seed_standard_invitation(OWNER)
        cal, owner = self.make_calendar()
        ev = self.only(cal.read(owner, WINDOW).events, eid)
        d = Decline(
            eid,
            "",
            ev.title,
            "x",
            ev.start,
            rule="ops",
            message="m",
            reason="r",
            delegate_to="Deputy@Example.com",
        )
        cal.apply(owner, [d])
        path = self.root / owner / "from-outlook-1.ics"
        [vev] = icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT")
        lines = {str(a): dict(a.params) for a in prop(vev, "ATTENDEE")}
        assert lines[f"mailto:{owner}"]["PARTSTAT"] == "DELEGATED"
        assert lines[f"mailto:{owner}"]["DELEGATED-TO"] == "mailto:deputy@example.com"
        assert lines["mailto:deputy@example.com"]["DELEGATED-FROM"] == f"mailto:{owner}"
        assert lines["mailto:deputy@example.com"]["PARTSTAT"] == "NEEDS-ACTION"
        assert len(lines) == 6

    def test_flag_and_decline_on_missing_event_report_not_found(self) -> None:
        cal, owner = self.make_calendar()
        f = Flag("ghost", "", "t", "o", at(9, 9), "r", "r")
        d = Decline("ghost", "", "t", "o", at(9, 9), "r", "m", "r")
        assert [o.error for o in cal.apply(owner, [f, d])] == ["not found", "not found"]

    def test_foreign_events_are_never_moved_or_cancelled(self) -> None:
        eid, _ = self.seed_standard_invitation(OWNER)
        cal, owner = self.make_calendar()
        path = self.root / owner / "from-outlook-1.ics"
        before = path.read_bytes()
        outcomes = cal.apply(
            owner,
            [Move("k", eid, at(20, 9), at(20, 10), reason="r"), Cancel("k", eid, reason="r")],
        )
        assert all(o.error and "did not book" in o.error for o in outcomes)
        assert path.read_bytes() == before

    def test_cancel_of_one_occurrence_excludes_only_it(self) -> None:
        self.put(
            "series.ics",
            ics(
                *vevent(
                    "series",
                    "DTSTART;TZID=America/Chicago:20270301T090000",
                    "DTEND;TZID=America/Chicago:20270301T093000",
                    "RRULE:FREQ=WEEKLY;COUNT=3",
                    "X-COACHD-KEY:huddle:-:weekly",
                )
            ),
        )
        cal, owner = self.make_calendar()
        ids = [e.id for e in cal.read(owner, WINDOW).events]
        c = Cancel("k", ids[1], reason="r")
        assert [o.error for o in cal.apply(owner, [c, c])] == [None, None]
        assert [e.id for e in cal.read(owner, WINDOW).events] == [ids[0], ids[2]]

    def test_move_rewrites_times_and_bumps_sequence_once(self) -> None:
        cal, owner = self.make_calendar()
        b = self.book(owner, at(9, 10))
        cal.apply(owner, [b])
        m = Move(b.key, b.event_id, at(16, 8), at(16, 8, 30), reason="r")
        cal.apply(owner, [m, m])  # the repeat changes nothing
        path = self.root / owner / f"{b.event_id}.ics"
        parsed = icalendar.Calendar.from_ical(path.read_bytes())
        [ev] = parsed.walk("VEVENT")
        assert int(prop(ev, "SEQUENCE")) == 1 and prop(ev, "DTSTART").dt == at(16, 8)
        assert prop(ev, "DTSTART").params["TZID"] == "America/Chicago"
        assert parsed.get_missing_tzids() == set()
        assert str(prop(ev, "X-COACHD-KEY")) == b.key

    def test_write_failure_becomes_that_outcome_only(self) -> None:
        cal, owner = self.make_calendar()
        b1 = self.book(owner, at(9, 10))
        b2 = self.book(owner, at(10, 10))
        b2 = dataclasses.replace(b2, event_id="otherid0000000")
        # A directory where the file must go makes the rename fail, even when run as root.
        (self.root / owner / f"{b2.event_id}.ics").mkdir(parents=True)
        f = Flag(b1.event_id, "", "t", "o", at(9, 10), "r", "r")
        outcomes = cal.apply(owner, [b1, b2, f])
        assert outcomes[0].error is None and outcomes[2].error is None
        assert outcomes[1].error and outcomes[1].transient
        assert [(e.id, e.flagged) for e in cal.read(owner, WINDOW).events] == [(b1.event_id, True)]
        assert sorted(p.name for p in (self.root / owner).iterdir()) == sorted(
            [f"{b1.event_id}.ics", f"{b2.event_id}.ics"]
        )  # the failed write left no temporary file behind


def test_atomic_write_replaces_and_keeps_mode(tmp_path: Path) -> None:
    path = tmp_path / "a.ics"
    atomic_write(path, b"one")
    path.chmod(0o640)
    atomic_write(path, b"two")
    assert path.read_bytes() == b"two"
    assert path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["a.ics"]


def test_khal_reads_coachd_output(tmp_path: Path) -> None:
    """khal, the reference vdir client, lists the event coachd wrote at the right local time."""
    khal = shutil.which("khal")
    if khal is None:
        pytest.skip("khal is not installed")
    root = tmp_path / "calendar"
    cal = LocalCalendar(root, TZ, clock=lambda: NOW)
    b = CalendarContract.book(OWNER, at(15, 9))
    assert [o.error for o in cal.apply(OWNER, [b])] == [None]
    config = tmp_path / "khal.conf"
    config.write_text(
        "[calendars]\n"
        f"[[manager]]\npath = {root / OWNER}\n"
        "[locale]\n"
        "local_timezone = America/Chicago\ndefault_timezone = America/Chicago\n"
        "timeformat = %H:%M\ndateformat = %Y-%m-%d\n"
        "longdateformat = %Y-%m-%d\ndatetimeformat = %Y-%m-%d %H:%M\n"
        "longdatetimeformat = %Y-%m-%d %H:%M\n"
        "[sqlite]\n"
        f"path = {tmp_path / 'khal.db'}\n"
    )
    out = subprocess.run(
        [khal, "-c", str(config), "list", "--format", "{start} {title}", "2027-03-15", "2d"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "2027-03-15 09:00 1:1 Rep One" in out.stdout, out.stdout + out.stderr


@settings(max_examples=30, deadline=None)
@given(
    start=st.datetimes(
        min_value=datetime(2027, 3, 13), max_value=datetime(2027, 11, 8), timezones=st.just(TZ)
    ),
    minutes=st.integers(min_value=15, max_value=600),
)
@example(start=datetime(2027, 3, 14, 2, 30, tzinfo=TZ), minutes=30)  # in the gap
@example(start=datetime(2027, 11, 7, 1, 30, fold=1, tzinfo=TZ), minutes=30)  # repeated hour
def test_any_booking_reads_back_at_the_same_instant(start: datetime, minutes: int) -> None:
    """Written with a TZID and read back, a booking keeps its exact start and end, across
    both DST changes (including wall times in the gap and the repeated hour)."""
    start = start.replace(second=0, microsecond=0)
    with tempfile.TemporaryDirectory() as tmp:
        cal = LocalCalendar(Path(tmp), TZ, clock=lambda: NOW)
        b = CalendarContract.book(OWNER, start, minutes=minutes)
        # The end as an instant: wall-clock arithmetic on a gap time could put it before start.
        end = (start.astimezone(UTC) + timedelta(minutes=minutes)).astimezone(TZ)
        b = dataclasses.replace(b, end=end)
        assert [o.error for o in cal.apply(OWNER, [b])] == [None]
        window = Interval(start - timedelta(days=1), start + timedelta(days=2))
        [ev] = cal.read(OWNER, window).events
        assert ev.start.astimezone(UTC) == b.start.astimezone(UTC)
        assert ev.end.astimezone(UTC) == b.end.astimezone(UTC)


def test_a_quiet_folder_is_not_restatted_but_a_new_file_is_seen(tmp_path: Path) -> None:
    """An unchanged folder's listing is reused; a file renamed in (as vdir writers do)
    changes the folder's mtime, so the next read finds it."""
    folder = tmp_path / OWNER
    folder.mkdir()
    first = ics(*vevent("a@x", "DTSTART:20270301T150000Z", "DTEND:20270301T160000Z"))
    write_event_file(folder, "a@x", first)
    quiet = time.time() - 3600  # the folder last changed an hour ago
    os.utime(folder, (quiet, quiet))
    cal = LocalCalendar(tmp_path, TZ)
    window = Interval(NOW - timedelta(days=1), NOW + timedelta(days=2))
    assert [e.uid for e in cal.read(OWNER, window).events] == ["a@x"]
    # Trusted listing: an in-place edit (no rename) waits for the next full sweep...
    (folder / "a@x.ics").write_bytes(first.replace(b"T15", b"T12").replace(b"T16", b"T13"))
    os.utime(folder, (quiet, quiet))
    assert [e.start.astimezone(UTC).hour for e in cal.read(OWNER, window).events] == [15]
    # ...but a new file arriving by rename changes the folder and is read at once.
    second = ics(*vevent("b@x", "DTSTART:20270301T180000Z", "DTEND:20270301T190000Z"))
    write_event_file(folder, "b@x", second)
    assert sorted(e.uid for e in cal.read(OWNER, window).events) == ["a@x", "b@x"]


def test_outlook_out_of_office_is_read_as_such_and_blocks_a_rep_even_shown_free(
    tmp_path: Path,
) -> None:
    root = tmp_path / "calendar"
    away = vevent(
        "away1",
        "SUMMARY:Away",
        "DTSTART;VALUE=DATE:20270303",
        "DTEND;VALUE=DATE:20270304",
        "TRANSP:TRANSPARENT",
        "X-MICROSOFT-CDO-BUSYSTATUS:OOF",
    )
    party = vevent(
        "free1",
        "SUMMARY:Lunch and learn",
        "DTSTART;TZID=America/Chicago:20270304T120000",
        "DTEND;TZID=America/Chicago:20270304T130000",
        "TRANSP:TRANSPARENT",
    )
    for person in (OWNER, REP):
        write_event_file(root / person, "away1", ics(*away))
        write_event_file(root / person, "free1", ics(*party))
    cal = LocalCalendar(root, TZ, clock=lambda: NOW)
    types = {e.title: e.event_type for e in cal.read(OWNER, WINDOW).events}
    assert types == {"Away": "outOfOffice", "Lunch and learn": "default"}
    busy = cal.busy([REP], WINDOW).busy[REP]
    assert busy == [Interval(at(3, 0), at(4, 0))]
