"""The Inbox port: one contract, run against the Maildir adapter and against the IMAP adapter
talking to a real Dovecot on loopback (over TLS, by password and by XOAUTH2)."""

from __future__ import annotations

import imaplib
import mailbox
import os
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dovecot_server
import pytest

from integrations.errors import TransientError, UserError
from integrations.inbox.base import Inbox, SeenMessages
from integrations.inbox.imap import ImapInbox
from integrations.inbox.maildir import MaildirInbox
from planner.policy import ImapSettings

# Every message is delivered with this arrival time (Maildir: the file's mtime; IMAP: the
# INTERNALDATE of APPEND), so no test depends on the day it runs.
RECEIVED = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
SINCE = RECEIVED - timedelta(days=2)


def raw(mid: str, body: str = "decline 2\r\n", **headers: str) -> bytes:
    head = {
        "From": "Dana Reyes <Dana@Acme.com>",
        "To": "coachd@acme.com",
        "Subject": "Re: Triage digest",
        "Message-ID": mid,
        "In-Reply-To": "<coachd.abc@acme.com>",
        "References": "<coachd.old@acme.com> <coachd.abc@acme.com>",
        "Date": "Wed, 02 Dec 2026 09:00:00 -0600",
        "Content-Type": 'text/plain; charset="utf-8"',
        **headers,
    }
    lines = [f"{k}: {v}" for k, v in head.items() if v]
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


REPLY_ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nMETHOD:REPLY\r\n"
    "BEGIN:VEVENT\r\nUID:abc123\r\nDTSTAMP:20261202T150000Z\r\nSEQUENCE:0\r\n"
    "ATTENDEE;PARTSTAT=DECLINED:mailto:alex@acme.com\r\nCOMMENT:Désolé\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)


def reply_with_calendar(mid: str, ics: str = REPLY_ICS, charset: str = "iso-8859-1") -> bytes:
    """A rep's answer as calendar clients send it: text, the REPLY as an alternative (base64,
    a non-UTF-8 charset) and the same .ics again as an attachment."""
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"] = "Alex Kim <Alex@Acme.com>"
    msg["To"] = "dana@acme.com"
    msg["Subject"] = "Declined: One-on-one"
    msg["Message-ID"] = mid
    msg.set_content("Sorry, I cannot make it.\n")
    cal = EmailMessage()
    cal.set_content(ics.encode(charset), maintype="text", subtype="calendar")
    cal.set_param("method", "REPLY")
    cal.set_param("charset", charset)
    msg.make_alternative()
    msg.attach(cal)
    attached = EmailMessage()
    attached.set_content(
        ics.encode(charset), maintype="application", subtype="ics", filename="invite.ics"
    )
    attached.set_param("charset", charset)
    msg.make_mixed()
    msg.attach(attached)
    return msg.as_bytes()


@dataclass
class Box:
    inbox: Inbox
    deliver: Callable[..., None]  # (raw, received=RECEIVED)


@pytest.fixture(scope="module")
def dovecot() -> Iterator[dovecot_server.Dovecot]:
    if not dovecot_server.available():
        pytest.skip("dovecot is not installed (.ci/run installs dovecot-imapd)")
    with dovecot_server.running() as server:
        yield server


def _imap_deliver(server: dovecot_server.Dovecot) -> Callable[..., None]:
    def deliver(message: bytes, received: datetime = RECEIVED) -> None:
        ctx = ssl.create_default_context(cafile=str(server.cafile))
        with imaplib.IMAP4_SSL("127.0.0.1", server.port, ssl_context=ctx) as c:
            c.login(dovecot_server.USER, dovecot_server.PASSWORD)
            when = imaplib.Time2Internaldate(received)
            status, _ = c.append("INBOX", None, when, message)
            assert status == "OK"

    return deliver


def _maildir_deliver(folder: Path) -> Callable[..., None]:
    md = mailbox.Maildir(folder, create=True)

    def deliver(message: bytes, received: datetime = RECEIVED) -> None:
        key = md.add(message)
        ts = received.timestamp()
        os.utime(folder / "new" / key, (ts, ts))

    return deliver


def _clear_imap(server: dovecot_server.Dovecot) -> None:
    ctx = ssl.create_default_context(cafile=str(server.cafile))
    with imaplib.IMAP4_SSL("127.0.0.1", server.port, ssl_context=ctx) as c:
        c.login(dovecot_server.USER, dovecot_server.PASSWORD)
        _, data = c.select("INBOX")
        if int(data[0] or 0):
            c.store("1:*", "+FLAGS", "\\Deleted")
            c.expunge()


def imap_inbox(server: dovecot_server.Dovecot, **kw: object) -> ImapInbox:
    args: dict[str, object] = {
        "host": "127.0.0.1",
        "port": server.port,
        "username": dovecot_server.USER,
        "password": dovecot_server.PASSWORD,
        "ssl_context": ssl.create_default_context(cafile=str(server.cafile)),
        "timeout": 10.0,
    }
    args.update(kw)
    return ImapInbox(**args)  # type: ignore[arg-type]


@pytest.fixture(params=["maildir", "imap-password", "imap-xoauth2"])
def box(request: pytest.FixtureRequest, tmp_path: Path) -> Box:
    if request.param == "maildir":
        folder = tmp_path / "inbox"
        return Box(MaildirInbox(folder), _maildir_deliver(folder))
    server = request.getfixturevalue("dovecot")
    _clear_imap(server)
    if request.param == "imap-xoauth2":
        inbox = imap_inbox(server, password=None, oauth2_token=dovecot_server.TOKEN)
    else:
        inbox = imap_inbox(server)
    return Box(inbox, _imap_deliver(server))


# --- the contract ----------------------------------------------------------------------


def test_lists_what_was_delivered_with_sender_refs_and_text(box: Box) -> None:
    box.deliver(raw("<m1@mail.acme.com>"))
    box.deliver(raw("<m2@mail.acme.com>", body="keep 1\r\n"))
    read = box.inbox.read(SINCE)
    assert read.warnings == []
    by_id = {m.message_id: m for m in read.messages}
    assert set(by_id) == {"<m1@mail.acme.com>", "<m2@mail.acme.com>"}
    m1 = by_id["<m1@mail.acme.com>"]
    assert m1.sender == "dana@acme.com" and m1.subject == "Re: Triage digest"
    assert m1.refs == ("<coachd.abc@acme.com>", "<coachd.old@acme.com>")
    assert m1.text.strip() == "decline 2"
    assert m1.date == datetime(2026, 12, 2, 15, 0, tzinfo=UTC)


def test_mail_received_before_since_is_not_listed(box: Box) -> None:
    box.deliver(raw("<old@mail.acme.com>"), received=SINCE - timedelta(days=5))
    box.deliver(raw("<new@mail.acme.com>"))
    assert [m.message_id for m in box.inbox.read(SINCE).messages] == ["<new@mail.acme.com>"]


def test_listing_changes_nothing_so_a_second_listing_is_the_same(box: Box) -> None:
    box.deliver(raw("<m1@mail.acme.com>"))
    first = [m.message_id for m in box.inbox.read(SINCE).messages]
    second = [m.message_id for m in box.inbox.read(SINCE).messages]
    assert first == second == ["<m1@mail.acme.com>"]


def test_a_malformed_message_is_skipped_with_a_warning(box: Box) -> None:
    box.deliver(raw("", body="no id\r\n"))  # no Message-ID
    box.deliver(raw("<ok@mail.acme.com>"))
    read = box.inbox.read(SINCE)
    assert [m.message_id for m in read.messages] == ["<ok@mail.acme.com>"]
    assert len(read.warnings) == 1 and "no Message-ID" in read.warnings[0]


def test_html_only_replies_lose_tags_and_quoted_text(box: Box) -> None:
    html = (
        "<div>decline 1<br>keep 2</div><blockquote>decline all</blockquote>"
        '<div class="gmail_quote">On Mon Dana wrote: decline 3</div>'
    )
    box.deliver(raw("<h@mail.acme.com>", body=html, **{"Content-Type": "text/html"}))
    [m] = box.inbox.read(SINCE).messages
    assert [line.strip() for line in m.text.splitlines() if line.strip()] == [
        "decline 1",
        "keep 2",
    ]


def test_calendar_parts_are_carried_decoded(box: Box) -> None:
    box.deliver(reply_with_calendar("<cal@mail.acme.com>"))
    [m] = box.inbox.read(SINCE).messages
    assert m.text.strip() == "Sorry, I cannot make it."
    [part] = m.calendar  # the identical .ics attachment is carried once
    assert "METHOD:REPLY" in part and "COMMENT:Désolé" in part


# --- adapter specifics -----------------------------------------------------------------


def test_a_missing_maildir_means_no_mail_yet(tmp_path: Path) -> None:
    read = MaildirInbox(tmp_path / "nope").read(SINCE)
    assert read.messages == [] and read.warnings == []


def test_imap_wrong_password_or_token_is_transient_and_never_shows_the_secret(
    dovecot: dovecot_server.Dovecot,
) -> None:
    with pytest.raises(TransientError) as e:
        imap_inbox(dovecot, password="not-the-password").read(SINCE)
    assert "not-the-password" not in str(e.value)
    with pytest.raises(TransientError):
        imap_inbox(dovecot, password=None, oauth2_token="wrong-token").read(SINCE)
    inbox = imap_inbox(dovecot, password="s3cret-value")
    assert "s3cret-value" not in repr(inbox)


def test_imap_refuses_an_untrusted_certificate(dovecot: dovecot_server.Dovecot) -> None:
    with pytest.raises(TransientError, match=r"CERTIFICATE_VERIFY_FAILED|certificate"):
        imap_inbox(dovecot, ssl_context=ssl.create_default_context()).read(SINCE)


def test_imap_nobody_listening_is_transient() -> None:
    with pytest.raises(TransientError, match="cannot connect"):
        port = dovecot_server.free_port()
        ImapInbox(host="127.0.0.1", port=port, username="u", password="p").read(SINCE)


def test_imap_settings_take_credentials_from_the_environment(tmp_path: Path) -> None:
    env = {"COACHD_IMAP_USERNAME": "u@acme.com", "COACHD_IMAP_OAUTH2_TOKEN": "tok"}
    inbox = ImapInbox.from_settings(ImapSettings(auth="xoauth2"), tmp_path, env)
    assert inbox.username == "u@acme.com" and "xoauth2" in repr(inbox)
    with pytest.raises(UserError, match="no password or oauth2_token"):
        ImapInbox.from_settings(ImapSettings(username="u@acme.com"), tmp_path, {})


def test_seen_messages_are_remembered_per_namespace_and_pruned() -> None:
    kv: dict[str, object] = {}

    class Store:
        def get(self, key: str, default: object = None) -> object:
            return kv.get(key, default)

        def put(self, key: str, value: object) -> None:
            kv[key] = value

    now = datetime(2026, 12, 2, tzinfo=UTC)
    replies = SeenMessages(Store(), "replies", keep=timedelta(days=10))
    replies.add(["<a@x>"], now)
    assert replies.seen() == {"<a@x>"}
    assert SeenMessages(Store(), "records").seen() == set()
    replies.add(["<b@x>"], now + timedelta(days=11))
    assert replies.seen() == {"<b@x>"}
