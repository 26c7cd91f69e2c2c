"""Reps' calendar answers, end to end on the local default: `once` books a one-on-one and
emails the rep an iMIP invitation; the rep's `METHOD:REPLY` with PARTSTAT=DECLINED arrives in
the inbox (a Maildir, and once through a real Dovecot over IMAP); the next `once` records it
on the manager's copy and the lifecycle re-books the one-on-one at another time. A reply from
a spoofed sender changes nothing; a replayed message is not handled again."""

from __future__ import annotations

import email
import imaplib
import mailbox
import ssl
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import dovecot_server
import icalendar
import pytest
import time_machine

from daemon import main
from integrations.config_file import load_policy
from integrations.imip.inbound import IMIP
from integrations.inbox.base import SeenMessages
from integrations.store.state import StateStore
from tests.pinning import PINNED

REP = "jordan.miles@acme-demo.com"


def _once(cfg: Path, at: datetime) -> None:
    with time_machine.travel(at, tick=False):
        assert main(["--log-level", "INFO", "once", "--config", str(cfg)]) == 0


def _sent(outbox: Path) -> list[EmailMessage]:
    out = []
    for m in mailbox.Maildir(outbox, create=False):
        parsed = email.message_from_bytes(m.as_bytes(), policy=default)
        assert isinstance(parsed, EmailMessage)
        out.append(parsed)
    return out


def _key(msg: EmailMessage) -> str:
    return str(msg["X-Coachd-Key"]).strip()


def _ics(msg: EmailMessage) -> icalendar.Calendar:
    [part] = [p for p in msg.walk() if p.get_content_type() == "text/calendar"]
    cal = icalendar.Calendar.from_ical(part.get_content())
    assert isinstance(cal, icalendar.Calendar)
    return cal


def _one_on_one_invitations(outbox: Path) -> list[Any]:
    """The VEVENTs of the rep's one-on-one invitations sent so far (REQUESTs)."""
    out = []
    for msg in _sent(outbox):
        if _key(msg).startswith("invitation:") and f":one_on_one:{REP}:" in _key(msg):
            out.extend(_ics(msg).walk("VEVENT"))
    return out


def _cancellations(outbox: Path) -> list[str]:
    return [_key(m) for m in _sent(outbox) if _key(m).startswith("cancellation:")]


def _reply(invite: Any, sender: str, mid: str) -> bytes:
    """The rep's answer as a calendar client sends it: text plus a REPLY alternative."""
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Rep Client//EN\r\nMETHOD:REPLY\r\n"
        "BEGIN:VEVENT\r\n"
        f"UID:{invite['UID']}\r\n"
        f"SEQUENCE:{invite.get('SEQUENCE', 0)}\r\n"
        f"DTSTAMP:{invite['DTSTAMP'].to_ical().decode()}\r\n"
        f"DTSTART:{invite['DTSTART'].dt.astimezone(PINNED.tzinfo).strftime('%Y%m%dT%H%M%S')}\r\n"
        f"ORGANIZER:{invite['ORGANIZER']}\r\n"
        f"ATTENDEE;PARTSTAT=DECLINED;CN=Jordan Miles:mailto:{REP}\r\n"
        "COMMENT:Customer visit that morning\\, sorry.\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "dana.reyes@acme-demo.com"
    msg["Subject"] = f"Declined: {invite['SUMMARY']}"
    msg["Message-ID"] = mid
    msg.set_content("Jordan Miles has declined this invitation.\n")
    msg.add_alternative(ics, subtype="calendar", params={"method": "REPLY"})
    return msg.as_bytes()


def _maildir_deliver(folder: Path) -> Callable[[bytes], None]:
    def deliver(raw: bytes) -> None:
        mailbox.Maildir(folder, create=True).add(raw)

    return deliver


def _manager_copy(demo: Path, uid: str) -> Any | None:
    manager = load_policy(demo / "config.yaml").policy.manager.email
    for f in (demo / "calendar" / manager).glob("*.ics"):
        for ev in icalendar.Calendar.from_ical(f.read_bytes()).walk("VEVENT"):
            if str(ev["UID"]) == uid:
                return ev
    return None


def _partstat(ev: Any, who: str) -> str:
    attendees = ev.get("ATTENDEE")
    attendees = attendees if isinstance(attendees, list) else [attendees]
    [a] = [a for a in attendees if str(a).lower() == f"mailto:{who}"]
    return str(a.params.get("PARTSTAT", "NEEDS-ACTION"))


def _snapshot_files(demo: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted((demo / "calendar").rglob("*.ics"))}


@pytest.fixture(scope="module")
def dovecot() -> Iterator[dovecot_server.Dovecot]:
    if not dovecot_server.available():
        pytest.skip("dovecot is not installed (.ci/run installs dovecot-imapd)")
    with dovecot_server.running() as server:
        yield server


def _use_imap(demo: Path, server: dovecot_server.Dovecot) -> Callable[[bytes], None]:
    """Point the demo's inbox at Dovecot (empty) and return how to deliver to it."""
    cfg = demo / "config.yaml"
    text = cfg.read_text()
    old = "inbox:\n  type: maildir              # maildir, imap or none\n"
    assert old in text
    (demo / "ca.pem").write_bytes(server.cafile.read_bytes())
    new = (
        "inbox:\n  type: imap\n  imap:\n    host: 127.0.0.1\n    cafile: ca.pem\n"
        f"    port: {server.port}\n    username: {dovecot_server.USER}\n"
        f"    password: {dovecot_server.PASSWORD}\n"
    )
    cfg.write_text(text.replace(old, new))
    ctx = ssl.create_default_context(cafile=str(server.cafile))
    with imaplib.IMAP4_SSL("127.0.0.1", server.port, ssl_context=ctx) as c:
        c.login(dovecot_server.USER, dovecot_server.PASSWORD)
        _, data = c.select("INBOX")
        if int(data[0] or 0):
            c.store("1:*", "+FLAGS", "\\Deleted")
            c.expunge()

    def deliver(raw: bytes) -> None:
        with imaplib.IMAP4_SSL("127.0.0.1", server.port, ssl_context=ctx) as c:
            c.login(dovecot_server.USER, dovecot_server.PASSWORD)
            assert c.append("INBOX", None, imaplib.Time2Internaldate(PINNED), raw)[0] == "OK"

    return deliver


@pytest.mark.parametrize("transport", ["maildir", "imap"])
def test_a_reps_decline_by_email_rebooks_the_one_on_one(
    demo: Path,
    pinned_now: datetime,
    transport: str,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg, outbox = demo / "config.yaml", demo / "outbox"
    if transport == "imap":
        deliver = _use_imap(demo, request.getfixturevalue("dovecot"))
    else:
        deliver = _maildir_deliver(demo / "inbox")
    _once(cfg, pinned_now)
    before = _one_on_one_invitations(outbox)
    invite = min(before, key=lambda ev: ev["DTSTART"].dt)  # this week's
    uid = str(invite["UID"])
    declined_at = invite["DTSTART"].dt
    assert _partstat(_manager_copy(demo, uid), REP) == "NEEDS-ACTION"

    # Someone else answers for the rep: rejected, nothing changes, nothing is sent.
    deliver(_reply(invite, "Mallory <mallory@evil.example>", "<spoof@evil.example>"))
    files, sent = _snapshot_files(demo), len(_sent(outbox))
    capsys.readouterr()
    _once(cfg, pinned_now + timedelta(minutes=10))
    err = capsys.readouterr().err  # coachd's log
    assert "calendar reply rejected" in err and "but the email came from mallory" in err
    assert _snapshot_files(demo) == files
    assert len(_sent(outbox)) == sent
    assert _partstat(_manager_copy(demo, uid), REP) == "NEEDS-ACTION"

    # The rep declines: the answer is recorded and the lifecycle re-books at another time.
    deliver(_reply(invite, f"Jordan Miles <{REP}>", "<decline-1@mail.acme-demo.com>"))
    capsys.readouterr()
    _once(cfg, pinned_now + timedelta(minutes=20))
    assert "calendar reply recorded on the manager's copy" in capsys.readouterr().err
    assert _manager_copy(demo, uid) is None  # the declined one-on-one is removed...
    assert any(k.startswith(f"cancellation:{uid}:") for k in _cancellations(outbox))
    known = {str(ev["UID"]) for ev in before}
    [new] = [ev for ev in _one_on_one_invitations(outbox) if str(ev["UID"]) not in known]
    assert new["DTSTART"].dt != declined_at
    assert _partstat(_manager_copy(demo, str(new["UID"])), REP) == "NEEDS-ACTION"
    assert "<decline-1@mail.acme-demo.com>" in _seen(demo)

    # The same message again (a mail client's copy, a re-delivery): handled once only.
    deliver(_reply(invite, f"Jordan Miles <{REP}>", "<decline-1@mail.acme-demo.com>"))
    files, sent = _snapshot_files(demo), len(_sent(outbox))
    capsys.readouterr()
    _once(cfg, pinned_now + timedelta(minutes=30))
    assert "integrations.imip.inbound" not in capsys.readouterr().err
    assert _snapshot_files(demo) == files
    assert len(_sent(outbox)) == sent


def _seen(demo: Path) -> set[str]:
    path = demo / "state" / "coachd.json"
    with StateStore.open(path, readonly=True, now=PINNED) as store:
        return SeenMessages(store, IMIP).seen()


def test_an_unreachable_inbox_is_one_warning_and_the_tick_goes_on(
    demo: Path, pinned_now: datetime, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = demo / "config.yaml"
    port = dovecot_server.free_port()  # nobody listens there
    text = cfg.read_text().replace(
        "inbox:\n  type: maildir              # maildir, imap or none\n",
        f"inbox:\n  type: imap\n  imap:\n    host: 127.0.0.1\n    port: {port}\n"
        "    username: coachd@acme-demo.com\n    password: x\n    timeout: 5s\n",
    )
    cfg.write_text(text)
    _once(cfg, pinned_now)
    out = capsys.readouterr()
    assert "booked" in out.out
    assert out.err.count("the inbox was not read this tick") == 1
