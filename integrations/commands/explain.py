"""The shell around planner.explain: read the calendar and the state, find the event, explain.

Reads only: the state store is opened read-only and the calendar through a dry-run overlay,
so `coachd explain` never changes anything.
"""

from __future__ import annotations

from datetime import datetime

from integrations.config_file import LoadedConfig
from integrations.errors import UserError
from integrations.store.state import StateStore
from integrations.tick.app import OverlayKV, open_calendar, read_current, state_path
from planner.coaching import plan_coaching
from planner.explain import explain, find_events
from planner.text import shown
from planner.timeutil import Interval

MAX_LISTED = 10


def explain_event(loaded: LoadedConfig, query: str, now: datetime) -> list[str]:
    """The explanation for the one event `query` names (an id, a UID or part of a title).

    Raises UserError listing the candidates when the query names none or several events.
    """
    policy = loaded.policy
    with StateStore.open(state_path(loaded), readonly=True, now=now) as store:
        kv = OverlayKV(store)  # read-only: nothing a read caches is kept
        read = read_current(loaded, store, now, open_calendar(loaded, kv), kv=kv)
    snapshot = read.snapshot
    found = find_events(snapshot.events, query, now)
    if not found:
        raise UserError(
            f"no event with the id or UID {query!r}, and no upcoming event whose title "
            "contains it (coachd plan lists the upcoming ones)"
        )
    if len(found) > 1:
        tz = policy.manager.tz
        listed = [
            f"  {e.id}  {e.start.astimezone(tz):%a %Y-%m-%d %H:%M}  {shown(e.title)!r}"
            for e in found[:MAX_LISTED]
        ]
        more = [f"  ... and {len(found) - MAX_LISTED} more"] if len(found) > MAX_LISTED else []
        raise UserError(
            f"{len(found)} upcoming events match {query!r}; give one of these ids:\n"
            + "\n".join(listed + more)
        )
    coaching = plan_coaching(policy, snapshot, now)
    blocks = [Interval(b.start, b.end) for b in coaching.blocks]
    warnings = [f"warning: {w}" for w in read.warnings]
    return [*warnings, *explain(policy, snapshot, now, blocks, found[0])]
