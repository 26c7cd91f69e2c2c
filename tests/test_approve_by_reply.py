"""Approve by reply, end to end on the local default: the digest numbers the flags, the
manager replies `decline N` into the inbox Maildir, the next tick declines that meeting in
the calendar, tells its organizer, confirms to the manager, and handles the reply only once.
A reply from anyone else changes nothing."""

from __future__ import annotations

import email
import mailbox
import re
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import icalendar
import time_machine

from daemon import main
from integrations.config_file import load_policy


def _once(cfg: Path, at: datetime) -> None:
    with time_machine.travel(at, tick=False):
        assert main(["once", "--config", str(cfg)]) == 0


def _sent(outbox: Path) -> list[EmailMessage]:
    out = []
    for m in mailbox.Maildir(outbox, create=False):
        parsed = email.message_from_bytes(m.as_bytes(), policy=default)
        assert isinstance(parsed, EmailMessage)
        out.append(parsed)
    return out


def _kind(msg: EmailMessage) -> str:
    return str(msg["X-Coachd-Key"]).strip().split(":", 1)[0]


def _reply(inbox: Path, sender: str, digest: EmailMessage, body: str, mid: str) -> None:
    reply = EmailMessage()
    reply["From"] = sender
    reply["To"] = str(digest["From"])
    reply["Subject"] = "Re: " + str(digest["Subject"])
    reply["Message-ID"] = mid
    reply["In-Reply-To"] = str(digest["Message-ID"])
    reply["References"] = str(digest["Message-ID"])
    reply.set_content(body + "\n\n> " + "\n> ".join(_text(digest).splitlines()))
    mailbox.Maildir(inbox, create=True).add(reply)


def _text(msg: EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def _partstat(calendar: Path, manager: str, title: str) -> str:
    for f in (calendar / manager).glob("*.ics"):
        for ev in icalendar.Calendar.from_ical(f.read_bytes()).walk("VEVENT"):
            if str(ev.get("SUMMARY")) == title:
                for a in ev.get("ATTENDEE") or []:
                    if str(a).lower().removeprefix("mailto:") == manager:
                        return str(a.params.get("PARTSTAT", "NEEDS-ACTION"))
    raise AssertionError(f"{title!r} not found")


def test_decline_by_reply(demo: Path, pinned_now: datetime) -> None:
    cfg = demo / "config.yaml"
    policy = load_policy(cfg).policy
    manager = policy.manager.email
    outbox, inbox = demo / "outbox", demo / "inbox"
    _once(cfg, pinned_now)  # flags the planted meetings (flag mode)
    evening = pinned_now.replace(hour=17, minute=5)
    _once(cfg, evening)  # the digest is due at 17:00
    [digest] = [m for m in _sent(outbox) if _kind(m) == "digest"]
    text = _text(digest)
    [number] = re.findall(r"^\[(\d+)\] .*\"Parking badge update\"", text, re.M)
    assert _partstat(demo / "calendar", manager, "Parking badge update") == "NEEDS-ACTION"

    # Someone else answers first: nothing happens, and nobody is answered.
    _reply(inbox, "mallory@evil.example", digest, "decline all", "<evil@evil.example>")
    _once(cfg, evening + timedelta(minutes=10))
    assert _partstat(demo / "calendar", manager, "Parking badge update") == "NEEDS-ACTION"
    assert not [m for m in _sent(outbox) if _kind(m) == "reply_confirmation"]

    # The manager answers; the quoted digest below the command is not read as commands.
    _reply(inbox, f"Dana <{manager}>", digest, f"decline {number}", "<r1@mail.example>")
    _once(cfg, evening + timedelta(minutes=20))
    assert _partstat(demo / "calendar", manager, "Parking badge update") == "DECLINED"
    confirmations = [m for m in _sent(outbox) if _kind(m) == "reply_confirmation"]
    [confirmation] = confirmations
    assert f"[{number}]" in _text(confirmation) and "declined" in _text(confirmation)
    replies = [m for m in _sent(outbox) if _kind(m) == "decline_reply"]
    assert [str(m["To"]) for m in replies] == ["facilities@acme-demo.com"]
    others = [
        t
        for t in ("Benefits enrollment webinar", "Quarterly all-hands survey review")
        if _partstat(demo / "calendar", manager, t) == "DECLINED"
    ]
    assert others == []  # only the meeting named in the reply

    # The reply is handled once: the next tick sends no second confirmation.
    _once(cfg, evening + timedelta(minutes=30))
    assert len([m for m in _sent(outbox) if _kind(m) == "reply_confirmation"]) == 1
