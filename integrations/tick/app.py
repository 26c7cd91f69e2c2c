"""Wiring: open the configured calendar, mailer, KPI source and state store, and run a tick.

This is the imperative shell around `planner.plan`: read a Snapshot, plan, act, record.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from integrations.calendar.base import Calendar
from integrations.config_file import LoadedConfig
from integrations.imip.inbound import read_inbox, record_replies
from integrations.inbox.base import Inbox, ReadOnce
from integrations.kpi.open import open_sources
from integrations.kpi.read import Configured
from integrations.mail.base import Mailer
from integrations.records import RecordFolder, records_of
from integrations.store.state import StateStore
from integrations.store.state_ports import KeyValue, SyncTokens
from integrations.tick import busy_cache
from integrations.tick.executor import Executor, TickReport
from integrations.tick.snapshot import (
    RECORD,
    SnapshotRead,
    add_rep_busy,
    read_snapshot,
    remember_event_count,
)
from planner.actions import (
    Action,
    Book,
    Hold,
    Move,
    OpenCase,
    Processed,
    RecordEdit,
    SendEmail,
)
from planner.model import Snapshot
from planner.plan import plan
from planner.policy import Policy
from planner.record import (
    MEETING_TAIL,
    MEETINGS,
    Case,
    Item,
    Record,
    meeting_block,
    open_case,
    put_block,
)
from planner.record_mail import apply_edit

if TYPE_CHECKING:
    from integrations.mail.render import Renderer

log = logging.getLogger(__name__)

CACHE_NAME = "calendar-cache.sqlite3"


class OverlayKV:
    """Reads through to the state store, keeps writes in memory: for dry runs."""

    def __init__(self, store: StateStore) -> None:
        self.store = store
        self.mem: dict[str, Any] = {}
        self.deleted: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        if key in self.deleted:
            return default
        return self.mem[key] if key in self.mem else self.store.get(key, default)

    def put(self, key: str, value: Any) -> None:
        self.deleted.discard(key)
        self.mem[key] = value

    def delete(self, key: str) -> None:
        self.mem.pop(key, None)
        self.deleted.add(key)


def open_calendar(
    loaded: LoadedConfig, kv: KeyValue, *, persistent: bool = False, dry_run: bool = False
) -> Calendar:
    """The configured calendar backend. Nothing touches the network here.

    With `persistent`, the local backend keeps decoded files in a cache beside the state
    file (CACHE_NAME), so the next process parses only what changed; a `dry_run` uses the
    cache a real run left, if any, and never writes it (previews do not use it).
    """
    policy = loaded.policy
    tz = policy.manager.tz
    if policy.calendar.backend == "google":
        from integrations.google.calendar import open_google_calendar

        return open_google_calendar(
            policy.calendar.google,
            manager=policy.manager.email,
            tz=tz,
            base_dir=loaded.base_dir,
            kv=kv,
        )
    if policy.calendar.backend == "microsoft":
        from integrations.microsoft.calendar import open_microsoft_calendar

        return open_microsoft_calendar(
            policy.calendar.microsoft,
            manager=policy.manager.email,
            tz=tz,
            base_dir=loaded.base_dir,
            kv=kv,
        )
    from integrations import clock
    from integrations.calendar.cache import EventCache
    from integrations.calendar.ics_bounds import IcsLimits
    from integrations.calendar.local import LocalCalendar

    local = policy.calendar.local
    limits = IcsLimits(max_file_bytes=local.max_file_size, max_instances=local.max_instances)
    cache = None
    if persistent:
        cache = EventCache.open(state_path(loaded).with_name(CACHE_NAME), readonly=dry_run)
    # DTSTAMP/LAST-MODIFIED come from the one clock seam, so `once --at` stamps that instant.
    return LocalCalendar(
        loaded.resolve(local.path),
        tz,
        clock=clock.now,
        limits=limits,
        read_budget=local.read_budget.total_seconds(),
        cache=cache,
    )


def open_mailer(loaded: LoadedConfig) -> Mailer:
    """The configured mail transport."""
    policy = loaded.policy
    settings = policy.email
    if settings.transport == "smtp":
        from integrations.mail.smtp import SmtpMailer

        return SmtpMailer.from_settings(settings.smtp)
    if settings.transport == "gmail":
        from integrations.google.gmail import open_gmail

        return open_gmail(
            policy.calendar.google, base_dir=loaded.base_dir, subject=policy.manager.email
        )
    if settings.transport == "microsoft":
        from integrations.microsoft.mail import open_graph_mailer

        return open_graph_mailer(
            policy.calendar.microsoft,
            loaded.base_dir,
            manager=policy.manager.email,
            tz=policy.manager.tz,
        )
    from integrations.mail.maildir import MaildirMailer

    return MaildirMailer(loaded.resolve(settings.maildir.path))


def open_inbox(loaded: LoadedConfig) -> Inbox | None:
    """The configured inbox (where replies to coachd arrive), or None for `type: none`."""
    settings = loaded.policy.inbox
    if settings.type == "none":
        return None
    if settings.type == "imap":
        from integrations.inbox.imap import ImapInbox

        return ImapInbox.from_settings(settings.imap, loaded.base_dir)
    from integrations.inbox.maildir import MaildirInbox

    return MaildirInbox(loaded.resolve(settings.maildir.path))


def open_renderer(loaded: LoadedConfig) -> Renderer:
    from integrations.mail.render import Renderer

    tdir = loaded.policy.email.templates_dir
    return Renderer(loaded.resolve(tdir) if tdir else None)


def open_kpis(loaded: LoadedConfig) -> list[Configured]:
    return open_sources(loaded)


def state_path(loaded: LoadedConfig) -> Path:
    return loaded.resolve(loaded.policy.state.path)


def remove_stale_temp_files(loaded: LoadedConfig) -> None:
    """On start: delete the temp files that writes killed half-way left behind (older than
    an hour) in the local calendar's person folders and in the state folder."""
    from integrations import fsutil

    now = time.time()
    removed = fsutil.remove_stale_temp_files(state_path(loaded).parent, now)
    if loaded.policy.calendar.backend == "local":
        from integrations.calendar.local import LocalCalendar

        root = loaded.resolve(loaded.policy.calendar.local.path)
        removed += LocalCalendar(root, loaded.policy.manager.tz).remove_stale_temp_files(now)
    if removed:
        log.info("removed %d temp file(s) left by interrupted writes", removed)


def read_current(
    loaded: LoadedConfig,
    store: StateStore,
    now: datetime,
    calendar: Calendar,
    inbox: Inbox | None = None,
    *,
    with_busy: bool = True,
    kv: KeyValue | None = None,
    migrate: bool = False,
) -> SnapshotRead:
    """The Snapshot for `now`: the calendar, the KPI sources, the notes, the inbox and the
    state (and the reps' busy times unless `with_busy` is False). `kv` takes the KPI sources'
    read cache (an OverlayKV in dry runs; default the store). With `migrate`, a rep without a
    record file gets one (made from their notes file); dry runs leave the folder alone."""
    policy = loaded.policy
    folder = open_records(loaded)
    team = [(r.email, r.name) for r in policy.team]
    return read_snapshot(
        policy,
        calendar=calendar,
        kpis=open_kpis(loaded),
        notes_dir=loaded.resolve(policy.email.notes_dir),
        store=store,
        now=now,
        inbox=inbox,
        with_busy=with_busy,
        kv=store if kv is None else kv,
        records=records_of(folder, team, migrate),
    )


def open_records(loaded: LoadedConfig) -> RecordFolder:
    """The records folder, with the notes folder its records are first made from."""
    policy = loaded.policy
    return RecordFolder(loaded.resolve(policy.records.dir), loaded.resolve(policy.email.notes_dir))


def apply_record_edits(folder: RecordFolder, policy: Policy, actions: list[Action]) -> list[Action]:
    """Write each mail's RecordEdit into the rep's record. A message whose edit could not be
    written keeps no Processed action, so the next tick tries it again."""
    failed: set[str] = set()
    for a in actions:
        if isinstance(a, RecordEdit):
            rep = policy.rep(a.rep)
            name = rep.name if rep else a.rep
            if folder.update(a.rep, name, partial(apply_edit, edit=a)) is None:
                log.warning("record of %s: mail %s not written; tried again", a.rep, a.message_id)
                failed.add(a.message_id)
    return [
        a
        for a in actions
        if not (isinstance(a, Processed) and a.namespace == RECORD and a.message_id in failed)
    ]


def open_cases(folder: RecordFolder, policy: Policy, actions: list[Action]) -> None:
    """Write each OpenCase into the rep's record (once: not while one of its kind is open)."""
    for a in actions:
        if not isinstance(a, OpenCase):
            continue
        rep = policy.rep(a.rep)
        case = Case(
            kind=a.kind,
            opened=date.fromisoformat(a.opened),
            trigger=a.trigger,
            checkpoints=tuple(date.fromisoformat(d) for d in a.checkpoints),
            plan=tuple(Item(t, owner="manager", due=date.fromisoformat(d)) for t, d in a.plan),
        )
        if folder.update(a.rep, rep.name if rep else a.rep, partial(open_case, case=case)):
            log.info("record of %s: %s case opened", a.rep, a.kind)


def write_meeting_blocks(folder: RecordFolder, policy: Policy, actions: list[Action]) -> None:
    """Before each one-on-one whose agenda goes out this tick, append its meeting block
    (carried items, talking points, KPI snapshot) to the rep's record; written once."""
    for a in actions:
        if not isinstance(a, SendEmail) or a.kind != "agenda":
            continue
        rep = policy.rep(str(a.context.get("rep", {}).get("email", "")))
        if rep is None:
            continue
        key, body = meeting_block(a.context)
        folder.update(rep.email, rep.name, _once(key, body))


def _once(key: str, body: list[str]) -> Callable[[Record], Record]:
    """An edit that writes block `key` under Meeting notes unless it is already there."""

    def change(r: Record) -> Record:
        return r if r.block(key) else put_block(r, MEETINGS, key, body, MEETING_TAIL)

    return change


def needs_rep_busy(actions: list[Action]) -> bool:
    """Whether a plan made without the reps' busy times must be made again with them: only
    a booking or a move picks a slot, so only they depend on when the reps are free."""
    return any(isinstance(a, Book | Move) for a in actions)


def _inbox_first(
    loaded: LoadedConfig,
    cal: Calendar,
    store: StateStore,
    now: datetime,
    dry_run: bool,
    warnings: list[str],
) -> Inbox | None:
    """The tick's inbox (read at most once), with the reps' calendar answers already recorded.

    Read once per tick whenever an inbox is configured (not in a dry run); reps' calendar
    answers are recorded before the calendar is read, so this tick's plan sees them. What
    reading it warns goes to `warnings`.
    """
    inbox = open_inbox(loaded)
    if inbox is not None and not dry_run:
        policy = loaded.policy
        inbox = ReadOnce(inbox)
        listing = read_inbox(inbox, now - policy.inbox.lookback, warnings)
        record_replies(listing.messages, cal, policy.manager.email, store, now)
    return inbox


def _plan_with_busy(
    policy: Policy, cal: Calendar, read: SnapshotRead, now: datetime, kv: SyncTokens, force: bool
) -> tuple[SnapshotRead, list[Action]]:
    """Plan with the reps' cached busy times, reading them fresh only when needed.

    With no usable cache they are read first; with a cache, only a plan that books or
    moves reads them again (and plans again), so a quiet tick makes no free/busy request.
    The cache lives at most busy_cache.MAX_AGE: past that they are read again, so a rep's
    new meeting on a booked one-on-one is seen (and the block moved) within that time even
    on a quiet calendar.
    """
    reps = [r.email for r in policy.team]
    cached = busy_cache.load(kv, reps, now)
    fresh = False
    if cached is not None:
        read.snapshot = replace(
            read.snapshot, rep_busy=cached, rep_busy_shows_invites=busy_cache.shows_invites(kv)
        )
    elif reps:
        read, fresh = _fresh_busy(policy, cal, read, now, kv), True
    actions = plan(policy, read.snapshot, now, force=force)
    if reps and not fresh and needs_rep_busy(actions):
        read = _fresh_busy(policy, cal, read, now, kv)
        actions = plan(policy, read.snapshot, now, force=force)
    return read, actions


def _fresh_busy(
    policy: Policy, cal: Calendar, read: SnapshotRead, now: datetime, kv: KeyValue
) -> SnapshotRead:
    """The snapshot with the reps' busy times read now, and kept in the busy cache."""
    read = add_rep_busy(policy, cal, read, now)
    busy_cache.save(
        kv,
        read.snapshot.rep_busy,
        read.snapshot.read_errors,
        now,
        shows_invites=read.snapshot.rep_busy_shows_invites,
    )
    return read


@dataclass
class TickResult:
    """One tick: what was read, what was planned, and (unless a dry run) what happened."""

    snapshot: Snapshot
    actions: list[Action]
    warnings: list[str] = field(default_factory=list)
    report: TickReport | None = None


def run_tick(
    loaded: LoadedConfig,
    store: StateStore,
    now: datetime,
    *,
    dry_run: bool = False,
    force: bool = False,
    stop_requested: Callable[[], bool] = lambda: False,
    calendar: Calendar | None = None,
    mailer: Mailer | None = None,
    renderer: Renderer | None = None,
) -> TickResult:
    """Read, plan and (unless dry_run) act. Never raises for a single failing action."""
    policy = loaded.policy
    kv: SyncTokens = OverlayKV(store) if dry_run else store
    cal = calendar or open_calendar(loaded, kv, persistent=True, dry_run=dry_run)
    start_budget = getattr(cal, "start_budget", None)
    if callable(start_budget):
        start_budget()  # the local backend's per-tick reading budget
    inbox_warnings: list[str] = []
    inbox = _inbox_first(loaded, cal, store, now, dry_run, inbox_warnings)
    read = read_current(loaded, store, now, cal, inbox, with_busy=False, kv=kv, migrate=not dry_run)
    read.warnings[:0] = inbox_warnings
    read, actions = _plan_with_busy(policy, cal, read, now, kv, force)
    result = TickResult(snapshot=read.snapshot, actions=actions, warnings=read.warnings)
    if dry_run:
        return result
    executor = Executor(
        owner=policy.manager.email,
        calendar=cal,
        mailer=mailer or open_mailer(loaded),
        store=store,
        # Opened when the first email is rendered: a quiet tick never imports jinja2.
        renderer=renderer or (lambda: open_renderer(loaded)),
        sender=policy.email.sender,
        now=now,
        stop_requested=stop_requested,
    )
    if not any(isinstance(a, Hold) for a in actions):
        folder = open_records(loaded)
        actions = apply_record_edits(folder, policy, actions)
        open_cases(folder, policy, actions)
        write_meeting_blocks(folder, policy, actions)
    result.report = executor.run(actions)
    refresh = getattr(cal, "refresh_cache", None)
    if callable(refresh) and not stop_requested():
        refresh()  # the local backend decodes what this tick wrote, for the next process
    if result.report.held is None:
        remember_event_count(store, read.snapshot, policy.manager.email)
    return result
