"""The Inbox port: what an adapter returns, and coachd's memory of handled messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from integrations.store.kv import KeyValue

__all__ = ["InboundMessage", "Inbox", "InboxRead", "ReadOnce", "SeenMessages"]


@dataclass(frozen=True)
class InboundMessage:
    """One received message, reduced to what coachd reads. All of it is outside text.

    `sender` is the lower-cased address of From; `refs` the Message-IDs of In-Reply-To and
    References, in that order; `text` the plain-text body (from the HTML part when there is
    no text part); `date` when it was sent (None when the Date header is missing or bad);
    `calendar` the decoded text of its `text/calendar` (or `application/ics`) parts, at most
    `parse.MAX_CALENDAR_PARTS` of at most `parse.MAX_CALENDAR_CHARS` characters each
    (iMIP replies from reps; still unparsed, so still hostile).
    """

    message_id: str
    sender: str
    subject: str = ""
    refs: tuple[str, ...] = ()
    text: str = ""
    date: datetime | None = None
    calendar: tuple[str, ...] = ()


@dataclass
class InboxRead:
    """What one listing found: the messages, and a warning per message or fault skipped."""

    messages: list[InboundMessage] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class Inbox(Protocol):
    """Lists received messages; never changes the mailbox. Raises TransientError when the
    mailbox cannot be reached (the tick goes on without replies)."""

    def read(self, since: datetime) -> InboxRead:
        """The messages received at or after `since` (an adapter may return a few more)."""
        ...


class ReadOnce:
    """An Inbox listed at most once (per `since`): every use in one tick shares the listing.

    The first reader gets the listing's warnings, or the error that stopped it; later readers
    get the same messages without the warnings (an empty listing after an error), so one
    fault is reported once.
    """

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox
        self._reads: dict[datetime, InboxRead] = {}

    def __repr__(self) -> str:
        return f"ReadOnce({self.inbox!r})"

    def read(self, since: datetime) -> InboxRead:
        done = self._reads.get(since)
        if done is not None:
            return InboxRead(messages=list(done.messages))
        self._reads[since] = InboxRead()
        read = self.inbox.read(since)
        self._reads[since] = read
        return read


class SeenMessages:
    """Message-IDs already handled, per use (`namespace`), kept in the state store.

    Entries older than `keep` are dropped when new ones are added; keep it longer than the
    inbox look-back, so a message listed again is still recognised.
    """

    def __init__(self, kv: KeyValue, namespace: str, keep: timedelta = timedelta(days=60)) -> None:
        self.kv = kv
        self.key = f"inbox:seen:{namespace}"
        self.keep = keep

    def _all(self) -> dict[str, str]:
        raw = self.kv.get(self.key, {})
        return dict(raw) if isinstance(raw, dict) else {}

    def seen(self) -> set[str]:
        return set(self._all())

    def add(self, message_ids: list[str], now: datetime) -> None:
        if not message_ids:
            return
        cutoff = (now - self.keep).isoformat()
        kept = {m: at for m, at in self._all().items() if at >= cutoff}
        kept.update(dict.fromkeys(message_ids, now.isoformat()))
        self.kv.put(self.key, kept)
