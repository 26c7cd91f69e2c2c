"""`coachd explain EVENT`: why triage decides what it does for one meeting (pure).

Lists the event as triage sees it, every protection that applies (in the documented order,
with its level), every rule in order with matched / not matched and why, the category and
the decision it leads to, and the decision taken before (if any). The tool a manager uses
to debug a policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from planner.actions import Decline, Flag, Keep
from planner.classify import classify
from planner.contexts import fmt_datetime, fmt_time
from planner.model import Decision, Event, Snapshot
from planner.policy import Policy
from planner.rules import MatchContext, check_rule, guests
from planner.text import normalise, shown
from planner.timeutil import Interval
from planner.triage import decide_one, policy_hash, protections

__all__ = ["explain", "find_events"]

_RESPONSE = {"needsAction": "needs_action", None: "none (not on the guest list)"}


def find_events(events: Sequence[Event], query: str, now: datetime) -> list[Event]:
    """The events `query` names: an exact id or UID; else the upcoming events (one per
    series) whose normalised title contains the normalised query."""
    exact = [e for e in events if query in (e.id, e.uid)]
    if exact:
        upcoming = [e for e in exact if e.start > now]
        return [min(upcoming or exact, key=lambda e: e.start)]
    needle = normalise(query)
    seen: set[str] = set()
    out = []
    for e in sorted(events, key=lambda e: e.start):
        if e.start <= now or not needle or needle not in normalise(e.title):
            continue
        key = e.uid if e.recurring else e.id
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out


def explain(
    policy: Policy,
    snapshot: Snapshot,
    now: datetime,
    coaching: Sequence[Interval],
    event: Event,
) -> list[str]:
    """The explanation, one line per item, ready to print."""
    tz = policy.manager.tz
    ctx = MatchContext.build(policy, coaching)
    start, end = event.start.astimezone(tz), event.end.astimezone(tz)
    said = _RESPONSE.get(event.self_status, event.self_status)
    lines = [
        f"Event {event.id}: {shown(event.title)!r}",
        f"  {fmt_datetime(start)}-{fmt_time(end)}, organizer {event.organizer or '(none)'}, "
        f"{len(guests(event))} people, your response: {said}"
        + (", recurring" if event.recurring else ""),
    ]
    category, why = classify(policy, event, ctx)
    lines.append(f"Category: {category} ({why})")

    lines.append("Protections (checked in order; the first of the strictest level is named):")
    found = protections(policy, event, ctx)
    lines += [f"  - {p.rule} (at most {p.level}): {p.reason}" for p in found] or ["  - none"]

    lines.append("Rules (in order; the first with an action decides, every matching at_most caps):")
    for i, rule in enumerate(policy.triage.rules, 1):
        what = f"action: {rule.action}" if rule.action else f"at_most: {rule.at_most}"
        lines.append(f"  {i}. {rule.name} [{what}] {check_rule(rule, event, ctx).describe()}")
    if not policy.triage.rules:
        lines.append("  - no rules in triage.rules")

    inv, decision = decide_one(policy, snapshot, now, coaching, event)
    if inv is None:
        lines.append(f"Decision: none: {_why_not_invitation(policy, event, now)}")
    elif decision is None:
        lines.append("Decision: none (no rule, budget or clash acts on it; it stays open)")
    else:
        lines.append(f"Decision ({policy.triage.mode} mode): {_describe(decision)}")
    earlier = _earlier(snapshot, event)
    if earlier is not None:
        d, fp_same = earlier
        when = fmt_datetime(d.decided_at.astimezone(tz))
        lines.append(f"Decided before, on {when}: {d.action} by {d.rule!r}: {d.reason}")
        if not fp_same:
            lines.append("  (the time or title changed since, so it is decided again)")
        elif d.policy and d.policy not in (policy_hash(policy), "manager"):
            lines.append("  (the policy changed since: it is re-decided once if still open)")
        else:
            lines.append("  (it is not decided again)")
    return lines


def _describe(d: Decline | Flag | Keep) -> str:
    verb = "Delegate" if isinstance(d, Decline) and d.delegate_to else type(d).__name__
    cap = getattr(d, "cap", None)
    named = f"rule {d.rule!r}" + (f", capped by {cap!r}" if cap else "")
    return f"{verb} [{named}] -- {d.reason}"


def _why_not_invitation(policy: Policy, event: Event, now: datetime) -> str:
    if event.tag is not None:
        return "coachd booked it"
    if event.cancelled:
        return "it is cancelled"
    if event.self_status == "declined":
        return "you declined it"
    if event.start <= now:
        return "it has started or is over"
    if event.start >= now + policy.coaching.horizon:
        return "it is beyond coaching.horizon; triage decides it when it comes closer"
    if event.event_type != "default":
        return f"it is a {event.event_type} entry"
    return "you are neither its organizer nor on its guest list"


def _earlier(snapshot: Snapshot, event: Event) -> tuple[Decision, bool] | None:
    """The decision taken before for the event (or its series), and whether it still fits."""
    d = snapshot.decisions.get(event.id)
    if d is None and event.recurring:
        prefix = f"series:{event.uid}|"
        d = next((x for x in snapshot.decisions.values() if x.fingerprint.startswith(prefix)), None)
    if d is None:
        return None
    fits = d.fingerprint == event.fingerprint() or d.fingerprint.startswith("series:")
    return d, fits
