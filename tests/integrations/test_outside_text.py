"""Outside text is shown, never obeyed (issue #17, point 8): in every email kind, every string
of the context poisoned with line breaks, bidi controls and a fake header reaches neither a
header nor a body raw; the digest goes through a real aiosmtpd-free path (build + parse)."""

from __future__ import annotations

import email
import unicodedata
from datetime import datetime, timedelta
from email.policy import default
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from integrations.mail.message import compose
from integrations.mail.render import ONE_LINE_KEYS, Renderer, default_samples
from planner.contexts import digest_context
from planner.model import Decision
from planner.policy import Policy

TZ = ZoneInfo("America/Chicago")
POISON = "\r\nBcc: everyone@acme.com\u2028\u2029\u202egpj.exe\u200b\x00\x1b[31m\x85"
# Fields that may hold several lines (a description, the manager's own message) keep their
# line breaks; everything invisible or unsafe goes from them too.
INVISIBLE = "\u2028\u202egpj.exe\u200b\x00\x1b[31m\x85"
NOW = datetime(2026, 12, 2, 17, 0, tzinfo=TZ)


def poisoned(value: Any, key: str = "") -> Any:
    if isinstance(value, str):
        return value + (POISON if key in ONE_LINE_KEYS else INVISIBLE)
    if isinstance(value, dict):
        return {k: poisoned(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [poisoned(v, key) for v in value]
    return value


def unsafe(text: str) -> list[str]:
    return [
        f"U+{ord(c):04X}"
        for c in text
        if c not in "\n\t" and unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")
    ]


KINDS = sorted(Renderer().kinds())


@pytest.mark.parametrize("kind", KINDS)
def test_no_kind_lets_outside_text_break_a_line_or_reverse_text(kind: str) -> None:
    ctx = default_samples([kind])[kind]
    out = Renderer().render(kind, poisoned(dict(ctx)))
    for part in (out.subject, out.text, out.html):
        assert unsafe(part) == []
        assert "\nBcc:" not in part
    assert "\n" not in out.subject


def test_digest_with_hostile_titles_reads_as_one_line_per_meeting() -> None:
    policy = Policy.model_validate(
        {
            "manager": {"name": "Dana", "email": "dana@acme.com", "timezone": str(TZ)},
            "team": [],
        }
    )
    d = Decision(
        event_id="e1",
        fingerprint="f",
        action="flag",
        rule="r",
        reason="rule 'r' matched the title word 'lunch'",
        decided_at=NOW - timedelta(hours=3),
        title="Lunch" + POISON + "<img src=x onerror=alert(1)>" + "x" * 500,
        organizer="ops@vendor.io\r\nX-Evil: 1",
        start=NOW + timedelta(days=1),
    )
    ctx = digest_context(policy, [d], NOW - timedelta(days=1), NOW)
    rendered = Renderer().render("digest", ctx)
    msg = compose(
        sender="coachd@acme.com",
        manager="dana@acme.com",
        key="digest:2026-12-02",
        to=["dana@acme.com"],
        rendered=rendered,
        date=NOW,
    )
    parsed = email.message_from_bytes(msg.as_bytes(), policy=default)
    assert parsed["Bcc"] is None and parsed["X-Evil"] is None
    text = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = parsed.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert not [line for line in text.splitlines() if line.startswith(("Bcc:", "X-Evil"))]
    assert unsafe(text) == [] and unsafe(html) == []
    assert "gpj.exe" in text  # shown, in the order it was written
    assert "<img" not in html and "&lt;img" in html
    longest = max(len(line) for line in text.splitlines())
    assert longest < 400  # the 500-character title was cut
