"""Sample of the confirmation coachd sends after acting on the manager's reply."""

from __future__ import annotations

from typing import Any

from planner.model import Reply
from planner.replies import reply_context
from planner.samples.team import sample_policy


def reply_sample(kind: str) -> dict[str, Any]:
    """A realistic context for `reply_confirmation` (preview and the template check)."""
    if kind != "reply_confirmation":
        raise KeyError(kind)
    policy = sample_policy()
    reply = Reply("<r1@example.com>", "dana@example.com", "Re: Triage digest Wed 2 Dec 2026")
    return reply_context(
        policy,
        reply,
        ["[1] Wed 2 Dec 2026 10:00 'Parking badge update': declined"],
        ["[4]: its time or title changed since the digest; left alone"],
        ["thanks!"],
    )
