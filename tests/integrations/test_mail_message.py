"""build_message and the Maildir transport: headers, parts, validation, no duplicates."""

from __future__ import annotations

import email
import mailbox
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest

from integrations.mail.maildir import MaildirMailer
from integrations.mail.message import build_message, compose, parse_address
from integrations.mail.render import Rendered, Renderer
from planner.email_kinds import sample_context
from planner.ids import message_id

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
MID = message_id("dana@example.com", "digest:2026-11-30", "example.com")


def rendered(subject: str = "Hello") -> Rendered:
    return Rendered(subject=subject, text="plain text part\n", html="<p>html part</p>\n")


def build(**kw: object) -> EmailMessage:
    args: dict[str, object] = {
        "sender": "coachd <coachd@example.com>",
        "to": ["dana@example.com"],
        "rendered": rendered(),
        "message_id": MID,
        "date": NOW,
    }
    args.update(kw)
    return build_message(**args)  # type: ignore[arg-type]


def test_message_is_multipart_alternative_text_then_html() -> None:
    msg = build(cc=["alex@example.com"], key="digest:2026-11-30")
    parsed = email.message_from_bytes(bytes(msg), policy=default)
    assert parsed.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in parsed.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    assert parsed["To"] == "dana@example.com"
    assert parsed["Cc"] == "alex@example.com"
    assert parsed["Message-ID"] == MID
    assert parsed["X-Coachd-Key"] == "digest:2026-11-30"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["Date"] == "Mon, 30 Nov 2026 14:00:00 +0000"


def test_message_id_is_deterministic_per_key() -> None:
    r = rendered()
    a = compose(
        sender="coachd@example.com",
        manager="dana@example.com",
        key="k1",
        to=["d@example.com"],
        rendered=r,
        date=NOW,
    )
    b = compose(
        sender="coachd@example.com",
        manager="dana@example.com",
        key="k1",
        to=["d@example.com"],
        rendered=r,
        date=NOW,
    )
    c = compose(
        sender="coachd@example.com",
        manager="dana@example.com",
        key="k2",
        to=["d@example.com"],
        rendered=r,
        date=NOW,
    )
    assert a["Message-ID"] == b["Message-ID"] != c["Message-ID"]
    assert a["Message-ID"].endswith("@example.com>")


@pytest.mark.parametrize(
    "bad",
    [
        "not-an-address",
        "dana@example.com\r\nBcc: evil@example.com",
        "dana@example.com, evil@example.com",
        "Dana <dana@example.com> evil@example.com",
        "dana@@example.com",
        "dana@example.com\u2028",
        "",
    ],
)
def test_bad_addresses_are_refused_by_name(bad: str) -> None:
    with pytest.raises(ValueError) as e:
        build(to=["ok@example.com", bad])
    assert repr(bad) in str(e.value)


def test_display_names_are_accepted() -> None:
    a = parse_address('"Rivera, Alex" <alex@example.com>')
    assert (a.display_name, a.addr_spec) == ("Rivera, Alex", "alex@example.com")
    assert parse_address("Dana W <dana@example.com>").display_name == "Dana W"


def test_header_values_cannot_inject_headers() -> None:
    msg = build(
        rendered=rendered("Hi\r\nBcc: evil@example.com\u2028X-Evil: 1\x00"),
        key="agenda:x\r\nBcc: evil@example.com",
        headers={"X-Note": "a\nb"},
    )
    raw = bytes(msg)
    parsed = email.message_from_bytes(raw, policy=default)
    assert parsed["Bcc"] is None and parsed["X-Evil"] is None
    assert "\r\nBcc:" not in raw.decode("ascii", "replace")
    assert parsed["Subject"] == "Hi Bcc: evil@example.com X-Evil: 1"
    assert parsed["X-Note"] == "a b"


def test_reserved_and_invalid_header_names_are_refused() -> None:
    with pytest.raises(ValueError):
        build(headers={"Bcc": "evil@example.com"})
    with pytest.raises(ValueError):
        build(headers={"X-Bad\r\nBcc": "x"})


def test_naive_date_and_no_recipient_are_refused() -> None:
    with pytest.raises(ValueError):
        build(date=datetime(2026, 11, 30, 14))
    with pytest.raises(ValueError):
        build(to=[])


# -- Maildir ----------------------------------------------------------------------------------


def test_maildir_round_trip_and_no_duplicate_on_resend(tmp_path: Path) -> None:
    out = Renderer().render("digest", sample_context("digest"))
    box_path = tmp_path / "outbox"
    msg = build(rendered=out, key="digest:2026-11-30")
    MaildirMailer(box_path).send(msg)
    for sub in ("tmp", "new", "cur"):
        assert (box_path / sub).is_dir()
    # A fresh mailer (a restart) sees the Message-ID already there and does not add it again.
    MaildirMailer(box_path).send(build(rendered=out, key="digest:2026-11-30"))
    mailer = MaildirMailer(box_path)
    mailer.send(msg)
    box = mailbox.Maildir(box_path, create=False)
    assert len(box) == 1
    [stored] = list(box)
    parsed = email.message_from_bytes(stored.as_bytes(), policy=default)
    assert parsed["Message-ID"] == MID
    assert parsed["Subject"] == out.subject
    text = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = parsed.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Parking garage renovation update" in text and "Parking garage renovation update" in html
    # A different email still goes in.
    other = message_id("dana@example.com", "digest:2026-12-01", "example.com")
    mailer.send(build(rendered=out, message_id=other))
    assert len(mailbox.Maildir(box_path, create=False)) == 2
    assert mailer.contains(other) and mailer.contains(MID)


def test_maildir_sees_messages_a_reader_moved_to_cur(tmp_path: Path) -> None:
    box_path = tmp_path / "outbox"
    MaildirMailer(box_path).send(build())
    for f in (box_path / "new").iterdir():
        f.rename(box_path / "cur" / (f.name + ":2,S"))
    MaildirMailer(box_path).send(build())
    assert len(mailbox.Maildir(box_path, create=False)) == 1
