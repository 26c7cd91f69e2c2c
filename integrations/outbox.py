"""Send one planned email exactly once (at most one resend after a crash).

The state records `sending` before the transport is called and `sent` after. A crash in
between leaves `sending`: the next tick sends again with the same deterministic
Message-ID, and after MAX_ATTEMPTS unconfirmed hand-overs it is treated as delivered.
"""

from __future__ import annotations

import logging
from datetime import datetime

from integrations.errors import CoachdError
from integrations.mail.base import Mailer
from integrations.mail.message import build_message
from integrations.mail.render import Renderer
from integrations.state import StateStore
from planner.actions import SendEmail
from planner.ids import message_id

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 2


class Outbox:
    """Renders, builds and hands emails to the transport, recording each step."""

    def __init__(
        self, *, owner: str, sender: str, mailer: Mailer, store: StateStore, renderer: Renderer
    ) -> None:
        self.owner = owner
        self.sender = sender
        self.mailer = mailer
        self.store = store
        self.renderer = renderer

    def send(self, a: SendEmail, now: datetime) -> tuple[bool, str | None]:
        """Send `a` unless already sent. Returns (sent_now, error)."""
        rec = self.store.email_record(a.key)
        if rec is not None and rec.status == "sent":
            return False, None
        if rec is not None and rec.status == "sending" and rec.attempts >= MAX_ATTEMPTS:
            log.warning(
                "email %s was handed to the transport %d times without confirmation; "
                "treating it as sent rather than risk another copy",
                a.key,
                rec.attempts,
            )
            self.store.mark_email_sent(a.key, at=now)
            return False, None
        try:
            rendered = self.renderer.render(a.kind, dict(a.context))
            msg = build_message(
                sender=self.sender,
                to=a.to,
                cc=a.cc,
                rendered=rendered,
                message_id=message_id(self.owner, a.key, self.sender.rsplit("@", 1)[-1]),
                date=now,
                headers={"X-Coachd-Key": a.key},
            )
        except Exception as e:  # a template or address problem must not stop the tick
            return False, f"email {a.key} could not be built: {e}"
        self.store.mark_email_sending(a.key, kind=a.kind, to=list(a.to), at=now)
        try:
            self.mailer.send(msg)
        except CoachdError as e:
            self.store.mark_email_failed(a.key, at=now, error=str(e))
            return False, f"email {a.key} to {', '.join(a.to)} not sent: {e}"
        self.store.mark_email_sent(a.key, at=now)
        return True, None
