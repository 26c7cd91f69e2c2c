"""The state store's small ports: what each part of the shell needs from coachd's memory.

Each Protocol is one job (the bookings coachd made, the triage decisions it took, where each
email stands, the calendars' sync tokens); the key-value port is integrations/store/kv.py.
`StateStore` (integrations/store/state.py) is the one implementation of all of them and is
checked against each by tests/integrations/test_state_ports.py. Code that needs one job
takes the port, not the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from integrations.store.kv import KeyValue
from planner.model import BookingRecord, Decision

__all__ = [
    "BookingStore",
    "DecisionStore",
    "EmailRecord",
    "EmailStatus",
    "KeyValue",
    "SentMail",
    "SyncTokens",
]

EmailStatus = Literal["sending", "sent", "failed"]


@dataclass(frozen=True)
class EmailRecord:
    """Where one planned email stands. `at` is the time of the last change of status."""

    key: str
    status: EmailStatus
    attempts: int
    kind: str
    to: tuple[str, ...]
    at: datetime
    error: str | None = None


class BookingStore(Protocol):
    """The coaching blocks coachd booked, by booking key."""

    def bookings(self) -> dict[str, BookingRecord]: ...

    def put_booking(self, rec: BookingRecord) -> None: ...


class DecisionStore(Protocol):
    """The triage decisions coachd took, by event id."""

    def decisions(self) -> dict[str, Decision]: ...

    def put_decision(self, d: Decision) -> None: ...


class SentMail(Protocol):
    """Where each planned email stands: sending, sent or failed (never sent twice)."""

    def email_record(self, key: str) -> EmailRecord | None: ...

    def mark_email_sending(
        self, key: str, *, kind: str, to: Sequence[str], at: datetime
    ) -> int: ...

    def mark_email_sent(self, key: str, *, at: datetime) -> None: ...

    def mark_email_failed(self, key: str, *, at: datetime, error: str) -> None: ...

    def sent_keys(self) -> frozenset[str]: ...


class SyncTokens(KeyValue, Protocol):
    """Where the calendar and inbox adapters keep their sync tokens and caches: key-value
    memory they can also forget (a token the server no longer accepts)."""

    def delete(self, key: str) -> None: ...
