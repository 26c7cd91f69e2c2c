"""The long-running loop (`coachd run`) and one recorded tick (`coachd once`, and each of
the loop's ticks): run the tick, record its outcome in the state, report errors once."""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from integrations import clock
from integrations.errors import CoachdError, ConfigError, describe_os_error
from integrations.tick import error_slot, skipped

if TYPE_CHECKING:
    import schedule

    from integrations.calendar.base import Calendar
    from integrations.config_file import LoadedConfig
    from integrations.mail.base import Mailer
    from integrations.mail.render import Renderer
    from integrations.store.state import StateStore

log = logging.getLogger("coachd")


def report_recovery(store: StateStore) -> bool:
    """Make a state recovered at open visible in `coachd status`; True if there was one."""
    if store.recovered_from is None:
        return False
    store.record_error(
        clock.now(),
        f"the state file was unreadable; kept it as {store.recovered_from} and started a "
        "fresh state (coachd's own events are re-read from the calendar)",
    )
    return True


def _email_fault(
    loaded: LoadedConfig,
    state: Path,
    e: OSError,
    now: datetime,
    *,
    renderer: Renderer | None = None,
    mailer: Mailer | None = None,
) -> None:
    """Email the manager about a disk-full or permission error, once per fault episode
    (see `fault_mail`); the transport and templates are opened only when it is due."""
    from integrations.tick import fault_mail
    from integrations.tick.app import open_mailer, open_renderer

    fault_mail.notify(
        state,
        e,
        now,
        policy=loaded.policy,
        mailer=lambda: mailer or open_mailer(loaded),
        renderer=lambda: renderer or open_renderer(loaded),
    )


def tick_and_record(
    loaded: LoadedConfig,
    store: StateStore,
    *,
    force: bool = False,
    stop_requested: Callable[[], bool] = lambda: False,
    renderer: Renderer | None = None,
    calendar: Calendar | None = None,
    mailer: Mailer | None = None,
) -> bool:
    from integrations.tick.app import run_tick

    started = clock.now()
    error: str | None = None
    fault: OSError | None = None  # a disk-full or permission error: the manager is emailed
    summary: dict[str, int] = {}
    undone: dict[str, int] = {}
    try:
        result = run_tick(
            loaded,
            store,
            started,
            force=force,
            stop_requested=stop_requested,
            renderer=renderer,
            calendar=calendar,
            mailer=mailer,
        )
        report = result.report
        assert report is not None
        summary = dict(report.counts)
        undone = dict(report.undone)
        # Each skipped object is logged when it first appears, not on every tick;
        # `coachd status` lists what is skipped now.
        new = set(skipped.remember(store, result.warnings, started))
        for w in result.warnings:
            log.log(logging.WARNING if w in new else logging.DEBUG, "%s", w)
        if report.held:
            error = f"safety brake: {report.held}"
        elif report.errors:
            error = f"{len(report.errors)} action(s) failed; first: {report.errors[0]}"
    except CoachdError as e:
        error = str(e)
        log.error("tick failed: %s", e)
    except OSError as e:  # disk full, read-only, permissions: a sentence, not a traceback
        error = describe_os_error(e)
        fault = e
        log.error("tick failed: %s", error)
    finished = clock.now()
    error, recorded, fault = _record(store, started, finished, summary, error, fault)
    from integrations.tick import fault_mail

    if fault is not None and fault_mail.is_fault(fault):
        _email_fault(loaded, store.path, fault, finished, renderer=renderer, mailer=mailer)
    elif recorded and fault is None:
        fault_mail.clear(store.path, finished)  # the episode (if any) is over
    _log_outcome(started, finished, summary, undone, error)
    return error is None


def _record(
    store: StateStore,
    started: datetime,
    finished: datetime,
    summary: dict[str, int],
    error: str | None,
    fault: OSError | None,
) -> tuple[str | None, bool, OSError | None]:
    """Record the tick (and its error) in the state and the error slot. Returns the error
    as recorded (a state that cannot be written is one), whether the state took the record,
    and the fault to email about (the tick's, else the one writing the state raised)."""
    if error:
        error_slot.write(store.path, finished, error)
    recorded = False
    try:
        store.record_tick(
            started=started, finished=finished, ok=error is None, summary=summary, error=error
        )
        if error:
            store.record_error(finished, error)
        recorded = True
    except OSError as e:
        # The state cannot be written (a full disk): the error slot beside it still tells
        # `coachd status` what happened.
        error = error or describe_os_error(e)
        fault = fault or e
        log.error("cannot record the tick in the state: %s", describe_os_error(e))
        error_slot.write(store.path, finished, error)
    return error, recorded, fault


def _log_outcome(
    started: datetime,
    finished: datetime,
    summary: dict[str, int],
    undone: dict[str, int],
    error: str | None,
) -> None:
    """One log line for the tick: what it did, or what a stop signal left undone."""
    done = ", ".join(f"{k} {v}" for k, v in sorted(summary.items())) or "nothing to do"
    if undone:
        # A stop signal during the tick: say what waits for the next run, never "nothing".
        left = ", ".join(f"{v} {k}" for k, v in sorted(undone.items()))
        log.warning(
            "tick stopped by a stop signal after %.1fs: %s; left undone for the next run: %s",
            (finished - started).total_seconds(),
            ", ".join(f"{k} {v}" for k, v in sorted(summary.items())) or "nothing done",
            left,
        )
        return
    log.info(
        "tick %s in %.1fs: %s",
        "ok" if error is None else "with errors",
        (finished - started).total_seconds(),
        done,
    )


# --- the daemon ----------------------------------------------------------------------------


class Daemon:
    """`coachd run`: reconcile ticks and zoned email wake-ups until SIGTERM/SIGINT.

    Every job is wrapped: an exception is logged with its traceback and the loop goes on;
    the failed work is retried by the next tick. SIGHUP, or saving config.yaml, reloads the
    policy; an invalid one is reported (log + email to the manager) and the old one stays.
    Templates are read and checked at start and at each reload, and emails are rendered
    from that checked copy: a template file edited meanwhile waits for the next reload.
    """

    def __init__(self, config: Path) -> None:
        import schedule

        from integrations.config_file import load_policy

        self.config = config
        self.loaded = load_policy(config)
        self.renderer = checked_renderer(self.loaded)
        # Kept across ticks (and renewed on reload): the local calendar caches parsed files
        # and the Maildir the Message-IDs it holds, which a year-old folder makes worth it.
        self.calendar: Calendar | None = None
        self.mailer: Mailer | None = None
        self.stop = False
        self.reload_requested = False
        self.scheduler = schedule.Scheduler()
        self.mtime = self._mtime()
        self.store: StateStore | None = None
        self.last_heartbeat = 0.0

    def _mtime(self) -> float:
        try:
            return self.config.stat().st_mtime
        except OSError:
            return 0.0

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            self.reload_requested = True
        else:
            self.stop = True

    def run(self) -> int:
        previous = {
            s: signal.signal(s, self._on_signal)
            for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
        }
        try:
            return self._run()
        finally:
            for s, h in previous.items():
                signal.signal(s, h)

    def _run(self) -> int:
        from integrations.store.state import StateStore
        from integrations.tick.app import remove_stale_temp_files, state_path
        from planner.timeutil import format_duration

        with StateStore.open(state_path(self.loaded), now=clock.now()) as store:
            self.store = store
            remove_stale_temp_files(self.loaded)
            error_slot.reserve(store.path)
            report_recovery(store)
            self._job("compact", self._compact)
            log.info(
                "coachd started (pid %d) for %s, tick every %s",
                os.getpid(),
                self.loaded.policy.manager.email,
                format_duration(self.loaded.policy.daemon.tick),
            )
            self._schedule()
            # Anything due while coachd was down (an agenda, this week's summary) is planned
            # by the first tick: the planner sends what is due and not yet sent.
            self._job("tick", self._tick)
            while not self.stop:
                self._heartbeat()
                if self.reload_requested or self._mtime() != self.mtime:
                    self._job("reload", self._reload)
                self.scheduler.run_pending()
                self._sleep()
            log.info("stopping: state flushed, exiting")
        return 0

    def _sleep(self) -> None:
        idle = self.scheduler.idle_seconds
        wait = 60.0 if idle is None else max(0.0, min(60.0, idle))
        deadline = time.monotonic() + wait
        # Short naps so SIGTERM, SIGHUP and a saved config are noticed within a second.
        while not self.stop and not self.reload_requested and time.monotonic() < deadline:
            if self._mtime() != self.mtime:
                break
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))

    def _heartbeat(self) -> None:
        if self.store and time.monotonic() - self.last_heartbeat >= 30:
            self.store.heartbeat(clock.now(), os.getpid())
            self.last_heartbeat = time.monotonic()

    def _job(self, name: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except OSError as e:  # disk full, read-only, permissions: one line, no traceback
            self._record_job_error(name, describe_os_error(e))
            from integrations.tick import fault_mail

            if self.store is not None and fault_mail.is_fault(e):
                _email_fault(
                    self.loaded,
                    self.store.path,
                    e,
                    clock.now(),
                    renderer=self.renderer,
                    mailer=self.mailer,
                )
            return None
        except Exception as e:  # every job is wrapped: log, keep the loop going
            log.exception("job %s failed: %s", name, e)
            self._record_job_error(name, str(e), logged=True)
            return None

    def _record_job_error(self, name: str, message: str, *, logged: bool = False) -> None:
        """Log (unless done) and keep the error for `coachd status`, in the state or, when
        the state cannot be written, in the error slot beside it."""
        text = f"job {name} failed: {message}"
        if not logged:
            log.error("%s", text)
        if self.store is None:
            return
        error_slot.write(self.store.path, clock.now(), text)
        try:
            self.store.record_error(clock.now(), text)
        except OSError as e:
            log.error("cannot record the error in the state: %s", describe_os_error(e))

    def _tick(self) -> None:
        from integrations.tick.app import open_calendar, open_mailer

        assert self.store is not None
        if self.calendar is None:
            self.calendar = open_calendar(self.loaded, self.store, persistent=True)
        if self.mailer is None:
            self.mailer = open_mailer(self.loaded)
        tick_and_record(
            self.loaded,
            self.store,
            stop_requested=lambda: self.stop,
            renderer=self.renderer,
            calendar=self.calendar,
            mailer=self.mailer,
        )
        self._wake_for_agendas()

    def _wake_for_agendas(self) -> None:
        """A one-shot tick when the next agenda or sales-meeting email falls due, so it goes
        out on time rather than up to a tick late (planner.email_kinds.next_due)."""
        from planner.email_kinds import next_due

        assert self.store is not None
        p = self.loaded.policy
        now = clock.now()
        due = next_due(p, self.store.bookings().values(), now)
        self.scheduler.clear("agenda")
        if due is None:
            return
        secs = int((due - now).total_seconds()) + 1
        if secs < p.daemon.tick.total_seconds():
            self.scheduler.every(secs).seconds.do(self._agenda_tick).tag("agenda")

    def _agenda_tick(self) -> type[schedule.CancelJob]:
        import schedule

        self._job("agenda", self._tick)
        return schedule.CancelJob

    def _compact(self) -> None:
        assert self.store is not None
        removed = self.store.compact(clock.now(), self.loaded.policy.state.keep_weeks)
        if removed:
            log.info("compacted the state: %d old records removed", removed)

    def _schedule(self) -> None:
        from integrations.tick.schedule_times import next_daily, next_weekly

        self.scheduler.clear()
        p = self.loaded.policy
        secs = max(1, int(p.daemon.tick.total_seconds()))
        self.scheduler.every(secs).seconds.do(self._job, "tick", self._tick).tag("tick")
        self.scheduler.every(1).days.do(self._job, "compact", self._compact).tag("compact")
        if p.email.summary.enabled:
            self._at(
                lambda now: next_weekly(
                    now, p.email.summary.day, p.email.summary.time, p.manager.tz
                ),
                "summary",
            )
        if p.email.digest.enabled:
            self._at(lambda now: next_daily(now, p.email.digest.time, p.manager.tz), "digest")

    def _at(self, next_time: Callable[[datetime], datetime], name: str) -> None:
        """A one-shot wake-up at the next zoned time; it reschedules itself after it runs."""
        now = clock.now()
        secs = max(1, int((next_time(now) - now).total_seconds()) + 1)

        def fire() -> type[schedule.CancelJob]:
            import schedule

            self._job(name, self._tick)
            self._at(next_time, name)
            return schedule.CancelJob

        self.scheduler.every(secs).seconds.do(fire).tag(name)

    def _reload(self) -> None:
        from integrations.config_file import load_policy
        from integrations.tick.app import state_path

        self.reload_requested = False
        self.mtime = self._mtime()
        try:
            new = load_policy(self.config)
            renderer = checked_renderer(new)
        except ConfigError as e:
            self._report_bad_config(e.errors)
            return
        except CoachdError as e:
            self._report_bad_config([str(e)])
            return
        except OSError as e:
            self._report_bad_config([f"{self.config}: {describe_os_error(e)}"])
            return
        except Exception as e:  # whatever the reason, the manager hears of the rejection
            log.exception("config reload failed")
            self._report_bad_config([f"{self.config}: {type(e).__name__}: {e}"])
            return
        if state_path(new) != state_path(self.loaded):
            self._report_bad_config(
                [
                    f"{self.config}: state.path cannot change while running; "
                    "restart coachd to move the state"
                ]
            )
            return
        self.loaded = new
        self.renderer = renderer
        self.calendar = None
        self.mailer = None
        self._schedule()
        log.info("reloaded %s", self.config)
        self._job("tick", self._tick)

    def _report_bad_config(self, errors: Sequence[str]) -> None:
        log.error(
            "config reload rejected; still running on the previous policy:\n%s", "\n".join(errors)
        )
        if self.store is None:
            return
        self.store.record_error(clock.now(), "config reload rejected: " + "; ".join(errors))
        from integrations.commands.config_alert import send_config_error
        from integrations.tick.app import open_mailer

        send_config_error(
            self.loaded,
            self.store,
            list(errors),
            mailer=self.mailer or open_mailer(self.loaded),
            renderer=self.renderer,
            now=clock.now(),
        )


def checked_renderer(loaded: LoadedConfig) -> Renderer:
    """The templates of `loaded`, read once and rendered against sample data; raises
    ConfigError listing every broken file."""
    from integrations.mail.render import check_templates
    from integrations.tick.app import open_renderer

    renderer = open_renderer(loaded)
    errors = check_templates(renderer)
    if errors:
        raise ConfigError(errors)
    return renderer
