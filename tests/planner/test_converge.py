"""One tick converges: planning again after the actions were carried out adds nothing.

In decline mode this is the hard case: the time a tick's declines free must be booked by that
same tick (planner.plan), or the next tick books into it and a killed-and-restarted run ends
up with a different calendar than an uninterrupted one.
"""

from __future__ import annotations

import os
from datetime import datetime, time, timedelta

from hypothesis import HealthCheck, given, settings
from strategies import MANAGER, apply, event, triage_worlds

from planner.actions import Action, Book, Cancel, Decline, Flag, Keep, Move, Remember, SendEmail
from planner.model import Attendee, Snapshot
from planner.periods import snapshot_window
from planner.plan import plan
from planner.policy import Policy
from planner.timeutil import local_dt

WRITES = (Book, Move, Cancel, Remember, Decline, Flag, Keep, SendEmail)
SETTINGS = settings(
    max_examples=int(os.environ.get("COACHD_HYPOTHESIS_EXAMPLES", "80")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _writes(actions: list[Action]) -> list[Action]:
    return [a for a in actions if isinstance(a, WRITES)]


@SETTINGS
@given(triage_worlds())
def test_planning_again_after_a_decline_mode_tick_does_nothing(
    world: tuple[Policy, Snapshot, datetime],
) -> None:
    pol, snap, now = world
    first = plan(pol, snap, now, force=True)
    again = plan(pol, apply(snap, first), now, force=True)
    assert _writes(again) == []


def test_time_freed_by_a_decline_is_booked_in_the_same_tick() -> None:
    """A week whose only one-on-one window is taken by a meeting that a rule declines: the
    one-on-one lands in that time now, not on the next tick."""
    pol = Policy.model_validate(
        {
            "manager": {"name": "Maria", "email": MANAGER, "timezone": "UTC"},
            "team": [{"name": "Ana", "email": "ana@acme.example"}],
            "coaching": {
                "horizon": "1 week",
                "buffer": "0m",
                "one_on_one": {"days": ["tue"], "window": {"start": "09:00", "end": "10:00"}},
                "ride_along": {"enabled": False},
                "huddle": {"enabled": False},
                "sales_meeting": {"enabled": False},
                "call_review": {"enabled": False},
            },
            "triage": {
                "mode": "decline",
                "rules": [
                    {"name": "facilities", "match": {"title": ["facilities"]}, "action": "decline"}
                ],
            },
        }
    )
    now = local_dt(datetime(2027, 1, 11).date(), time(7), pol.manager.tz)  # a Monday
    tue = now + timedelta(days=1)
    start = tue.replace(hour=9)
    blocker = event(
        start,
        start + timedelta(hours=1),
        "Facilities walkthrough",
        eid="fac1",
        organizer="ops@acme.example",
        attendees=(Attendee("ops@acme.example", status="accepted", organizer=True),),
        self_status="needsAction",
    )
    snap = Snapshot(window=snapshot_window(pol, now), events=(blocker,))
    actions = plan(pol, snap, now)
    declines = [a for a in actions if isinstance(a, Decline)]
    books = [a for a in actions if isinstance(a, Book) and a.kind == "one_on_one"]
    assert [d.event_id for d in declines] == ["fac1"]
    assert [(b.start, b.end) for b in books] == [(start, start + timedelta(minutes=30))]
    assert _writes(plan(pol, apply(snap, actions), now)) == []
