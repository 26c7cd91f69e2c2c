"""Tell the manager, by email, that a config.yaml saved while running was rejected."""

from __future__ import annotations

import logging
from datetime import datetime

from integrations.config_file import LoadedConfig
from integrations.mail.base import Mailer
from integrations.mail.render import Renderer
from integrations.store.state import StateStore
from integrations.tick.app import open_renderer
from integrations.tick.outbox import Outbox
from planner.emails import config_error_email

log = logging.getLogger(__name__)


def send_config_error(
    loaded: LoadedConfig,
    store: StateStore,
    errors: list[str],
    *,
    mailer: Mailer,
    now: datetime,
    renderer: Renderer | None = None,
) -> None:
    """Email the errors, once per distinct set of errors, using the policy still running."""
    p = loaded.policy
    action = config_error_email(p, errors, str(loaded.path), now)
    outbox = Outbox(
        owner=p.manager.email,
        sender=p.email.sender,
        mailer=mailer,
        store=store,
        renderer=renderer or open_renderer(loaded),
    )
    _, error = outbox.send(action, now)
    if error:
        log.error("%s", error)
