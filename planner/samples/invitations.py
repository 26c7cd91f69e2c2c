"""Samples of the invitations coachd sends itself (local calendar): invitation, cancellation."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from planner.actions import Book
from planner.invitations import _request
from planner.samples.team import sample_policy

KINDS = ("invitation", "cancellation")


def invitation_sample(kind: str) -> dict[str, Any]:
    """A realistic context for `coachd preview invitation|cancellation`, built by the real
    code. Raises KeyError for any other kind."""
    if kind not in KINDS:
        raise KeyError(kind)
    policy = sample_policy()
    start = datetime.fromisoformat("2026-12-03T16:00:00+00:00")
    book = Book(
        key="one_on_one:sam@example.com:2026-W49",
        event_id="sampleoneonone",
        kind="one_on_one",
        rep="sam@example.com",
        period="2026-W49",
        generation=0,
        start=start,
        end=start + timedelta(minutes=30),
        title="1:1 Dana / Sam Okafor",
        description="Your goals, your KPIs, and what you need from me.",
        attendees=("dana@example.com", "sam@example.com"),
        reason="every 2 weeks",
    )
    email = _request(
        policy, book.key, book.event_id, 0, book, ("sam@example.com",), "one_on_one", ""
    )
    if kind == "invitation":
        return dict(email.context)
    return {**email.context, "imip": {**email.context["imip"], "method": "CANCEL"}}
