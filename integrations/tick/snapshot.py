"""Read one tick's Snapshot from the outside world: calendar, KPIs, notes and the state.

Every source is read independently: a failing rep calendar or a bad KPI row becomes a
warning or a `read_errors` entry, never an exception that stops the tick.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from integrations.calendar.base import Calendar
from integrations.errors import CoachdError
from integrations.inbox.base import InboundMessage, Inbox, SeenMessages
from integrations.kpi.read import Configured, read_all
from integrations.notes import open_items
from integrations.store.kv import KeyValue
from integrations.store.state import StateStore
from integrations.tick import skipped
from planner.kpi_derive import derive
from planner.model import Event, Reply, Snapshot
from planner.periods import snapshot_window
from planner.policy import Policy
from planner.record import Record
from planner.timeutil import Interval

log = logging.getLogger(__name__)

LAST_EVENT_COUNT = "snapshot:last_event_count"
DIGEST_NUMBERS = "digest_numbers"
# The namespace of approve-by-reply in the inbox's memory of handled messages.
REPLIES = "replies"
# The namespace of mail into the coaching records.
RECORD = "record"


@dataclass
class SnapshotRead:
    snapshot: Snapshot
    warnings: list[str] = field(default_factory=list)


def read_snapshot(
    policy: Policy,
    *,
    calendar: Calendar,
    kpis: Sequence[Configured],
    notes_dir: Path,
    store: StateStore,
    now: datetime,
    inbox: Inbox | None = None,
    with_busy: bool = True,
    kv: KeyValue | None = None,
    records: Mapping[str, Record] | None = None,
) -> SnapshotRead:
    """Gather everything the planner needs for one tick.

    With `with_busy=False` the reps' busy times are left out (every rep looks free): the
    shell plans once without them and reads them (`add_rep_busy`) only when that plan books
    or moves something, so a quiet tick costs no free/busy request.
    """
    window = snapshot_window(policy, now)
    manager = policy.manager.email
    warnings: list[str] = []
    read_errors: dict[str, str] = {}

    events = _manager_events(calendar, manager, window, warnings, read_errors)

    reps = [r.email for r in policy.team]
    k = read_all(kpis, store if kv is None else kv, now)
    warnings.extend(k.warnings)

    notes = {r: open_items(notes_dir, r) for r in reps}
    numbers = store.get(DIGEST_NUMBERS, {})
    numbers = numbers if isinstance(numbers, dict) else {}
    # The inbox is read whenever one is configured: the coaching records take mail at any
    # time; approve-by-reply only looks at it while a digest can be answered.
    fresh = _fresh_mail(inbox, store, now - policy.inbox.lookback, warnings)
    replies = _unseen(store, REPLIES, fresh) if numbers else ()
    record_mail = _unseen(store, RECORD, fresh)
    last_count = store.get(LAST_EVENT_COUNT)
    snapshot = Snapshot(
        window=window,
        events=tuple(events),
        rep_busy={},
        kpis=tuple(derive(policy, k.rows)),
        kpi_sources=tuple(k.statuses),
        bookings=store.bookings(),
        decisions=store.decisions(),
        sent=store.sent_keys(),
        notes=notes,
        records=dict(records or {}),
        read_errors=read_errors,
        last_event_count=last_count if isinstance(last_count, int) else None,
        replies=replies,
        record_mail=record_mail,
        digest_numbers=_digest_numbers(numbers),
        skipped=_skipped(store),
    )
    read = SnapshotRead(snapshot=snapshot, warnings=warnings)
    return add_rep_busy(policy, calendar, read, now) if with_busy else read


def _manager_events(
    calendar: Calendar,
    manager: str,
    window: Interval,
    warnings: list[str],
    read_errors: dict[str, str],
) -> list[Event]:
    """The manager's events in `window` (its warnings added to `warnings`); when the calendar
    cannot be read, none, with the error in `read_errors[manager]` and logged."""
    try:
        cal = calendar.read(manager, window)
    except CoachdError as e:
        read_errors[manager] = str(e)
        log.error("cannot read the manager's calendar: %s", e)
        return []
    warnings.extend(cal.warnings)
    return cal.events


def _digest_numbers(numbers: dict[str, Any]) -> dict[str, dict[str, tuple[str, str]]]:
    """The stored digest numbers (digest key -> number -> pair) with every pair as strings."""
    return {k: {n: (str(v[0]), str(v[1])) for n, v in m.items()} for k, m in numbers.items()}


def add_rep_busy(
    policy: Policy, calendar: Calendar, read: SnapshotRead, now: datetime
) -> SnapshotRead:
    """The same snapshot with the reps' busy times (from now to the window's end) read in;
    a rep whose calendar cannot be read goes to `read_errors`."""
    reps = [r.email for r in policy.team]
    if not reps:
        return read
    window = read.snapshot.window
    busy_window = Interval(max(now, window.start), window.end)
    rep_busy: dict[str, tuple[Interval, ...]] = {}
    read_errors = dict(read.snapshot.read_errors)
    warnings = list(read.warnings)
    shows_invites = False
    try:
        b = calendar.busy(reps, busy_window)
        rep_busy = {p: tuple(iv) for p, iv in b.busy.items()}
        shows_invites = b.shows_invites
        read_errors.update(b.errors)
        warnings.extend(b.warnings)
    except CoachdError as e:
        for r in reps:
            read_errors[r] = str(e)
        log.error("cannot read the reps' busy times: %s", e)
    snapshot = replace(
        read.snapshot,
        rep_busy=rep_busy,
        read_errors=read_errors,
        rep_busy_shows_invites=shows_invites,
    )
    return SnapshotRead(snapshot=snapshot, warnings=warnings)


def _fresh_mail(
    inbox: Inbox | None, store: StateStore, since: datetime, warnings: list[str]
) -> list[InboundMessage]:
    """The inbox's messages since `since` (none when there is no inbox or it cannot be read)."""
    if inbox is None:
        return []
    try:
        read = inbox.read(since)
    except CoachdError as e:
        warnings.append(f"inbox not read this tick: {e}")
        return []
    warnings.extend(read.warnings)
    return list(read.messages)


def _unseen(store: StateStore, namespace: str, messages: list[InboundMessage]) -> tuple[Reply, ...]:
    """The messages not handled before in `namespace`, as Replies for the planner."""
    seen = SeenMessages(store, namespace).seen()
    fresh = {m.message_id: m for m in messages if m.message_id not in seen}
    return tuple(Reply(m.message_id, m.sender, m.subject, m.refs, m.text) for m in fresh.values())


def _skipped(store: StateStore) -> dict[str, datetime]:
    out = {}
    for warning, first in skipped.current(store).items():
        try:
            out[warning] = datetime.fromisoformat(first)
        except ValueError:
            continue
    return out


def remember_event_count(store: StateStore, snapshot: Snapshot, manager: str) -> None:
    """Record how many events this tick saw, for the empty-calendar brake next time."""
    if manager not in snapshot.read_errors:
        store.put(LAST_EVENT_COUNT, len(snapshot.events))
