"""Approve by reply: the manager answers the digest's numbered flags by email (pure).

A reply holds one command per line, read until the first quoted line (`>`), an
"On ... wrote:" line or a signature:

    decline 2            decline 2, 3 and 5        decline all
    delegate 3 to sam@acme.com                     keep 4        keep all

Only a message from the manager's own address counts; anything else is marked processed and
ignored (no answer: answering strangers would make coachd a source of backscatter). A reply
must answer a digest (its In-Reply-To or References names the digest's Message-ID), so the
numbers mean what the manager saw. A meeting whose time or title changed since that digest,
that is over, cancelled or already declined is left alone and the confirmation says why.

A reply never changes the policy: it answers single invitations. Declines and keeps taken
this way are recorded with policy `manager`, so a later policy change never re-decides them.
Each handled reply yields one confirmation email and a `Processed` action.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from planner.actions import Action, Decline, Keep, Processed, SendEmail
from planner.contexts import fmt_datetime
from planner.ids import message_id
from planner.model import Reply, Snapshot
from planner.policy import Policy, Rule
from planner.text import normalise, shown
from planner.triage import MANAGER_POLICY, Invitation, emails_for_decline, invitations

__all__ = ["Command", "parse_commands", "plan_replies"]

MAX_COMMANDS = 50
MAX_LINES = 200
RULE = "reply"
_DEFAULT_MESSAGE = Rule.model_fields["message"].default
_ADDRESS = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")
_NUMBERS = r"(all|\d+(?:\s*(?:,|and|&|\s)\s*\d+)*)"
_COMMAND = re.compile(rf"^(decline|keep)\s+{_NUMBERS}\s*\.?$")
_DELEGATE = re.compile(rf"^delegate\s+{_NUMBERS}\s+to\s+(\S+?)\s*\.?$")
_STOP = re.compile(r"^(>|on .{0,200} wrote:?$|-- ?$|-----\s*original message|from:\s)")


@dataclass(frozen=True)
class Command:
    """One line of a reply: a verb, the numbers it applies to (empty for `all`), a delegate."""

    verb: Literal["decline", "delegate", "keep"]
    numbers: tuple[int, ...]
    everything: bool
    to: str | None
    line: str


def parse_commands(text: str) -> tuple[list[Command], list[str]]:
    """The commands in a reply's text and the lines that were not understood.

    Blank lines are skipped; reading stops at quoted text or a signature; at most
    `MAX_COMMANDS` commands and `MAX_LINES` lines are read.
    """
    commands: list[Command] = []
    unknown: list[str] = []
    for raw in text.splitlines()[:MAX_LINES]:
        line = normalise(raw).strip("*_ ")
        if not line:
            continue
        if _STOP.match(line):
            break
        cmd = _parse_line(line)
        if cmd is None:
            unknown.append(shown(raw, 80))
        elif len(commands) < MAX_COMMANDS:
            commands.append(cmd)
    return commands, unknown


def _parse_line(line: str) -> Command | None:
    m = _DELEGATE.match(line)
    if m:
        nums, to = m.group(1), m.group(2).strip("<>")
        return _command("delegate", nums, to, line)
    m = _COMMAND.match(line)
    if m:
        verb: Literal["decline", "keep"] = "decline" if m.group(1) == "decline" else "keep"
        return _command(verb, m.group(2), None, line)
    return None


def _command(
    verb: Literal["decline", "delegate", "keep"], nums: str, to: str | None, line: str
) -> Command:
    if nums == "all":
        return Command(verb, (), True, to, line)
    numbers = tuple(dict.fromkeys(int(n) for n in re.findall(r"\d+", nums)))
    return Command(verb, numbers, False, to, line)


def _digest_answered(policy: Policy, snapshot: Snapshot, reply: Reply) -> str | None:
    """The email key of the digest this reply answers, or None."""
    domain = policy.email.sender.rsplit("@", 1)[1]
    manager = policy.manager.email
    ids = {message_id(manager, key, domain): key for key in snapshot.digest_numbers}
    return next((ids[r] for r in reply.refs if r in ids), None)


def plan_replies(policy: Policy, snapshot: Snapshot, now: datetime) -> list[Action]:
    """Decline, Keep and email actions for the manager's replies, each reply confirmed and
    marked processed. See the module docstring."""
    out: list[Action] = []
    upcoming = {e.id: inv for inv in invitations(policy, snapshot.events, now) for e in inv.members}
    handled: set[str] = set()
    for reply in snapshot.replies:
        if reply.sender.strip().lower() != policy.manager.email:
            out.append(Processed(reply.message_id, f"ignored: from {reply.sender}, not you"))
            continue
        commands, unknown = parse_commands(reply.text)
        key = _digest_answered(policy, snapshot, reply)
        if key is None or not commands:
            why = "no command in it" if not commands else "it does not answer a digest"
            if commands:  # the manager meant something: say why nothing happened
                out.append(_confirmation(policy, reply, [], [why], unknown))
            out.append(Processed(reply.message_id, f"ignored: {why}"))
            continue
        done, refused = _carry_out(
            policy, snapshot, reply, commands, snapshot.digest_numbers[key], upcoming, handled
        )
        said = [d for _, d in done if d]
        out += [a for a, _ in done]
        out.append(_confirmation(policy, reply, said, refused, unknown))
        out.append(Processed(reply.message_id, f"{len(said)} meeting(s) answered by your reply"))
    return out


def _carry_out(
    policy: Policy,
    snapshot: Snapshot,
    reply: Reply,
    commands: Sequence[Command],
    numbers: Any,
    upcoming: dict[str, Invitation],
    handled: set[str],
) -> tuple[list[tuple[Action, str]], list[str]]:
    """(action, what it did) pairs and the sentences saying what was not done and why."""
    done: list[tuple[Action, str]] = []
    refused: list[str] = []
    tz = policy.manager.tz
    for cmd in commands:
        targets = sorted(numbers, key=int) if cmd.everything else [str(n) for n in cmd.numbers]
        if cmd.verb == "delegate" and (cmd.to is None or not _ADDRESS.match(cmd.to)):
            refused.append(f"{cmd.line!r}: {shown(cmd.to or '', 80)!r} is not an email address")
            continue
        for n in targets:
            if n not in numbers:
                refused.append(f"{cmd.line!r}: the digest has no meeting number {n}")
                continue
            event_id, fingerprint = numbers[n]
            inv = upcoming.get(event_id)
            if inv is None:
                refused.append(f"[{n}]: over, cancelled or already declined; left alone")
                continue
            if inv.fingerprint != fingerprint:
                refused.append(f"[{n}]: its time or title changed since the digest; left alone")
                continue
            if inv.event.id in handled:
                refused.append(f"[{n}]: answered twice in your reply; the first answer counts")
                continue
            handled.add(inv.event.id)
            e = inv.event
            label = f"[{n}] {fmt_datetime(e.start.astimezone(tz))} {shown(e.title, 80)!r}"
            why = f"you replied {cmd.line!r} to the digest"
            if cmd.verb == "keep":
                keep = Keep(
                    e.id, inv.fingerprint, e.title, e.organizer or "", e.start, RULE, why,
                    policy=MANAGER_POLICY,
                )  # fmt: skip
                done.append((keep, f"{label}: kept"))
                continue
            decline = Decline(
                event_id=e.id,
                fingerprint=inv.fingerprint,
                title=e.title,
                organizer=e.organizer or "",
                start=e.start,
                rule=RULE,
                message=_DEFAULT_MESSAGE,
                reason=why + (" (the whole series)" if e.recurring else ""),
                delegate_to=cmd.to if cmd.verb == "delegate" else None,
                policy=MANAGER_POLICY,
            )
            verb = f"delegated to {cmd.to}" if cmd.verb == "delegate" else "declined"
            done.append((decline, f"{label}: {verb}"))
            done += [(m, "") for m in emails_for_decline(policy, inv, decline)]
    return done, refused


def _confirmation(
    policy: Policy, reply: Reply, done: list[str], refused: list[str], unknown: list[str]
) -> SendEmail:
    digest = hashlib.sha256(reply.message_id.encode()).hexdigest()[:16]
    context = reply_context(policy, reply, done, refused, unknown)
    return SendEmail(
        key=f"reply_confirmation:{digest}",
        kind="reply_confirmation",
        to=(policy.manager.email,),
        context=context,
        reason=f"confirm your reply: {len(done)} done, {len(refused)} not done",
    )


def reply_context(
    policy: Policy, reply: Reply, done: list[str], refused: list[str], unknown: list[str]
) -> dict[str, Any]:
    """Context of `reply_confirmation`: what coachd did with the manager's reply."""
    return {
        "manager": {"name": policy.manager.name, "email": policy.manager.email},
        "subject": shown(reply.subject, 120),
        "done": done,
        "refused": refused,
        "unknown": unknown[:5],
        "counts": {"done": len(done), "refused": len(refused), "unknown": len(unknown)},
    }
