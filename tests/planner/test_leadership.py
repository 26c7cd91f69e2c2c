"""The monthly leadership report is planned once, from its due time, over the last month."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from planner.leadership import plan_leadership_report
from planner.model import Snapshot
from planner.policy import Policy
from planner.timeutil import Interval
from tests.planner.factories import make_event, make_policy

TZ = ZoneInfo("America/Chicago")


def _policy(enabled: bool = True) -> Policy:
    return make_policy(
        {
            "manager": {"timezone": "America/Chicago"},
            "audit": {
                "leadership_report": {
                    "enabled": enabled,
                    "to": ["vp@acme.com"],
                    "day_of_month": 2,
                    "time": "08:00",
                }
            },
        }
    )


def _snapshot(now: datetime, sent: frozenset[str] = frozenset()) -> Snapshot:
    start = now - timedelta(weeks=6)
    meeting = make_event(
        "Pipeline review", datetime(2026, 11, 17, 10, 0, tzinfo=TZ), self_status="accepted"
    )
    return Snapshot(window=Interval(start, now + timedelta(weeks=2)), events=(meeting,), sent=sent)


def test_due_after_its_time_once_per_month() -> None:
    before = datetime(2026, 12, 2, 7, 59, tzinfo=TZ)
    after = datetime(2026, 12, 2, 8, 0, tzinfo=TZ)
    assert plan_leadership_report(_policy(), _snapshot(before), before) == []
    policy = _policy()
    [email] = plan_leadership_report(policy, _snapshot(after), after)
    assert email.key == "leadership_report:2026-11"
    assert email.to == (policy.manager.email, "vp@acme.com")
    assert email.context  # built from the audited weeks of November
    again = _snapshot(after, sent=frozenset({email.key}))
    assert plan_leadership_report(_policy(), again, after + timedelta(days=3)) == []


def test_disabled_sends_nothing() -> None:
    now = datetime(2026, 12, 15, 9, 0, tzinfo=TZ)
    assert plan_leadership_report(_policy(False), _snapshot(now), now) == []
