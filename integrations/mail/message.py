"""Build one outgoing email from rendered parts: fresh, multipart/alternative, safe headers.

Every header value passes through `header_value` (control characters, CR, LF, U+2028/2029
and NUL removed) and every address is validated, so text from an invitation can never add a
header or a recipient. The Message-ID is deterministic per (manager, email key), which makes
a resend after a crash recognisable by any transport.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import default
from email.utils import format_datetime

from integrations.mail.render import UNSAFE_HEADER, Rendered, one_line
from planner.ids import message_id as make_message_id

KEY_HEADER = "X-Coachd-Key"
_ADDR = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")
# `Display Name <addr>`, the display name optionally quoted (no quotes or brackets inside).
_NAMED = re.compile(r'^(?:"([^"<>]*)"|([^"<>]*?))\s*<([^<>\s]+)>$')
_MSGID = re.compile(r"^<[^<>@\s]+@[^<>@\s]+>$")
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")  # RFC 5322 ftext: printable ASCII except ':'
# Headers build_message sets itself; `headers` may not replace them.
_RESERVED = {
    "from",
    "to",
    "cc",
    "bcc",
    "subject",
    "date",
    "message-id",
    "content-type",
    "content-transfer-encoding",
    "mime-version",
}


def header_value(value: str) -> str:
    """A header value that cannot break out of its header: one line, no control chars."""
    return one_line(value)


def parse_address(value: str) -> Address:
    """`name@example.com` or `Name <name@example.com>` -> Address; ValueError naming it."""
    if not isinstance(value, str) or UNSAFE_HEADER.search(value):
        raise ValueError(f"invalid email address {value!r}: contains control characters")
    m = _NAMED.match(value.strip())
    if m:
        name, addr = (m.group(1) or m.group(2) or "").strip(), m.group(3)
    else:
        name, addr = "", value.strip()
    if not _ADDR.match(addr) or ".." in addr:
        raise ValueError(f"invalid email address {value!r}")
    local, domain = addr.rsplit("@", 1)
    try:
        return Address(display_name=header_value(name), username=local, domain=domain)
    except (ValueError, IndexError) as e:
        raise ValueError(f"invalid email address {value!r}: {e}") from None


def build_message(
    *,
    sender: str,
    to: Sequence[str],
    cc: Sequence[str] = (),
    rendered: Rendered,
    message_id: str,
    date: datetime,
    headers: Mapping[str, str] | None = None,
    key: str | None = None,
) -> EmailMessage:
    """A new EmailMessage: text part then HTML part, with validated addresses.

    `key` (the email's unique key) goes into `X-Coachd-Key`; `headers` adds more (never the
    ones this function sets). Raises ValueError naming a bad address, header or Message-ID.
    """
    if not to:
        raise ValueError("an email needs at least one recipient")
    if date.tzinfo is None:
        raise ValueError("date must be timezone-aware")
    mid = header_value(message_id)
    if not _MSGID.match(mid):
        raise ValueError(f"invalid Message-ID {message_id!r} (expected <id@domain>)")
    from_addr = parse_address(sender)
    to_addrs = _unique([parse_address(a) for a in to])
    cc_addrs = [a for a in _unique([parse_address(a) for a in cc]) if a not in to_addrs]

    msg = EmailMessage(policy=default)
    msg["From"] = from_addr
    msg["To"] = to_addrs
    if cc_addrs:
        msg["Cc"] = cc_addrs
    msg["Subject"] = header_value(rendered.subject)
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = mid
    # Automated mail: tell servers and clients not to send vacation replies back (RFC 3834).
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    if key is not None:
        msg[KEY_HEADER] = header_value(key)
    for name, value in (headers or {}).items():
        if not _HEADER_NAME.match(name) or name.lower() in _RESERVED:
            raise ValueError(f"header {name!r} cannot be set here")
        del msg[name]
        msg[name] = header_value(value)
    msg.set_content(rendered.text)
    msg.add_alternative(rendered.html, subtype="html")
    return msg


def compose(
    *,
    sender: str,
    manager: str,
    key: str,
    to: Sequence[str],
    cc: Sequence[str] = (),
    rendered: Rendered,
    date: datetime,
) -> EmailMessage:
    """build_message with the deterministic Message-ID for (manager, key) on the sender's domain."""
    domain = parse_address(sender).domain or "localhost"
    return build_message(
        sender=sender,
        to=to,
        cc=cc,
        rendered=rendered,
        message_id=make_message_id(manager, key, domain),
        date=date,
        key=key,
    )


def _unique(addrs: list[Address]) -> list[Address]:
    seen: set[str] = set()
    out = []
    for a in addrs:
        k = a.addr_spec.lower()
        if k not in seen:
            seen.add(k)
            out.append(a)
    return out
