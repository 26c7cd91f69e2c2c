"""One manager's tick in org mode: the single-manager tick (run_loop.tick_and_record around
integrations.tick.app.run_tick), with the manager's own state file and lock, and the
deployment's shared request rate. Used by `coachd org run` and by the engine's workers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from integrations import clock
from integrations.commands.config_alert import send_config_error
from integrations.config_file import LoadedConfig
from integrations.mail.render import Renderer
from integrations.org.limiter import Bucket, RateLimitedCalendar
from integrations.store.state import StateStore
from integrations.tick import error_slot
from integrations.tick.app import open_calendar, open_mailer, state_path

log = logging.getLogger(__name__)


def tick_manager(
    loaded: LoadedConfig,
    *,
    bucket: Bucket | None = None,
    renderer: Renderer | None = None,
    stop_requested: Callable[[], bool] = lambda: False,
) -> bool:
    """Open the manager's state (taking its lock: one tick per manager at a time), tick,
    record and close; True when the tick went without errors. Raises UserError when
    another process holds the manager's state."""
    from integrations.tick.run_loop import tick_and_record

    email = loaded.policy.email
    if email.transport == "maildir":
        # `outbox/{manager}`: the shared outbox folder may not exist yet (the Maildir
        # mailer creates only its own folder).
        loaded.resolve(email.maildir.path).parent.mkdir(parents=True, exist_ok=True)
    with StateStore.open(state_path(loaded), now=clock.now()) as store:
        error_slot.reserve(store.path)
        calendar: Any = open_calendar(loaded, store, persistent=True)
        if bucket is not None:
            calendar = RateLimitedCalendar(calendar, bucket)
        return tick_and_record(
            loaded,
            store,
            stop_requested=stop_requested,
            renderer=renderer,
            calendar=calendar,
            mailer=open_mailer(loaded),
        )


def report_config_error(loaded: LoadedConfig, errors: list[str]) -> None:
    """Email a manager that their file was rejected (once per distinct set of errors), with
    `loaded` the config they still run on or the org's stand-in for them."""
    email = loaded.policy.email
    if email.transport == "maildir":
        loaded.resolve(email.maildir.path).parent.mkdir(parents=True, exist_ok=True)
    with StateStore.open(state_path(loaded), now=clock.now()) as store:
        store.record_error(clock.now(), "config rejected: " + "; ".join(errors))
        send_config_error(loaded, store, errors, mailer=open_mailer(loaded), now=clock.now())
