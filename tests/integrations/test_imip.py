"""iMIP on the local backend: invitations, updates, cancellations and replies that real
calendar clients accept, checked with icalendar and with a second parser (vobject)."""

from __future__ import annotations

import email
import mailbox
from datetime import UTC, datetime, timedelta
from email import policy as email_policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import icalendar
import pytest
import vobject

from daemon import main
from integrations.calendar.ics_encode import FLAG_CATEGORY
from integrations.imip.apply import ReplyRejected, apply_reply
from integrations.imip.encode import imip_calendar
from planner.actions import Book, Cancel, Move
from planner.invitations import plan_invitations
from planner.model import Attendee, CoachdTag, Event, Snapshot
from planner.policy import Policy
from planner.timeutil import Interval

MANAGER = "dana.reyes@acme-demo.com"
NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def _messages(folder: Path) -> list[EmailMessage]:
    out = []
    for raw in mailbox.Maildir(str(folder), factory=None, create=False):
        msg = email.message_from_bytes(raw.as_bytes(), policy=email_policy.default)
        assert isinstance(msg, EmailMessage)
        out.append(msg)
    return out


def _calendar_part(msg: EmailMessage) -> tuple[str, str] | None:
    for part in msg.walk():
        if part.get_content_type() == "text/calendar":
            return str(part.get_param("method")), str(part.get_content())
    return None


def _both_parsers(text: str) -> tuple[icalendar.Calendar, Any]:
    """Parse with icalendar and vobject; each must accept the part and agree on the UID."""
    cal = icalendar.Calendar.from_ical(text)
    vcal = vobject.readOne(text)
    vcal.validate()
    (ev,) = list(cal.walk("VEVENT"))
    assert vcal.vevent.uid.value == str(ev["UID"])
    return cal, vcal


def test_once_invites_reps_and_marks_flagged_meetings(demo: Path) -> None:
    assert main(["once", "--config", str(demo / "config.yaml")]) == 0
    invitations = []
    for msg in _messages(demo / "outbox"):
        part = _calendar_part(msg)
        if part is None:
            continue
        method, text = part
        assert method == "REQUEST"
        cal, vcal = _both_parsers(text)
        assert str(cal["METHOD"]) == "REQUEST" and vcal.method.value == "REQUEST"
        (ev,) = list(cal.walk("VEVENT"))
        assert str(ev["ORGANIZER"]).lower() == f"mailto:{MANAGER}"
        guests = {str(a).lower().removeprefix("mailto:") for a in ev.get("ATTENDEE")}
        to = {a.addr_spec.lower() for a in msg["To"].addresses}
        assert to <= guests and MANAGER not in to
        assert msg["Reply-To"].addresses[0].addr_spec == MANAGER
        # The invitation describes the event coachd wrote into the manager's calendar.
        stored = demo / "calendar" / MANAGER / f"{ev['UID']}.ics"
        copy = icalendar.Calendar.from_ical(stored.read_bytes())
        (mine,) = list(copy.walk("VEVENT"))
        assert mine["DTSTART"].dt == ev["DTSTART"].dt and int(ev["SEQUENCE"]) == 0
        invitations.append((to, str(mine["X-COACHD-KIND"])))
    reps = {
        "alex.kim@acme-demo.com",
        "priya.shah@acme-demo.com",
        "jordan.miles@acme-demo.com",
        "sam.ortiz@acme-demo.com",
        "taylor.brooks@acme-demo.com",
    }
    one_on_ones = {next(iter(to)) for to, kind in invitations if kind == "one_on_one"}
    assert one_on_ones == reps
    # Flagged meetings carry a category and a colour that khal and others display.
    flagged = [
        ev
        for path in (demo / "calendar" / MANAGER).glob("*.ics")
        for ev in icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT")
        if "X-COACHD-FLAG" in ev
    ]
    assert flagged
    for ev in flagged:
        assert FLAG_CATEGORY in [str(c) for c in ev["CATEGORIES"].cats]
        assert str(ev["COLOR"])


def test_decline_sends_an_imip_reply_to_the_organizer(demo: Path) -> None:
    cfg = demo / "config.yaml"
    cfg.write_text(cfg.read_text().replace("  mode: flag", "  mode: decline"))
    assert main(["once", "--config", str(cfg)]) == 0
    replies = [
        m for m in _messages(demo / "outbox") if (p := _calendar_part(m)) and p[0] == "REPLY"
    ]
    assert replies
    for msg in replies:
        _, text = _calendar_part(msg) or ("", "")
        cal, _ = _both_parsers(text)
        (ev,) = list(cal.walk("VEVENT"))
        (att,) = [ev["ATTENDEE"]]
        assert str(att).lower() == f"mailto:{MANAGER}"
        assert att.params["PARTSTAT"] in ("DECLINED", "DELEGATED")
        assert str(ev["COMMENT"])
        organizer = str(ev["ORGANIZER"]).lower().removeprefix("mailto:")
        assert [a.addr_spec.lower() for a in msg["To"].addresses] == [organizer]
        # The UID is the invitation's own, so the organizer's calendar matches it.
        uids = {
            str(e["UID"])
            for path in (demo / "calendar" / MANAGER).glob("*.ics")
            for e in icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT")
        }
        assert str(ev["UID"]) in uids


# --- moves and cancellations (planned; no tick of the demo moves anything) -----------------


def _policy() -> Policy:
    return Policy.model_validate(
        {
            "manager": {"name": "Dana Reyes", "email": MANAGER, "timezone": "America/Chicago"},
            "team": [{"name": "Sam Ortiz", "email": "sam@acme-demo.com"}],
        }
    )


def _booked(sequence: int = 0) -> Event:
    start = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)
    return Event(
        id="abc123",
        uid="abc123",
        calendar=MANAGER,
        title="1:1 Dana / Sam Ortiz",
        start=start,
        end=start + timedelta(minutes=30),
        organizer=MANAGER,
        attendees=(
            Attendee(MANAGER, status="accepted", organizer=True),
            Attendee("sam@acme-demo.com"),
        ),
        tag=CoachdTag(
            key="one_on_one:sam@acme-demo.com:2026-W49",
            kind="one_on_one",
            rep="sam@acme-demo.com",
            period="2026-W49",
        ),
        sequence=sequence,
    )


def _snapshot(*events: Event) -> Snapshot:
    return Snapshot(window=Interval(NOW, NOW + timedelta(weeks=4)), events=events)


def test_a_move_is_an_updated_request_with_a_higher_sequence() -> None:
    ev = _booked(sequence=2)
    assert ev.tag is not None
    new_start = ev.start + timedelta(days=1)
    move = Move(
        key=ev.tag.key,
        event_id=ev.id,
        start=new_start,
        end=new_start + timedelta(minutes=30),
        reason="clash",
    )
    (mail,) = plan_invitations(_policy(), _snapshot(ev), [move])
    assert mail.kind == "invitation" and mail.to == ("sam@acme-demo.com",)
    assert mail.context["update"] is True
    cal, vcal = _both_parsers(imip_calendar(mail.context["imip"], NOW).decode())
    (out,) = list(cal.walk("VEVENT"))
    assert int(out["SEQUENCE"]) == 3 and out["DTSTART"].dt == new_start
    assert vcal.method.value == "REQUEST"
    # One email per version: a second Move to another time is a new key.
    assert mail.key.endswith(":" + ev.tag.key) and ":3:" in mail.key


def test_a_cancel_is_a_cancel_with_status_cancelled() -> None:
    ev = _booked(sequence=1)
    assert ev.tag is not None
    (mail,) = plan_invitations(
        _policy(), _snapshot(ev), [Cancel(key=ev.tag.key, event_id=ev.id, reason="rep left")]
    )
    assert mail.kind == "cancellation"
    cal, vcal = _both_parsers(imip_calendar(mail.context["imip"], NOW).decode())
    (out,) = list(cal.walk("VEVENT"))
    assert str(cal["METHOD"]) == "CANCEL" and str(out["STATUS"]) == "CANCELLED"
    assert int(out["SEQUENCE"]) == 2 and vcal.vevent.uid.value == "abc123"


def test_google_sends_its_own_invitations() -> None:
    pol = _policy().model_copy(
        update={"calendar": _policy().calendar.model_copy(update={"backend": "google"})}
    )
    start = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)
    book = Book(
        key="k",
        event_id="e",
        kind="one_on_one",
        rep="sam@acme-demo.com",
        period="p",
        generation=0,
        start=start,
        end=start + timedelta(minutes=30),
        title="1:1",
        description="",
        attendees=(MANAGER, "sam@acme-demo.com"),
        reason="r",
    )
    assert plan_invitations(pol, _snapshot(), [book]) == []
    assert len(plan_invitations(_policy(), _snapshot(), [book])) == 1


def test_hostile_titles_stay_inside_their_property() -> None:
    ev = _booked()
    assert ev.tag is not None
    hostile = Event(**{**ev.__dict__, "title": "x\r\nATTENDEE:mailto:evil@x.com\r\nEND:VEVENT"})
    (mail,) = plan_invitations(
        _policy(), _snapshot(hostile), [Cancel(key=ev.tag.key, event_id=ev.id, reason="r")]
    )
    cal, _ = _both_parsers(imip_calendar(mail.context["imip"], NOW).decode())
    (out,) = list(cal.walk("VEVENT"))
    emails = {str(a).lower() for a in out.get("ATTENDEE")}
    assert "mailto:evil@x.com" not in emails


# --- applying a rep's REPLY to the manager's copy ----------------------------------------


def _manager_copy(sequence: int = 0) -> icalendar.Calendar:
    fields = {
        "method": "REQUEST",
        "uid": "abc123",
        "sequence": sequence,
        "start": "2026-12-03T10:00:00-06:00",
        "end": "2026-12-03T10:30:00-06:00",
        "timezone": "America/Chicago",
        "summary": "1:1",
        "organizer": {"email": MANAGER, "name": "Dana"},
        "attendees": [{"email": "sam@acme-demo.com", "name": "Sam"}],
    }
    cal = icalendar.Calendar.from_ical(imip_calendar(fields, NOW))
    del cal["METHOD"]
    return cal


def _reply(who: str, partstat: str, sequence: int = 0, uid: str = "abc123") -> icalendar.Calendar:
    fields = {
        "method": "REPLY",
        "uid": uid,
        "sequence": sequence,
        "start": "2026-12-03T10:00:00-06:00",
        "end": "2026-12-03T10:30:00-06:00",
        "timezone": "America/Chicago",
        "summary": "1:1",
        "organizer": {"email": MANAGER, "name": ""},
        "attendee": {"email": who, "name": ""},
        "partstat": partstat,
    }
    return icalendar.Calendar.from_ical(imip_calendar(fields, NOW))


def _partstat(cal: icalendar.Calendar, who: str) -> str:
    (ev,) = list(cal.walk("VEVENT"))
    (att,) = [a for a in ev["ATTENDEE"] if str(a).lower() == f"mailto:{who}"]
    return str(att.params["PARTSTAT"])


def test_a_reps_reply_updates_only_their_partstat() -> None:
    cal = _manager_copy()
    assert apply_reply(cal, _reply("sam@acme-demo.com", "ACCEPTED"), "Sam@acme-demo.com")
    assert _partstat(cal, "sam@acme-demo.com") == "ACCEPTED"
    assert _partstat(cal, MANAGER) == "ACCEPTED"
    assert not apply_reply(cal, _reply("sam@acme-demo.com", "ACCEPTED"), "sam@acme-demo.com")
    assert apply_reply(cal, _reply("sam@acme-demo.com", "DECLINED"), "sam@acme-demo.com")
    assert _partstat(cal, "sam@acme-demo.com") == "DECLINED"


@pytest.mark.parametrize(
    ("reply", "sender", "why"),
    [
        (lambda: _reply("sam@acme-demo.com", "ACCEPTED"), "mallory@x.com", "came from"),
        (lambda: _reply("eve@acme-demo.com", "ACCEPTED"), "eve@acme-demo.com", "not invited"),
        (lambda: _reply("sam@acme-demo.com", "ACCEPTED", uid="zzz"), "sam@acme-demo.com", "UID"),
        (lambda: _reply("sam@acme-demo.com", "DELEGATED"), "sam@acme-demo.com", "not an answer"),
    ],
)
def test_hostile_or_wrong_replies_are_rejected(reply: Any, sender: str, why: str) -> None:
    cal = _manager_copy()
    with pytest.raises(ReplyRejected, match=why):
        apply_reply(cal, reply(), sender)
    assert _partstat(cal, "sam@acme-demo.com") == "NEEDS-ACTION"


def test_a_reply_to_an_older_version_changes_nothing() -> None:
    cal = _manager_copy(sequence=2)
    with pytest.raises(ReplyRejected, match="SEQUENCE"):
        apply_reply(cal, _reply("sam@acme-demo.com", "ACCEPTED", sequence=1), "sam@acme-demo.com")
    assert _partstat(cal, "sam@acme-demo.com") == "NEEDS-ACTION"
