"""Reps' answers to coachd's invitations: iMIP REPLYs from the inbox, recorded on the local
calendar (RFC 6047/5546).

Each tick the inbox is read once (`read_inbox`); every `METHOD:REPLY` calendar part of a
message not handled before (`SeenMessages` namespace "imip") is applied to the manager's copy
of the event it answers (`LocalCalendar.apply_reply`: the sender's own PARTSTAT only, see
`imip.apply`), and the file is written atomically, so the next read (and the planner's
lifecycle: a rep's decline re-books the one-on-one) sees the answer.

- A reply that must not be applied (someone answering for another, an unknown UID, an older
  SEQUENCE, an event coachd did not book) is logged with the reason; the message counts as
  handled.
- A calendar part that does not parse is skipped with a warning naming the message; other
  methods (a REQUEST, a CANCEL) are not answers and are left alone.
- A file that cannot be written (OSError) leaves the message unhandled: the next tick tries
  again. Applying is idempotent, so a kill between the write and the record repeats nothing.

Google and Microsoft record answers themselves: there the calendar has no `apply_reply` and
nothing is applied.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from integrations.errors import CoachdError
from integrations.inbox.base import InboundMessage, Inbox, InboxRead, SeenMessages
from integrations.store.kv import KeyValue

log = logging.getLogger(__name__)

IMIP = "imip"  # the namespace of this use in the inbox's memory of handled messages


@runtime_checkable
class ReplyTarget(Protocol):
    """A calendar that records attendees' answers itself (the local backend)."""

    def apply_reply(self, owner: str, reply: Any, sender: str) -> bool: ...


def read_inbox(inbox: Inbox, since: datetime, warnings: list[str]) -> InboxRead:
    """One listing of the inbox; a mailbox that cannot be reached is a warning, no mail."""
    try:
        read = inbox.read(since)
    except CoachdError as e:
        warnings.append(f"the inbox was not read this tick: {e}")
        return InboxRead()
    warnings.extend(read.warnings)
    return read


def record_replies(
    messages: Sequence[InboundMessage],
    calendar: object,
    owner: str,
    kv: KeyValue,
    now: datetime,
) -> int:
    """Apply the REPLY parts of the messages not handled before; returns how many changed an
    answer. Does nothing when `calendar` does not record answers (Google, Microsoft)."""
    if not isinstance(calendar, ReplyTarget):
        return 0
    seen = SeenMessages(kv, IMIP)
    done = seen.seen()
    handled: list[str] = []
    changed = 0
    for message in messages:
        if not message.calendar or message.message_id in done:
            continue
        try:
            changed += sum(_apply_part(calendar, owner, message, text) for text in message.calendar)
        except OSError as e:
            log.warning(
                "inbox message %s from %s: the calendar reply is not recorded yet (next tick "
                "tries again): %s",
                message.message_id,
                message.sender,
                e.strerror or e,
            )
            continue
        handled.append(message.message_id)
        done.add(message.message_id)
    seen.add(handled, now)
    return changed


def _apply_part(target: ReplyTarget, owner: str, message: InboundMessage, text: str) -> bool:
    import icalendar

    from integrations.imip.apply import ReplyRejected

    where = f"inbox message {message.message_id} from {message.sender}"
    try:
        reply = icalendar.Calendar.from_ical(text)
        if not isinstance(reply, icalendar.Calendar) or reply.name != "VCALENDAR":
            raise ValueError("not a VCALENDAR")
    except Exception as e:  # icalendar raises many kinds on hostile text
        log.warning("%s: a malformed calendar part skipped: %s", where, str(e)[:200])
        return False
    method = str(reply.get("METHOD", "")).upper()
    if method != "REPLY":
        log.debug("%s: a METHOD:%s calendar part is not an answer; left alone", where, method)
        return False
    try:
        changed = target.apply_reply(owner, reply, message.sender)
    except ReplyRejected as e:
        log.warning("%s: calendar reply rejected: %s", where, e)
        return False
    except ValueError as e:  # the answered file itself no longer parses, or a bad UID
        log.warning("%s: calendar reply not applied: %s", where, e)
        return False
    if changed:
        log.info("%s: calendar reply recorded on the manager's copy", where)
    return changed
