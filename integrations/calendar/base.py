"""The Calendar port: what every backend offers the snapshot reader and the executor."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from planner.actions import Book, Cancel, Decline, Flag, Move
from planner.model import Event
from planner.timeutil import Interval

CalendarWrite = Book | Move | Cancel | Decline | Flag


@dataclass
class CalendarRead:
    """The events of one calendar over a window, plus a warning per item that was skipped."""

    events: list[Event]
    warnings: list[str] = field(default_factory=list)


@dataclass
class BusyRead:
    """Busy intervals per person; `errors` names the people whose calendar could not be read."""

    busy: dict[str, list[Interval]]
    errors: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    shows_invites: bool = False  # busy includes their copies of coachd's invitations


@dataclass
class WriteOutcome:
    """What happened to one write. `error` is None on success (including 'already done')."""

    action: CalendarWrite
    event_id: str | None = None
    error: str | None = None
    transient: bool = False


class Calendar(Protocol):
    """A calendar backend. Writes are idempotent: repeating one that already happened is fine.

    `owner` is the manager's email address; `read` returns that person's events with
    recurring events expanded into occurrences and coachd's own tags decoded.
    """

    def read(self, owner: str, window: Interval) -> CalendarRead: ...

    def busy(self, people: Sequence[str], window: Interval) -> BusyRead: ...

    def apply(self, owner: str, writes: Sequence[CalendarWrite]) -> list[WriteOutcome]: ...
