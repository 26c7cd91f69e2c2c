"""Deterministic ids for everything coachd creates, so a repeated write is recognisable."""

from __future__ import annotations

import base64
import hashlib

# Google Calendar event ids allow base32hex characters (a-v, 0-9), 5 to 1024 long; the same
# id serves as the iCalendar UID in the local backend.
_ID_LEN = 26


def booking_key(kind: str, rep: str | None, period: str) -> str:
    """The stable key of one booking: `<kind>:<rep or ->:<period>`."""
    return f"{kind}:{rep or '-'}:{period}"


def event_id(manager: str, key: str, generation: int = 0) -> str:
    """A base32hex id from (manager, key, generation); a new generation gives a new id."""
    digest = hashlib.sha256(f"{manager}|{key}|{generation}".encode()).digest()
    return base64.b32hexencode(digest).decode("ascii").lower().rstrip("=")[:_ID_LEN]


def message_id(manager: str, email_key: str, domain: str) -> str:
    """A deterministic RFC 5322 Message-ID for one email, so a resend is recognisable."""
    digest = hashlib.sha256(f"{manager}|{email_key}".encode()).hexdigest()[:32]
    return f"<coachd.{digest}@{domain}>"
