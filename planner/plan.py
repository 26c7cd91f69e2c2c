"""plan(policy, snapshot, now) -> list[Action]: the whole of one tick's decisions.

Order matters for people reading `coachd plan`: coaching bookings first, then triage
decisions (which need the coaching blocks to know what a conflict is), then the emails that
are due (which need the blocks for agendas and the schedule).

One tick converges: planning again right after the actions were carried out adds nothing.
Coaching is planned before triage (triage needs the blocks to see clashes), so the time that
this tick's declines free would only be seen by the next tick. To close that gap, coaching is
planned again on the calendar *as it will be once this tick's declines are sent* (the
manager's answer set to declined on those invitations, as every backend leaves them), and
triage is re-run against the new blocks, until the set of declines stops changing. The
declines coaching relies on are then exactly the declines this tick sends, so the next tick
reads the same free time and books nothing new. A policy whose declines keep changing with
the blocks (a rule on `overlaps_coaching` can do that) falls back to coaching on the calendar
as it is: safe, and converging over the next ticks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from planner.actions import Action, Decline, Hold, Notice
from planner.blocks import CoachingPlan
from planner.brakes import brake_reason
from planner.cases import plan_cases
from planner.coaching import plan_coaching
from planner.emails import plan_emails
from planner.invitations import plan_invitations
from planner.leadership import plan_leadership_report
from planner.model import Snapshot
from planner.policy import Policy
from planner.record_mail import plan_record_mail
from planner.timeutil import Interval
from planner.triage import plan_triage

# Coaching + triage rounds before giving up on a fixed point (two suffice unless a rule
# depends on where the coaching blocks land).
MAX_ROUNDS = 4


def plan(policy: Policy, snapshot: Snapshot, now: datetime, *, force: bool = False) -> list[Action]:
    """Decide what one tick should do. Reads nothing but its arguments.

    When a safety brake is pulled (see planner.brakes) the result is a single Hold, unless
    `force` is set by a person who checked the calendar.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not force:
        reason = brake_reason(snapshot, policy.manager.email, now)
        if reason:
            return [Hold(reason)]
    coaching, triage = _coaching_and_triage(policy, snapshot, now)
    emails = [
        *plan_invitations(policy, snapshot, coaching.actions),
        *plan_emails(policy, snapshot, now, coaching.blocks, coaching.needs),
        *plan_leadership_report(policy, snapshot, now),
        *(plan_record_mail(policy, snapshot, now) if snapshot.record_mail else ()),
        *plan_cases(policy, snapshot, now),
    ]
    # every skip is also a NeedsYou (planner.coaching): one Notice each, marked for status
    notices = [Notice(n.text(), needs_you=n.what, options=n.options) for n in coaching.needs]
    notices += [Notice(r) for r in coaching.conflicts]
    return [*coaching.actions, *triage, *emails, *notices]


def _coaching_and_triage(
    policy: Policy, snapshot: Snapshot, now: datetime
) -> tuple[CoachingPlan, list[Action]]:
    """Coaching planned on the calendar as this tick's declines will leave it, and the triage
    decided against those blocks (see the module docstring)."""
    first: tuple[CoachingPlan, list[Action]] | None = None
    assumed: frozenset[str] = frozenset()
    for _ in range(MAX_ROUNDS):
        coaching = plan_coaching(policy, declined_view(snapshot, assumed), now)
        blocks = [Interval(b.start, b.end) for b in coaching.blocks]
        triage = plan_triage(policy, snapshot, now, blocks)
        first = first or (coaching, triage)
        declined = frozenset(declined_ids(snapshot, triage))
        if declined == assumed:
            return coaching, triage
        assumed = declined
    assert first is not None
    return first


def declined_ids(snapshot: Snapshot, actions: Iterable[Action]) -> set[str]:
    """The ids of the manager's events that the Declines among `actions` will answer: the
    occurrence itself, or every occurrence of a recurring series (backends decline a series
    as a whole)."""
    targets = {a.event_id for a in actions if isinstance(a, Decline)}
    if not targets:
        return set()
    series = {e.uid for e in snapshot.events if e.id in targets and e.recurring}
    return {
        e.id
        for e in snapshot.events
        if e.id in targets or (e.recurring and e.uid in series and e.tag is None)
    }


def declined_view(snapshot: Snapshot, ids: Sequence[str] | frozenset[str]) -> Snapshot:
    """The snapshot with the manager's answer set to declined on the events `ids`."""
    if not ids:
        return snapshot
    wanted = set(ids)
    events = tuple(
        replace(e, self_status="declined") if e.id in wanted else e for e in snapshot.events
    )
    return replace(snapshot, events=events)
