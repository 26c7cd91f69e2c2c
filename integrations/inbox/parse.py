"""Raw RFC 5322 bytes -> InboundMessage, defensively: outside mail is hostile.

The plain-text body is the `text/plain` part (or the `text/html` part with its tags removed),
capped at `MAX_TEXT` characters; messages larger than `MAX_BYTES` are not parsed. A message
without a usable Message-ID or From address is refused with ValueError naming what is
missing (the adapter turns it into a warning).

Calendar parts (`text/calendar` or `application/ics`, e.g. a rep's iMIP REPLY) are carried
as decoded text: transfer encoding undone, charset decoded (an unknown charset reads as
UTF-8 with replacement characters), at most `MAX_CALENDAR_PARTS` per message, nested at most
`MAX_DEPTH` multiparts deep, not inside attached messages (a forwarded reply is someone
else's answer), identical copies once; a part larger than `MAX_CALENDAR_CHARS` is dropped
with a warning naming the message. They are not parsed here.
"""

from __future__ import annotations

import email
import html
import logging
import re
from datetime import datetime
from email.message import EmailMessage
from email.policy import default
from email.utils import getaddresses, parsedate_to_datetime

from integrations.inbox.base import InboundMessage

MAX_BYTES = 2_000_000
MAX_TEXT = 20_000
MAX_CALENDAR_PARTS = 4
MAX_CALENDAR_CHARS = 200_000
MAX_DEPTH = 8
CALENDAR_TYPES = ("text/calendar", "application/ics")
log = logging.getLogger(__name__)
_MSGID = re.compile(r"<[^<>\s]{1,900}>")
_TAG = re.compile(r"<[^>]*>")


def parse_message(raw: bytes) -> InboundMessage:
    """The message's Message-ID, sender, subject, references and text (see module doc)."""
    if len(raw) > MAX_BYTES:
        raise ValueError(f"larger than {MAX_BYTES} bytes")
    msg = email.message_from_bytes(raw, policy=default)
    assert isinstance(msg, EmailMessage)
    mid = _ids(_header(msg, "Message-ID"))
    if not mid:
        raise ValueError("no Message-ID")
    senders = [a for _, a in getaddresses([_header(msg, "From")]) if "@" in a]
    if len(senders) != 1:
        raise ValueError(f"{mid[0]}: no single From address")
    refs = _ids(_header(msg, "In-Reply-To")) + _ids(_header(msg, "References"))
    return InboundMessage(
        message_id=mid[0],
        sender=senders[0].strip().lower(),
        subject=_header(msg, "Subject")[:500],
        refs=tuple(dict.fromkeys(refs)),
        text=_text(msg)[:MAX_TEXT],
        date=_date(_header(msg, "Date")),
        calendar=_calendar_parts(msg, mid[0]),
    )


def _header(msg: EmailMessage, name: str) -> str:
    try:
        value = msg.get(name)
    except (ValueError, IndexError, TypeError):  # a header the parser cannot make sense of
        return ""
    return str(value) if value is not None else ""


def _ids(value: str) -> list[str]:
    return _MSGID.findall(value)


def _date(value: str) -> datetime | None:
    try:
        d = parsedate_to_datetime(value) if value else None
    except (ValueError, TypeError, IndexError):
        return None
    return d if d is not None and d.tzinfo is not None else None


def _text(msg: EmailMessage) -> str:
    for kind in ("plain", "html"):
        try:
            part = msg.get_body(preferencelist=(kind,))
            content = part.get_content() if part is not None else None
        except (LookupError, ValueError, AttributeError, TypeError):
            continue  # an unknown charset or a broken part: try the other kind
        if isinstance(content, str):
            return content if kind == "plain" else _html_text(content)
    return ""


def _html_text(text: str) -> str:
    # Quoted mail (what the reply answers) is not the sender's own words: drop it.
    text = re.sub(r"(?is)<(script|style|blockquote)\b.*?</\1>", " ", text)
    text = re.split(r"(?i)<div[^>]*class=\"?[^\">]*(gmail_quote|moz-cite-prefix)", text)[0]
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</li>|</tr>", "\n", text)
    return html.unescape(_TAG.sub("", text))


def _calendar_parts(msg: EmailMessage, mid: str) -> tuple[str, ...]:
    """The decoded calendar parts, in document order (see the module doc for the bounds)."""
    out: list[str] = []
    stack: list[tuple[email.message.Message, int]] = [(msg, 0)]
    while stack and len(out) < MAX_CALENDAR_PARTS:
        part, depth = stack.pop()
        if part.get_content_maintype() == "message":
            continue  # an attached message: its calendar parts are not this sender's answer
        if part.is_multipart():
            children = part.get_payload()
            if depth < MAX_DEPTH and isinstance(children, list):
                stack.extend(
                    (c, depth + 1)
                    for c in reversed(children)
                    if isinstance(c, email.message.Message)
                )
            continue
        if part.get_content_type() not in CALENDAR_TYPES:
            continue
        text = _decoded(part)
        if text is None or len(text) > MAX_CALENDAR_CHARS:
            log.warning(
                "inbox message %s: a calendar part over %d characters dropped",
                mid,
                MAX_CALENDAR_CHARS,
            )
        elif text.strip() and text not in out:
            out.append(text)
    return tuple(out)


def _decoded(part: email.message.Message) -> str | None:
    """The part's text (None when even its encoded form is far too large to be a reply)."""
    try:
        raw = part.get_payload(decode=True)
    except (ValueError, TypeError, LookupError):
        return ""
    if not isinstance(raw, bytes):
        return ""
    if len(raw) > 4 * MAX_CALENDAR_CHARS:
        return None
    charset = part.get_content_charset() or "utf-8"
    try:
        return raw.decode(charset, errors="replace")
    except (LookupError, ValueError):  # an unknown, binary-only or broken charset name
        return raw.decode("utf-8", errors="replace")
