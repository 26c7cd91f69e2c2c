"""Samples of the emails about a decline: the reply to the organizer, the delegate's copy."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from planner.actions import Decline
from planner.model import Attendee, Event
from planner.samples.team import sample_policy
from planner.triage import delegate_context, reply_context

KINDS = ("decline_reply", "delegate")


def triage_sample(kind: str) -> dict[str, Any]:
    """A realistic context for `coachd preview decline_reply|delegate`, built by the real code.

    Raises KeyError for any other kind.
    """
    if kind not in KINDS:
        raise KeyError(kind)
    policy = sample_policy()
    start = datetime.fromisoformat("2026-12-02T16:00:00+00:00")
    event = Event(
        id="sample-ops-review",
        uid="sample-ops-review",
        calendar=policy.manager.email,
        title="Facilities: new desk booking system",
        start=start,
        end=start + timedelta(minutes=45),
        description="Walk-through of the new desk booking tool.\nPlease bring questions.",
        location="Room 4B",
        organizer="ops@example.com",
        attendees=(
            Attendee("ops@example.com", "Olive Ops", "accepted", organizer=True),
            Attendee(policy.manager.email, policy.manager.name),
            Attendee("lee@example.com", "Lee Park"),
        ),
        self_status="needsAction",
    )
    decline = Decline(
        event_id=event.id,
        fingerprint=event.fingerprint(),
        title=event.title,
        organizer="ops@example.com",
        start=start,
        rule="facilities",
        message="Thank you for the invitation. I protect this time for coaching my team.",
        reason="rule 'facilities' matched the title word 'desk'",
        delegate_to="sam@example.com" if kind == "delegate" else None,
    )
    if kind == "delegate":
        return delegate_context(policy, event, decline)
    return reply_context(policy, event, decline)
