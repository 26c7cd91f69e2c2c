"""Calendar parts of inbound mail: decoded, bounded, and safe on hostile messages; and a
recorded answer reaches the persistent SQLite cache of the local calendar."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest

from integrations.calendar.cache import EventCache
from integrations.calendar.local import LocalCalendar
from integrations.imip.apply import ReplyRejected
from integrations.imip.inbound import IMIP, record_replies
from integrations.inbox.base import InboundMessage, SeenMessages
from integrations.inbox.parse import (
    MAX_CALENDAR_CHARS,
    MAX_CALENDAR_PARTS,
    MAX_DEPTH,
    parse_message,
)
from planner.timeutil import Interval

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
TZ = ZoneInfo("America/Chicago")
MANAGER = "dana@acme.com"
REP = "alex@acme.com"


def _ics(partstat: str = "DECLINED", attendee: str = REP, uid: str = "abc123") -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nMETHOD:REPLY\r\n"
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261202T150000Z\r\nSEQUENCE:0\r\n"
        f"ATTENDEE;PARTSTAT={partstat}:mailto:{attendee}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def _message(mid: str = "<m@x>", sender: str = REP) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["Message-ID"] = mid
    msg.set_content("answer\n")
    return msg


def _calendar_part(text: str | bytes, charset: str = "utf-8") -> EmailMessage:
    part = EmailMessage()
    data = text.encode(charset) if isinstance(text, str) else text
    part.set_content(data, maintype="text", subtype="calendar")
    part.set_param("charset", charset)
    part.set_param("method", "REPLY")
    return part


def test_no_calendar_part_means_none() -> None:
    assert parse_message(_message().as_bytes()).calendar == ()


@pytest.mark.parametrize("charset", ["x-no-such-charset", "base64", "idna", "utf\x00"])
def test_an_unusable_charset_is_read_as_utf8_with_replacements(charset: str) -> None:
    msg = _message()
    msg.make_mixed()
    msg.attach(_calendar_part(_ics().encode() + b"\xff", charset="latin-1"))
    msg.get_payload()[1].set_param("charset", charset)  # type: ignore[index,union-attr]
    parsed = parse_message(msg.as_bytes())
    assert parsed.text.strip() == "answer"
    [part] = parsed.calendar
    assert part.startswith("BEGIN:VCALENDAR") and part.endswith("\ufffd")


def test_parts_are_capped_in_number_and_size(caplog: pytest.LogCaptureFixture) -> None:
    msg = _message()
    msg.make_mixed()
    msg.attach(_calendar_part("X" * (MAX_CALENDAR_CHARS + 1)))
    for i in range(MAX_CALENDAR_PARTS + 3):
        msg.attach(_calendar_part(_ics(uid=f"u{i}")))
    with caplog.at_level(logging.WARNING):
        parts = parse_message(msg.as_bytes()).calendar
    assert [p.split("UID:")[1].split("\r\n")[0] for p in parts] == [
        f"u{i}" for i in range(MAX_CALENDAR_PARTS)
    ]
    assert "<m@x>" in caplog.text and "dropped" in caplog.text


def test_attached_messages_and_deep_nesting_are_not_searched() -> None:
    inner = _message("<inner@x>")
    inner.make_mixed()
    inner.attach(_calendar_part(_ics()))
    msg = _message()
    msg.make_mixed()
    forwarded = EmailMessage()
    forwarded.set_content(inner)
    msg.attach(forwarded)
    assert parse_message(msg.as_bytes()).calendar == ()

    deep: EmailMessage = _calendar_part(_ics())
    for _ in range(MAX_DEPTH + 1):
        outer = EmailMessage()
        outer.make_mixed()
        outer.attach(deep)
        deep = outer
    top = _message()
    top.make_mixed()
    top.attach(deep)
    assert parse_message(top.as_bytes()).calendar == ()


def _seed(root: Path) -> Path:
    """The manager's copy of a coachd one-on-one with the rep invited."""
    folder = root / MANAGER
    folder.mkdir(parents=True)
    path = folder / "abc123.ics"
    path.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//coachd//EN\r\nBEGIN:VEVENT\r\n"
        "UID:abc123\r\nDTSTAMP:20261202T150000Z\r\nSEQUENCE:0\r\n"
        "DTSTART:20261203T160000Z\r\nDTEND:20261203T163000Z\r\nSUMMARY:One-on-one\r\n"
        f"ORGANIZER:mailto:{MANAGER}\r\n"
        f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{MANAGER}\r\n"
        f"ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:{REP}\r\n"
        "X-COACHD-KEY:one_on_one:alex@acme.com:2026-W49\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    return path


def _rep_status(cal: LocalCalendar) -> str:
    window = Interval(NOW, NOW + timedelta(days=3))
    [ev] = cal.read(MANAGER, window).events
    [a] = [a for a in ev.attendees if a.email == REP]
    return a.status


class _KV:
    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def put(self, key: str, value: Any) -> None:
        self.data[key] = value

    def delete(self, key: str) -> None:
        self.data.pop(key, None)


def test_a_recorded_answer_reaches_the_persistent_cache(tmp_path: Path) -> None:
    root, db = tmp_path / "calendar", tmp_path / "cache.sqlite3"
    _seed(root)
    first = LocalCalendar(root, TZ, cache=EventCache.open(db))
    assert _rep_status(first) == "needsAction"  # decoded and stored in the cache
    first._disk.close()  # type: ignore[union-attr]

    kv = _KV()
    message = InboundMessage("<d@x>", REP, calendar=("not iCalendar", _ics()))
    writer = LocalCalendar(root, TZ)
    assert record_replies([message], writer, MANAGER, kv, NOW) == 1
    assert SeenMessages(kv, IMIP).seen() == {"<d@x>"}
    assert record_replies([message], writer, MANAGER, kv, NOW) == 0  # handled once

    again = LocalCalendar(root, TZ, cache=EventCache.open(db))  # the next process
    assert _rep_status(again) == "declined"


def test_replies_that_must_not_apply_change_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "calendar"
    path = _seed(root)
    before = path.read_bytes()
    cal = LocalCalendar(root, TZ)
    with pytest.raises(ReplyRejected, match="no event"):
        cal.apply_reply(MANAGER, icalendar.Calendar.from_ical(_ics(uid="../../etc")), REP)
    messages = [
        InboundMessage("<1@x>", "mallory@evil.example", calendar=(_ics(),)),
        InboundMessage("<2@x>", REP, calendar=(_ics(partstat="DELEGATED"),)),
        InboundMessage("<3@x>", REP, calendar=(_ics(uid="unknown"),)),
        InboundMessage("<4@x>", REP, calendar=(_ics().replace("REPLY", "REQUEST", 1),)),
        InboundMessage("<5@x>", REP, calendar=("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n",)),
    ]
    with caplog.at_level(logging.WARNING):
        assert record_replies(messages, cal, MANAGER, _KV(), NOW) == 0
    assert path.read_bytes() == before
    assert "<1@x> from mallory@evil.example: calendar reply rejected" in caplog.text
    assert "<5@x> from alex@acme.com: a malformed calendar part skipped" in caplog.text
    assert "<4@x>" not in caplog.text  # a REQUEST is not an answer: left alone


def test_google_and_microsoft_record_answers_themselves() -> None:
    class Remote:  # no apply_reply: the provider handles replies
        pass

    kv = _KV()
    message = InboundMessage("<d@x>", REP, calendar=(_ics(),))
    assert record_replies([message], Remote(), MANAGER, kv, NOW) == 0
    assert kv.data == {}
