"""Pure decisions: the policy model, slot finding, triage, email contexts, the time audit.

Nothing in this package reads a clock, a file or the network. `plan(policy, snapshot, now)`
is the entry point.
"""

from __future__ import annotations

from planner.plan import plan

__all__ = ["plan"]
