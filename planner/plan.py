"""plan(policy, snapshot, now) -> list[Action]: the whole of one tick's decisions."""

from __future__ import annotations

from datetime import datetime

from planner.actions import Action
from planner.model import Snapshot
from planner.policy import Policy


def plan(policy: Policy, snapshot: Snapshot, now: datetime) -> list[Action]:
    """Decide what one tick should do. Reads nothing but its arguments."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return []
