"""Carry out a plan: each action idempotently, each outcome recorded in the state store.

Order of writes makes a kill at any instant safe:
- a booking is recorded `pending` before the calendar write and `booked` after it; the
  calendar write itself uses a deterministic id, so repeating it is harmless;
- a triage decision is recorded after the calendar accepted it; repeating a flag is
  harmless, and a declined invitation is not an open invitation any more;
- a decline is recorded as intended (`decline:intents`) before it is sent and confirmed
  after: a tick killed in between re-issues it next time, the backend finds it already
  declined and sends nothing, and the decision (digest, counts) is recorded then;
- an email is recorded `sending` before and `sent` after delivery, with a deterministic
  Message-ID; a crash between the two resends it at most once;
- the tick's emails are queued in the state before any outside write, so an email whose
  trigger the writes consume (a delegate's email, planned with the decline) is still sent
  by the next tick if this one dies.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from integrations.calendar.base import Calendar, CalendarWrite, WriteOutcome
from integrations.errors import CoachdError
from integrations.inbox.base import SeenMessages
from integrations.mail.base import Mailer
from integrations.store.state import StateStore
from integrations.tick.outbox import Outbox
from integrations.tick.snapshot import DIGEST_NUMBERS, REPLIES
from planner import email_kinds
from planner.actions import (
    Action,
    AfterBooking,
    AfterDecline,
    Book,
    Cancel,
    Decline,
    Flag,
    Hold,
    Keep,
    Move,
    Notice,
    Processed,
    Remember,
    SendEmail,
)
from planner.model import BookingRecord, Decision

if TYPE_CHECKING:
    from integrations.tick.outbox import RendererSource

# How long a digest's numbers can be answered by reply.
DIGEST_NUMBERS_DAYS = 30

log = logging.getLogger(__name__)

INTENTS = "decline:intents"  # event id -> a Decline sent but not yet confirmed
NEEDS_YOU = "needs_you"  # the state key holding the last tick's "needs you" list


@dataclass
class TickReport:
    """What a tick did: counts by outcome, the errors met, and a brake's reason if pulled."""

    counts: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    held: str | None = None
    stopped: bool = False
    undone: Counter[str] = field(default_factory=Counter)  # left for the next tick by a stop

    @property
    def ok(self) -> bool:
        return not self.errors and self.held is None


class Executor:
    """Applies actions against the calendar, the mailer and the state store."""

    def __init__(
        self,
        *,
        owner: str,
        calendar: Calendar,
        mailer: Mailer,
        store: StateStore,
        renderer: RendererSource,
        sender: str,
        now: datetime,
        stop_requested: Callable[[], bool] = lambda: False,
    ) -> None:
        self.owner = owner
        self.calendar = calendar
        self.mailer = mailer
        self.store = store
        self.renderer = renderer
        self.sender = sender
        self.now = now
        self.stop_requested = stop_requested
        self.outbox = Outbox(
            owner=owner, sender=sender, mailer=mailer, store=store, renderer=renderer
        )
        self.report = TickReport()
        self._failed_keys: set[str] = set()
        self._failed_declines: set[str] = set()

    def run(self, actions: Sequence[Action]) -> TickReport:
        """Carry out every action; one failing action never stops the others."""
        holds = [a for a in actions if isinstance(a, Hold)]
        if holds:
            self.report.held = holds[0].reason
            log.warning("safety brake: %s", holds[0].reason)
            return self.report
        for a in actions:
            if isinstance(a, Notice):
                log.info("note: %s", a.reason)
        emails = [a for a in actions if isinstance(a, SendEmail)]
        needs = [
            {"what": a.needs_you, "text": a.reason, "options": list(a.options)}
            for a in actions
            if isinstance(a, Notice) and a.needs_you
        ]
        with self.store.batch():
            # what the manager must decide, as of this tick, for `coachd status`
            self.store.put(NEEDS_YOU, {"at": self.now.isoformat(), "items": needs})
            self._remember([a for a in actions if isinstance(a, Remember)])
            leftovers = self.outbox.leftovers(self.now, {a.key for a in emails})
            if emails:
                self.outbox.queue(emails, self.now)
                self._remember_numbers(emails)
        for a in leftovers:
            log.info("sending %s, planned by an earlier tick that did not finish", a.key)
        writes: list[CalendarWrite] = [
            a for a in actions if isinstance(a, Book | Move | Cancel | Decline | Flag)
        ]
        writes += self._unconfirmed({a.event_id for a in writes if isinstance(a, Decline)})
        if writes and not self._stopping():
            self._write(writes)
        elif writes:
            self.report.undone["calendar writes"] += len(writes)
        for a in actions:
            if isinstance(a, Keep):
                self._decided(a, "keep")
        outgoing = [*emails, *leftovers]
        for n, a in enumerate(outgoing):
            if self._stopping():
                self.report.undone["emails"] += len(outgoing) - n
                break
            self._send(a)
        # Last: a reply is marked handled only after what it asked for was done (or tried).
        processed = [a for a in actions if isinstance(a, Processed)]
        if processed and not self.report.stopped:
            for space in sorted({a.namespace for a in processed}):
                ids = [a.message_id for a in processed if a.namespace == space]
                SeenMessages(self.store, space).add(ids, self.now)
                label = "replies" if space == REPLIES else f"{space} mail"
                self.report.counts[label] += len(ids)
            ignored = sum(1 for a in processed if a.ignored and a.namespace != REPLIES)
            if ignored:
                self.report.counts["mail ignored"] += ignored
        return self.report

    def _remember_numbers(self, emails: Sequence[SendEmail]) -> None:
        """Keep each digest's numbered flags, so a reply (`decline 2`) can be resolved."""
        digests = [a for a in emails if a.kind == "digest" and a.context.get("numbers")]
        if not digests:
            return
        known = self.store.get(DIGEST_NUMBERS, {})
        known = dict(known) if isinstance(known, dict) else {}
        cutoff = (self.now - timedelta(days=DIGEST_NUMBERS_DAYS)).date().isoformat()
        known = {k: v for k, v in known.items() if k.removeprefix("digest:") >= cutoff}
        for a in digests:
            known[a.key] = dict(a.context["numbers"])
        self.store.put(DIGEST_NUMBERS, known)

    def _stopping(self) -> bool:
        if self.stop_requested():
            self.report.stopped = True
            return True
        return False

    def _error(self, what: str) -> None:
        log.error("%s", what)
        self.report.errors.append(what)

    # --- bookings -----------------------------------------------------------------------

    def _remember(self, items: Sequence[Remember]) -> None:
        for r in items:
            self.store.put_booking(_record(r, r.status))
            self.report.counts[f"remembered_{r.status}"] += 1
            log.info("remembered %s as %s: %s", r.key, r.status, r.reason)

    def _write(self, writes: Sequence[CalendarWrite]) -> None:
        # Each group is one durable state write (all or nothing), not one per record: the
        # intents before any calendar write, the outcomes after all of them. A kill between
        # the two leaves `pending` bookings that the next tick finds in the calendar.
        intents = self._intents()
        with self.store.batch():
            for w in writes:
                if isinstance(w, Book):
                    self.store.put_booking(_record(w, "pending"))
                elif isinstance(w, Decline):
                    intents[w.event_id] = _encode_decline(w)
            if intents:
                self.store.put(INTENTS, intents)
        try:
            outcomes = self.calendar.apply(self.owner, writes)
        except CoachdError as e:
            outcomes = [WriteOutcome(action=w, error=str(e), transient=True) for w in writes]
        with self.store.batch():
            for o in outcomes:
                self._outcome(o)
                if isinstance(o.action, Decline):
                    # Confirmed, or failed: a failed decline has no decision, so the planner
                    # plans it again; only a kill leaves an intent behind.
                    intents.pop(o.action.event_id, None)
            if intents:
                self.store.put(INTENTS, intents)
            else:
                self.store.delete(INTENTS)

    def _intents(self) -> dict[str, Any]:
        raw = self.store.get(INTENTS)
        return dict(raw) if isinstance(raw, dict) else {}

    def _unconfirmed(self, planned: set[str]) -> list[Decline]:
        """Declines an earlier tick sent (or was sending) when it was killed, to be confirmed:
        the backend sends nothing for one that is already declined."""
        out = []
        for event_id, raw in self._intents().items():
            if event_id in planned:
                continue
            try:
                out.append(_decode_decline(raw))
            except (KeyError, TypeError, ValueError) as e:
                log.warning("dropping an unreadable decline record for %s: %s", event_id, e)
                continue
            log.info("confirming the decline of %s, sent by a tick that did not finish", event_id)
        return out

    def _outcome(self, o: WriteOutcome) -> None:
        a = o.action
        if o.error:
            if isinstance(a, Book | Move | Cancel):
                self._failed_keys.add(a.key)
            elif isinstance(a, Decline):
                self._failed_declines.add(a.event_id)
            self._error(f"{type(a).__name__} {_label(a)} failed: {o.error}")
            return
        if isinstance(a, Book):
            self.store.put_booking(_record(a, "booked"))
            self._log("booked", f"{a.title} {a.start.isoformat()}")
        elif isinstance(a, Move):
            old = self.store.bookings().get(a.key)
            if old and old.event_id == a.event_id:
                self.store.put_booking(replace(old, start=a.start, end=a.end, status="booked"))
            self._log("moved", f"{a.key} -> {a.start.isoformat()}")
        elif isinstance(a, Cancel):
            old = self.store.bookings().get(a.key)
            # a Cancel of a declined generation runs beside the Book of the next one, which
            # already owns the record: only the record of the event removed turns cancelled
            if old and old.event_id == a.event_id:
                self.store.put_booking(replace(old, status="cancelled"))
            self._log("cancelled", a.key)
        elif isinstance(a, Decline):
            self._decided(a, "delegate" if a.delegate_to else "decline")
        elif isinstance(a, Flag):
            self._decided(a, "flag")

    def _decided(self, a: Decline | Flag | Keep, what: str) -> None:
        self.store.put_decision(
            Decision(
                event_id=a.event_id,
                fingerprint=a.fingerprint,
                action=what,
                rule=a.rule,
                reason=a.reason,
                decided_at=self.now,
                title=a.title,
                organizer=a.organizer,
                start=a.start,
                cap=None if isinstance(a, Decline) else a.cap,
                policy=a.policy,
                was=a.was,
            )
        )
        if what != "keep":
            self._log(
                "declined" if what in ("decline", "delegate") else "flagged",
                f"{a.title!r} ({a.rule})",
            )

    def _log(self, what: str, detail: str) -> None:
        self.report.counts[what] += 1
        self.store.log_action(self.now, what, detail)
        log.info("%s: %s", what, detail)

    # --- email --------------------------------------------------------------------------

    def _send(self, a: SendEmail) -> None:
        w = a.waits_on
        if isinstance(w, AfterBooking) and w.key in self._failed_keys:
            log.info("not sending %s: its booking failed this tick", a.key)
            self.outbox.dequeue(a.key)  # the next tick plans it again with the booking
            return
        if isinstance(w, AfterDecline) and w.event_id in self._failed_declines:
            log.info("not sending %s: the decline failed this tick", a.key)
            return
        kind = email_kinds.kind(a.kind)
        if w is None and kind is not None and kind.waits_on is not None:
            # Queued by an older coachd, before emails named what they wait on.
            log.info("sending %s: it waits on a %s it does not name", a.key, kind.waits_on)
        sent, error = self.outbox.send(a, self.now)
        if error:
            self._error(error)
        elif sent:
            self._log("emailed", f"{a.kind} to {', '.join(a.to)}")


def _record(b: Book | Remember, status: str) -> BookingRecord:
    """The state's memory of a booking, from the action that books or remembers it."""
    return BookingRecord(
        key=b.key,
        event_id=b.event_id,
        generation=b.generation,
        status=status,  # type: ignore[arg-type]
        kind=b.kind,
        rep=b.rep,
        start=b.start,
        end=b.end,
        person_moved=b.person_moved if isinstance(b, Remember) else False,
    )


def _encode_decline(d: Decline) -> dict[str, Any]:
    raw = asdict(d)
    raw["start"] = d.start.isoformat()
    return raw


def _decode_decline(raw: Any) -> Decline:
    fields = dict(raw)
    fields["start"] = datetime.fromisoformat(str(fields["start"]))
    return Decline(**fields)


def _label(a: CalendarWrite) -> str:
    if isinstance(a, Book):
        return f"{a.title!r} at {a.start.isoformat()}"
    if isinstance(a, Decline | Flag):
        return f"{a.title!r}"
    return a.key
