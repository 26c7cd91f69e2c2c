"""`coachd org run`: every manager of the org from one process.

Each manager is a slot with its own config, due time, failure count and backoff; a tick
runs on a bounded thread pool (org.concurrency), at most one per manager, and opens that
manager's own state file under its own lock (integrations.org.tick). All calendar calls
share one token bucket (org.requests_per_second, org.burst). SIGHUP, or every org.rescan,
reloads: a new manager file starts, a removed one stops after its running tick, a changed
one is reloaded; a file saved broken is reported to that manager by email (the config-error
email) and the manager keeps its previous config, or does not run if it never had one.
SIGTERM/SIGINT: no new ticks; running ones stop after their current action; exit 0.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType

from integrations import clock
from integrations.errors import CoachdError, ConfigError, describe_os_error
from integrations.mail.render import Renderer
from integrations.org.config import Org, OrgLoadedConfig, load_org, manager_files, stand_in_config
from integrations.org.limiter import TokenBucket
from integrations.org.roster import Entry, load_entry
from integrations.org.tick import report_config_error, tick_manager

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=1)


@dataclass
class Slot:
    """One manager as the runner sees it."""

    entry: Entry
    loaded: OrgLoadedConfig | None  # what runs: the last valid config, if any
    due: datetime
    failures: int = 0
    running: Future[bool] | None = None
    removed: bool = False
    ticks: int = field(default=0)


def next_due(loaded: OrgLoadedConfig, now: datetime, failures: int) -> datetime:
    """When the manager ticks next: after `daemon.tick`, doubled per consecutive failure
    (at most an hour, never less than the tick), or earlier at the summary or digest time."""
    from integrations.tick.schedule_times import next_daily, next_weekly

    p = loaded.policy
    every = p.daemon.tick
    if failures:
        every = max(every, min(every * 2**failures, MAX_BACKOFF))
    due = now + every
    if not failures:
        if p.email.summary.enabled:
            due = min(
                due, next_weekly(now, p.email.summary.day, p.email.summary.time, p.manager.tz)
            )
        if p.email.digest.enabled:
            due = min(due, next_daily(now, p.email.digest.time, p.manager.tz))
    return due


class OrgRunner:
    """Serves every manager of org.yaml until stopped. `run()` installs signal handlers;
    `run_until(predicate)` is the loop without them (tests, benches)."""

    def __init__(self, org_path: Path) -> None:
        self.org_path = org_path
        self.org: Org = load_org(org_path)
        s = self.org.settings
        self.bucket = TokenBucket(s.requests_per_second, s.burst)
        self.slots: dict[str, Slot] = {}
        self.renderers: dict[str | None, Renderer] = {}
        self.stop = threading.Event()
        self.wake = threading.Event()
        self.pool: ThreadPoolExecutor | None = None
        self.reload_requested = False
        self.org_mtime = self._mtime(org_path)
        self.last_scan = 0.0
        self.lock = threading.Lock()
        self.report_running: Future[bool] | None = None
        self.report_checked: datetime | None = None

    # --- life cycle -------------------------------------------------------------------------

    def run(self) -> int:
        handlers = {
            signal.SIGTERM: self._on_signal,
            signal.SIGINT: self._on_signal,
            signal.SIGHUP: self._on_signal,
        }
        previous = {s: signal.signal(s, h) for s, h in handlers.items()}
        try:
            self.run_until(lambda: False)
        finally:
            for s, h in previous.items():
                signal.signal(s, h)
        return 0

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            self.reload_requested = True
        else:
            self.stop.set()

    def run_until(self, done: Callable[[], bool]) -> None:
        """Loop until SIGTERM or `done()` is true; then wait for the running ticks. May be
        called again (tests and benches drive the runner in steps)."""
        workers = self.org.settings.concurrency
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tick")
        self.rescan()
        log.info("coachd org started: %d manager(s) in %s", len(self.slots), self.org_path)
        try:
            while not self.stop.is_set() and not done():
                if self.reload_requested or (
                    time.monotonic() - self.last_scan >= self.org.settings.rescan.total_seconds()
                ):
                    self.rescan()
                self._start_due()
                self._start_report()
                # A finished tick wakes the loop at once: a free worker starts the next due
                # manager without waiting out the poll.
                self.wake.wait(0.2)
                self.wake.clear()
        finally:
            # Running ticks see the stop (if one was asked for) and end after their action.
            if self.pool is not None:
                self.pool.shutdown(wait=True)
            log.info("coachd org stopped")

    # --- reload -----------------------------------------------------------------------------

    @staticmethod
    def _mtime(path: Path) -> float:
        try:
            return path.stat().st_mtime
        except OSError:
            return 0.0

    def rescan(self) -> None:
        """Re-read org.yaml if it changed, and add, drop or reload manager files."""
        self.reload_requested = False
        self.last_scan = time.monotonic()
        org_changed = False
        mtime = self._mtime(self.org_path)
        if mtime != self.org_mtime:
            self.org_mtime = mtime
            try:
                self.org = load_org(self.org_path)
                org_changed = True
                log.info("reloaded %s", self.org_path)
            except (CoachdError, OSError) as e:
                errors = e.errors if isinstance(e, ConfigError) else [str(e)]
                log.error("org.yaml rejected; every manager keeps running:\n%s", "\n".join(errors))
        files = manager_files(self.org)
        with self.lock:
            for email, slot in list(self.slots.items()):
                if email not in files:
                    slot.removed = True
                    if slot.running is None:
                        del self.slots[email]
                    log.info("manager %s removed (their file is gone)", email)
        for email, path in files.items():
            current = self.slots.get(email)
            if current is not None and not org_changed and self._mtime(path) == current.entry.mtime:
                continue
            self._load(email, path, current)

    def _load(self, email: str, path: Path, slot: Slot | None) -> None:
        entry = load_entry(self.org, email, path)
        now = clock.now()
        if entry.loaded is not None:
            if slot is None:
                self.slots[email] = Slot(entry, entry.loaded, due=now)
                log.info("manager %s added", email)
            else:
                slot.entry, slot.loaded, slot.due = entry, entry.loaded, now
                slot.removed = False
                log.info("manager %s reloaded", email)
            return
        log.error("manager %s: file rejected:\n%s", email, "\n".join(entry.errors))
        running_on = slot.loaded if slot is not None else None
        if slot is None:
            self.slots[email] = Slot(entry, None, due=now)
        else:
            slot.entry, slot.removed = entry, False
        try:
            target = running_on or stand_in_config(self.org, email, path)
            report_config_error(target, entry.errors)
        except (CoachdError, OSError) as e:
            text = describe_os_error(e) if isinstance(e, OSError) else str(e)
            log.error("manager %s: cannot send the config-error email: %s", email, text)

    # --- the weekly report --------------------------------------------------------------------

    def _start_report(self) -> None:
        """Once a minute, if org.report is set: send last week's roll-up when due (on the
        pool, so the managers' ticks keep starting; once per week, see org.report)."""
        now = clock.now()
        if self.org.settings.report is None or not self.report_idle():
            return
        if self.report_checked is not None and now - self.report_checked < timedelta(minutes=1):
            return
        self.report_checked = now
        assert self.pool is not None
        self.report_running = self.pool.submit(self._report, self.org)

    def _report(self, org: Org) -> bool:
        from integrations.org.report import send_if_due
        from integrations.org.roster import load_roster

        try:
            return send_if_due(org, load_roster(org), clock.now())
        except (CoachdError, OSError) as e:
            text = describe_os_error(e) if isinstance(e, OSError) else str(e)
            log.error("org report not sent: %s", text)
        except Exception:  # the report must never stop the managers' ticks
            log.exception("org report not sent")
        return False

    def report_idle(self) -> bool:
        """No weekly report is being gathered or sent right now."""
        return self.report_running is None or self.report_running.done()

    # --- ticks ------------------------------------------------------------------------------

    def _renderer(self, loaded: OrgLoadedConfig) -> Renderer:
        """The checked templates, one per templates folder (most orgs share one)."""
        from integrations.tick.run_loop import checked_renderer

        key = loaded.policy.email.templates_dir
        if key not in self.renderers:
            self.renderers[key] = checked_renderer(loaded)
        return self.renderers[key]

    def _start_due(self) -> None:
        now = clock.now()
        with self.lock:
            for slot in self.slots.values():
                if slot.running is not None or slot.loaded is None or slot.removed:
                    continue
                if slot.due <= now:
                    assert self.pool is not None
                    slot.running = self.pool.submit(self._tick, slot)

    def _tick(self, slot: Slot) -> bool:
        loaded = slot.loaded
        assert loaded is not None
        ok = False
        try:
            ok = tick_manager(
                loaded,
                bucket=self.bucket,
                renderer=self._renderer(loaded),
                stop_requested=self.stop.is_set,
            )
        except (CoachdError, OSError) as e:
            text = describe_os_error(e) if isinstance(e, OSError) else str(e)
            log.error("manager %s: tick failed: %s", slot.entry.email, text)
        except Exception:  # one manager's failure never stops the others
            log.exception("manager %s: tick failed", slot.entry.email)
        with self.lock:
            slot.failures = 0 if ok else slot.failures + 1
            slot.ticks += 1
            try:
                slot.due = next_due(loaded, clock.now(), slot.failures)
            finally:
                slot.running = None
                if slot.removed:
                    self.slots.pop(slot.entry.email, None)
        self.wake.set()
        return ok
