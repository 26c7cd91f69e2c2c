"""plan(policy, snapshot, now) -> list[Action]: the whole of one tick's decisions.

Order matters for people reading `coachd plan`: coaching bookings first, then triage
decisions (which need the coaching blocks to know what a conflict is), then the emails that
are due (which need the blocks for agendas and the schedule).
"""

from __future__ import annotations

from datetime import datetime

from planner.actions import Action, Hold, Notice
from planner.brakes import brake_reason
from planner.coaching import plan_coaching
from planner.emails import plan_emails
from planner.invitations import plan_invitations
from planner.leadership import plan_leadership_report
from planner.model import Snapshot
from planner.policy import Policy
from planner.timeutil import Interval
from planner.triage import plan_triage


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
    coaching = plan_coaching(policy, snapshot, now)
    blocks = [Interval(b.start, b.end) for b in coaching.blocks]
    triage = plan_triage(policy, snapshot, now, blocks)
    emails = [
        *plan_invitations(policy, snapshot, coaching.actions),
        *plan_emails(policy, snapshot, now, coaching.blocks),
        *plan_leadership_report(policy, snapshot, now),
    ]
    notices = [Notice(r) for r in (*coaching.skipped, *coaching.conflicts)]
    return [*coaching.actions, *triage, *emails, *notices]
