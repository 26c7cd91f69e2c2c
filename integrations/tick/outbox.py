"""Send one planned email exactly once (at most one resend after a crash).

The state records `sending` before the transport is called and `sent` after. A crash in
between leaves `sending`: the next tick sends again with the same deterministic
Message-ID, and after MAX_ATTEMPTS unconfirmed hand-overs it is treated as delivered.
Every key sent is also appended to a sent-email log beside the state (`sent_log`), so a
state lost or rebuilt from scratch does not mail everyone again.

Nor is a planned email lost when a tick dies after its calendar writes: the executor queues
the tick's emails in the state before writing, and the next tick sends what is still queued
even if the planner no longer plans it (a delegate's email, say, is planned with the
decline; once the decline is in the calendar, the invitation is no longer open and nothing
plans that email again).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from integrations.errors import CoachdError
from integrations.mail.base import Mailer
from integrations.store.state import StateStore
from integrations.tick.sent_log import SentLog, log_path
from planner.actions import AfterBooking, AfterDecline, SendEmail
from planner.ids import message_id

if TYPE_CHECKING:  # jinja2 is imported when the first email is rendered, not by a quiet tick
    from typing import TypeAlias

    from integrations.mail.render import Renderer

    # A renderer, or how to open one: the templates are read (and jinja2 imported) only
    # when an email is actually rendered.
    RendererSource: TypeAlias = Renderer | Callable[[], Renderer]

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 2
QUEUE_KEY = "outbox:queue"
# A queued email older than this is dropped, not sent: a week-old agenda helps nobody.
MAX_QUEUE_AGE = timedelta(days=2)


class Outbox:
    """Renders, builds and hands emails to the transport, recording each step."""

    def __init__(
        self,
        *,
        owner: str,
        sender: str,
        mailer: Mailer,
        store: StateStore,
        renderer: RendererSource,
    ) -> None:
        self.owner = owner
        self.sender = sender
        self.mailer = mailer
        self.store = store
        self._renderer = renderer
        self.sent_log = SentLog(log_path(store.path))

    def renderer(self) -> Renderer:
        """The renderer, opened on first use (a tick with nothing to send never opens it);
        if opening fails, the email being built fails with that error and the next one
        tries again."""
        if callable(self._renderer):
            self._renderer = self._renderer()
        return self._renderer

    def send(self, a: SendEmail, now: datetime) -> tuple[bool, str | None]:
        """Send `a` unless already sent. Returns (sent_now, error)."""
        rec = self.store.email_record(a.key)
        if rec is not None and rec.status == "sent":
            return False, None
        if a.key in self.sent_log:
            # Sent before the state was lost or rebuilt: record it again, send nothing.
            log.info("email %s was sent before (sent-email log): not sending it again", a.key)
            self.store.mark_email_sent(a.key, at=now)
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
        from integrations.mail.message import build_message  # with jinja2: only when sending

        try:
            rendered = self.renderer().render(a.kind, dict(a.context))
            headers = {"X-Coachd-Key": a.key}
            if any(r.lower() != self.owner.lower() for r in (*a.to, *a.cc)):
                # Mail to reps and organizers: their answers go to the manager, not to coachd.
                headers["Reply-To"] = self.owner
            msg = build_message(
                sender=self.sender,
                to=a.to,
                cc=a.cc,
                rendered=rendered,
                message_id=message_id(self.owner, a.key, self.sender.rsplit("@", 1)[-1]),
                date=now,
                headers=headers,
            )
            imip = a.context.get("imip")
            if isinstance(imip, Mapping):
                # icalendar only when an invitation is sent: a quiet tick never imports it.
                from integrations.imip.encode import attach_calendar

                attach_calendar(msg, imip, now)
        except Exception as e:  # a template or address problem must not stop the tick
            return False, f"email {a.key} could not be built: {e}"
        self.store.mark_email_sending(a.key, kind=a.kind, to=list(a.to), at=now)
        try:
            self.mailer.send(msg)
        except CoachdError as e:
            self.store.mark_email_failed(a.key, at=now, error=str(e))
            return False, f"email {a.key} to {', '.join(a.to)} not sent: {e}"
        self.sent_log.add(a.key, now)
        self.store.mark_email_sent(a.key, at=now)
        return True, None

    # --- the queue of planned emails ---------------------------------------------------------

    def queue(self, actions: Sequence[SendEmail], now: datetime) -> None:
        """Remember these planned emails until sent (call before the tick's outside writes)."""
        queued = self._queued()
        for a in actions:
            rec = self.store.email_record(a.key)
            if a.key in queued or (rec is not None and rec.status == "sent"):
                continue
            queued[a.key] = {
                "kind": a.kind,
                "to": list(a.to),
                "cc": list(a.cc),
                "context": a.context,
                "reason": a.reason,
                "queued_at": now.isoformat(),
                "waits_on": _encode_waits_on(a.waits_on),
            }
        try:
            self.store.put(QUEUE_KEY, queued)
        except TypeError as e:  # a context that is not plain data: send, but unqueued
            log.warning("cannot queue this tick's emails in the state: %s", e)

    def leftovers(self, now: datetime, planned: set[str]) -> list[SendEmail]:
        """Emails queued by an earlier tick, not planned now and not sent; drops the ones
        sent or too old."""
        queued = self._queued()
        out: list[SendEmail] = []
        keep: dict[str, Any] = {}
        for key, q in queued.items():
            rec = self.store.email_record(key)
            if rec is not None and rec.status == "sent":
                continue
            try:
                age = now - datetime.fromisoformat(str(q["queued_at"]))
                action = SendEmail(
                    key=key,
                    kind=str(q["kind"]),
                    to=tuple(q["to"]),
                    cc=tuple(q.get("cc") or ()),
                    context=dict(q["context"]),
                    reason=str(q.get("reason", "")),
                    waits_on=_decode_waits_on(q.get("waits_on")),
                )
            except (KeyError, TypeError, ValueError) as e:
                log.warning("dropping a malformed queued email %s: %s", key, e)
                continue
            if age > MAX_QUEUE_AGE:
                log.warning("dropping email %s: queued %s ago and never sent", key, age)
                continue
            keep[key] = q
            if key not in planned:
                out.append(action)
        if keep != queued:
            self.store.put(QUEUE_KEY, keep)
        return out

    def dequeue(self, key: str) -> None:
        """Forget a queued email that must not be sent after all."""
        queued = self._queued()
        if queued.pop(key, None) is not None:
            self.store.put(QUEUE_KEY, queued)

    def _queued(self) -> dict[str, Any]:
        raw = self.store.get(QUEUE_KEY, {})
        return raw if isinstance(raw, dict) else {}


def _encode_waits_on(w: AfterBooking | AfterDecline | None) -> dict[str, str] | None:
    if isinstance(w, AfterBooking):
        return {"booking": w.key}
    if isinstance(w, AfterDecline):
        return {"decline": w.event_id}
    return None


def _decode_waits_on(raw: object) -> AfterBooking | AfterDecline | None:
    """The queued reference; None for an entry queued before emails carried one."""
    if not isinstance(raw, dict):
        return None
    if isinstance(raw.get("booking"), str):
        return AfterBooking(raw["booking"])
    if isinstance(raw.get("decline"), str):
        return AfterDecline(raw["decline"])
    return None
