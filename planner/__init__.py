"""Pure decisions: the policy model, slot finding, triage, email contexts, the time audit.

Nothing in this package reads a clock, a file or the network. The entry point is
`planner.plan.plan(policy, snapshot, now)`.
"""
