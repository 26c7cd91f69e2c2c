"""The coaching record by mail, end to end on the demo: a rep's reply with two topics shows on
their next agenda, the manager's reply ticks an item (it leaves the next agenda) and adds one
that is overdue by then; hostile mail changes nothing. Through the Maildir inbox (the default)
and through a real Dovecot IMAP server on loopback."""

from __future__ import annotations

import email
import imaplib
import mailbox
import ssl
from collections.abc import Callable, Iterator
from datetime import date, datetime
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from zoneinfo import ZoneInfo

import dovecot_server
import pytest
import time_machine
import yaml

from daemon import main
from integrations.commands.demo import write_demo

TZ = ZoneInfo("America/Chicago")
MANAGER = "dana.reyes@acme-demo.com"
JORDAN = "jordan.miles@acme-demo.com"
SAM = "sam.ortiz@acme-demo.com"


@pytest.fixture(scope="module")
def dovecot() -> Iterator[dovecot_server.Dovecot]:
    if not dovecot_server.available():
        pytest.skip("dovecot is not installed (.ci/run installs dovecot-imapd)")
    with dovecot_server.running() as server:
        yield server


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


def _text(msg: EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def _agenda(outbox: Path, key: str) -> EmailMessage:
    return next(m for m in _sent(outbox) if str(m["X-Coachd-Key"]).strip() == key)


def _mail(sender: str, subject: str, body: str, mid: str, answers: str = "") -> EmailMessage:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = "coachd@acme-demo.com"
    m["Subject"] = subject
    m["Message-ID"] = mid
    m["Date"] = "Mon, 30 Nov 2026 06:30:00 -0600"
    if answers:
        m["In-Reply-To"] = answers
        m["References"] = answers
    m.set_content(body)
    return m


Deliver = Callable[[EmailMessage | bytes], None]


def _setup(tmp_path: Path, kind: str, request: pytest.FixtureRequest) -> tuple[Path, Deliver]:
    write_demo(tmp_path, date(2026, 11, 30))
    cfg = tmp_path / "config.yaml"
    if kind == "maildir":
        box = mailbox.Maildir(tmp_path / "inbox", create=True)

        def deliver(m: EmailMessage | bytes) -> None:
            box.add(m if isinstance(m, bytes) else m.as_bytes())

        return cfg, deliver
    server: dovecot_server.Dovecot = request.getfixturevalue("dovecot")
    ctx = ssl.create_default_context(cafile=str(server.cafile))
    with imaplib.IMAP4_SSL("127.0.0.1", server.port, ssl_context=ctx) as c:
        c.login(dovecot_server.USER, dovecot_server.PASSWORD)
        _, data = c.select("INBOX")
        if int(data[0] or 0):
            c.store("1:*", "+FLAGS", "\\Deleted")
            c.expunge()
    conf = yaml.safe_load(cfg.read_text())
    conf["inbox"] = {
        "type": "imap",
        "imap": {
            "host": "127.0.0.1",
            "port": server.port,
            "username": dovecot_server.USER,
            "password": dovecot_server.PASSWORD,
            "cafile": str(server.cafile),
        },
    }
    cfg.write_text(yaml.safe_dump(conf, sort_keys=False))

    def deliver_imap(m: EmailMessage | bytes) -> None:
        raw = m if isinstance(m, bytes) else m.as_bytes()
        with imaplib.IMAP4_SSL("127.0.0.1", server.port, ssl_context=ctx) as c:
            c.login(dovecot_server.USER, dovecot_server.PASSWORD)
            when = imaplib.Time2Internaldate(datetime(2026, 11, 30, 12, 30, tzinfo=TZ))
            assert c.append("INBOX", None, when, raw)[0] == "OK"

    return cfg, deliver_imap


@pytest.mark.parametrize("kind", ["maildir", "imap"])
def test_replies_land_on_the_next_agenda(
    tmp_path: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    cfg, deliver = _setup(tmp_path, kind, request)
    outbox = tmp_path / "outbox"
    _once(cfg, datetime(2026, 11, 30, 6, 0, tzinfo=TZ))
    first = _agenda(outbox, f"agenda:one_on_one:{JORDAN}:2026-W49")
    agenda_id = str(first["Message-ID"])
    record = tmp_path / "records" / f"{JORDAN}.md"
    assert "Agree a 30-day plan" in record.read_text()

    deliver(
        _mail(
            f"Jordan Miles <{JORDAN}>",
            "Re: " + str(first["Subject"]),
            "Hi Dana, two things:\n- Territory split with Sam\n- Help with the Q1 forecast\n\n"
            "Thanks\nJordan\n\n> " + "\n> ".join(_text(first).splitlines()),
            "<jordan-1@acme-demo.com>",
            agenda_id,
        )
    )
    deliver(
        _mail(
            MANAGER,
            "Re: " + str(first["Subject"]),
            "[x] Agree a 30-day plan\n"
            "- [ ] Send Jordan the call planning sheet (owner: manager, due: 2026-11-30)\n"
            "note: Jordan wants more call reviews\n",
            "<dana-1@acme-demo.com>",
            agenda_id,
        )
    )
    # hostile or foreign mail: a spoofed manager, a rep about another rep, HTML-only with
    # bidi tricks, a huge body, an attachment
    deliver(_mail(f"Dana <{MANAGER}.evil.test>", "Re: x", "[x] Block two", "<s1@evil>", agenda_id))
    deliver(_mail(SAM, "Re: x", "- Jordan should go", "<s2@acme-demo.com>", agenda_id))
    html = EmailMessage()
    html["From"] = JORDAN
    html["To"] = "coachd@acme-demo.com"
    html["Subject"] = "topics"
    html["Message-ID"] = "<jordan-html@acme-demo.com>"
    html.set_content(
        "<p>- Pricing \u202egnp.live\u202c objections<script>alert(1)</script></p>", subtype="html"
    )
    deliver(html)
    deliver(_mail(JORDAN, "big", "- huge\n" + "x" * 3_000_000, "<jordan-big@acme-demo.com>"))
    att = _mail(JORDAN, "file", "- Deal review for Acme\n", "<jordan-att@acme-demo.com>")
    att.add_attachment(b"- [x] fake line in a binary\n" * 10, maintype="application", subtype="pdf")
    deliver(att)

    _once(cfg, datetime(2026, 11, 30, 7, 0, tzinfo=TZ))
    text = record.read_text()
    assert "- [ ] Territory split with Sam (from: rep, added: 2026-11-30)" in text
    assert "- [ ] Help with the Q1 forecast" in text
    assert "- [x] Agree a 30-day plan to get back to 15 conversations a week" in text
    assert "Send Jordan the call planning sheet (owner: manager, due: 2026-11-30)" in text
    assert "(manager, by mail): Jordan wants more call reviews" in text
    assert "Deal review for Acme" in text and "fake line" not in text
    assert "Jordan should go" not in text and "huge" not in text
    assert "\u202e" not in text and "<script" not in text
    assert "- [ ] Pricing" in text  # the HTML-only mail, read from its text
    # the second tick handles nothing twice
    _once(cfg, datetime(2026, 11, 30, 8, 0, tzinfo=TZ))
    assert record.read_text().count("Territory split with Sam") == 1

    # the next agenda (for 8 Dec, sent on 1 Dec) carries it all
    _once(cfg, datetime(2026, 12, 1, 10, 0, tzinfo=TZ))
    nxt = _text(_agenda(outbox, f"agenda:one_on_one:{JORDAN}:2026-W50"))
    assert "Territory split with Sam" in nxt and "Help with the Q1 forecast" in nxt
    assert "Agree a 30-day plan" not in nxt
    assert "[ ] OVERDUE Send Jordan the call planning sheet (manager, due Mon 30 Nov 2026)" in nxt
    assert "Block two 90-minute call sessions a day" in nxt
    # nobody else was answered; the unreadable mails were not answered either
    answers = [m for m in _sent(outbox) if str(m["X-Coachd-Key"]).startswith("record_reply:")]
    assert answers == []
