"""Email the manager once per disk-full or permission fault, without writing the state.

The outbox records every email in the state before and after sending; a full disk refuses
exactly that write, so a fault email cannot go through it. It goes through the error slot
instead (`error_slot`: a small file reserved while there was room, overwritten in place),
which holds the open fault *episode*: when it began, its sentence, and where its email is:

- `unsent`: not sent yet (or the transport refused it: tried again on the next fault);
- `sending`: recorded, fsynced, *before* the transport was called;
- `sent`: the transport accepted it.

A fault seen with the episode `sending` or `sent` sends nothing: at most one email per
episode, never a duplicate. The price: a kill between recording `sending` and the transport
accepting the message loses that episode's email (the fault still shows in the log and in
`coachd status`). Over SMTP nothing could recognise a second copy, and an email that says
"disk full" twice because of one kill is worse than none in a window of a few hundred ms.
When the slot cannot be written (it was never reserved, or the file system refuses even
that), nothing is sent either: with nowhere to record it, the email would go out on every
tick.

An episode ends at the first tick recorded in the state without such a fault; a later
fault is a new episode with its own email. SMTP, Gmail and Graph send without needing the
local disk; the default Maildir transport writes a file, so on a full disk it cannot
deliver (its error is logged and the next fault of the episode tries again).
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from integrations.errors import CoachdError, describe_os_error
from integrations.tick import error_slot
from planner.emails import fault_email
from planner.ids import message_id

if TYPE_CHECKING:  # every tick imports this module (to close an episode): no jinja2 here
    from integrations.mail.base import Mailer
    from integrations.mail.render import Renderer
    from planner.policy import Policy

log = logging.getLogger(__name__)

# Faults a person must fix on the machine: no space, no quota, read-only, no permission.
FAULT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})


def is_fault(e: BaseException) -> bool:
    """Whether `e` is a disk-full, quota, read-only or permission error."""
    return isinstance(e, OSError) and e.errno in FAULT_ERRNOS


def notify(
    state: Path,
    e: OSError,
    now: datetime,
    *,
    policy: Policy,
    mailer: Callable[[], Mailer],
    renderer: Callable[[], Renderer],
) -> str:
    """Email the manager about fault `e` unless this episode's email went (or is going)
    out already. `mailer` and `renderer` are called only when an email is due. Returns
    what happened, in a few words: `sent`, `already sent`, `already sending`, `not
    recorded` (the slot could not be written) or `not sent: <why>`."""
    sentence = describe_os_error(e)
    episode = error_slot.read_fault(state)
    if episode is None:
        episode = {"since": now.isoformat(), "message": sentence, "mail": "unsent"}
    if episode.get("mail") in ("sending", "sent"):
        return f"already {episode['mail']}"
    try:
        since = datetime.fromisoformat(str(episode["since"]))
    except (KeyError, ValueError):
        since = now
        episode["since"] = now.isoformat()
    episode["message"] = sentence
    from integrations.mail.message import build_message

    try:
        action = fault_email(policy, sentence, since)
        sender = policy.email.sender
        msg = build_message(
            sender=sender,
            to=action.to,
            rendered=renderer().render(action.kind, dict(action.context)),
            message_id=message_id(policy.manager.email, action.key, sender.rsplit("@", 1)[-1]),
            date=now,
            headers={"X-Coachd-Key": action.key},
        )
        transport = mailer()
    except (CoachdError, OSError, ValueError) as err:
        log.error("the fault email could not be built: %s", err)
        return f"not sent: {err}"
    episode["mail"] = "sending"
    if not error_slot.write_fault(state, episode):
        log.error(
            "cannot record the fault email in %s, so it is not sent (it could go out on "
            "every tick); the fault is in the log and in `coachd status`",
            error_slot.slot_path(state),
        )
        return "not recorded"
    try:
        transport.send(msg)
    except (CoachdError, OSError) as err:
        why = describe_os_error(err) if isinstance(err, OSError) else str(err)
        episode.update(mail="unsent", error=why[:300])
        error_slot.write_fault(state, episode)
        log.error("the email about this fault could not be sent: %s", why)
        return f"not sent: {why}"
    episode.update(mail="sent", sent_at=now.isoformat())
    episode.pop("error", None)
    error_slot.write_fault(state, episode)
    log.info("emailed %s about the fault: %s", policy.manager.email, sentence)
    return "sent"


def clear(state: Path, now: datetime) -> None:
    """End the open fault episode, if any (a tick was recorded without a fault): the next
    fault is a new episode with its own email."""
    episode = error_slot.read_fault(state)
    if episode is None:
        return
    if error_slot.write_fault(state, None):
        log.info("the fault of %s is over (%s)", episode.get("since"), now.isoformat())
