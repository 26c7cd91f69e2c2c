"""Samples of the planner's own emails: agenda, summary, digest, sales_meeting, config_error."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from planner.contexts import (
    BookedBlock,
    agenda_context,
    config_error_context,
    digest_context,
    fault_context,
    sales_meeting_context,
    summary_context,
)
from planner.emails import summary_due
from planner.model import BookingRecord, Decision, KpiRow, Snapshot
from planner.policy import Policy
from planner.samples.calendar import sample_events
from planner.samples.team import SAMPLE_NOW, sample_policy
from planner.timeutil import Interval, local_dt, week_monday

KINDS = ("agenda", "summary", "digest", "sales_meeting", "config_error", "fault")


def _sample_snapshot(policy: Policy, now: datetime) -> Snapshot:
    tz = policy.manager.tz
    monday = week_monday(now.astimezone(tz).date())
    figures = {
        "alex@example.com": {"calls": [38, 41, 45, 44], "meetings": [6, 7, 9, 7], "win_rate": []},
        "sam@example.com": {
            "calls": [72, 75, 70, 78],
            "meetings": [12, 13, 11, 14],
            "win_rate": [31, 28, 33, 35],
        },
        "priya@example.com": {
            "calls": [40, 42, 44, 46],
            "meetings": [5, 6, 7, 7],
            "win_rate": [18, 17, 19, 18],
        },
    }
    rows = []
    for rep, kpis in figures.items():
        for kpi, vals in kpis.items():
            for i, v in enumerate(vals):
                rows.append(KpiRow(monday - timedelta(weeks=len(vals) - i), rep, kpi, float(v)))
    # Priya has been below on calls for longer than the four weeks shown.
    for i in range(5, 8):
        rows.append(KpiRow(monday - timedelta(weeks=i), "priya@example.com", "calls", 39.0))
    ride = local_dt(monday - timedelta(days=19), _t(9), tz)
    booking = BookingRecord(
        key="ride_along:alex@example.com:2026-W45",
        event_id="sampleride",
        generation=0,
        status="booked",
        kind="ride_along",
        rep="alex@example.com",
        start=ride,
        end=ride + timedelta(hours=4),
    )
    decided = now - timedelta(hours=3)
    start = local_dt(monday + timedelta(days=3), _t(14), tz)
    decisions = {
        "ev1": Decision(
            event_id="ev1",
            fingerprint="f1",
            action="decline",
            rule="facilities",
            reason="rule 'facilities' matched the title",
            decided_at=decided,
            title="Parking garage renovation update",
            organizer="facilities@example.com",
            start=start,
        ),
        "ev2": Decision(
            event_id="ev2",
            fingerprint="f2",
            action="flag",
            rule="budget",
            reason="non-sales meetings would reach 6h this week (budget 5h)",
            decided_at=decided,
            title="Q1 offsite planning <draft>",
            organizer="ops@example.com",
            start=start + timedelta(hours=2),
        ),
        "ev3": Decision(
            event_id="ev3",
            fingerprint="f3",
            action="flag",
            rule="non-sales",
            reason="would decline: rule 'non-sales' matched the title word 'committee'; "
            "at most flagged because you answered tentative (triage.protect)",
            decided_at=decided,
            title="Ethics committee",
            organizer="hr@example.com",
            start=start + timedelta(hours=4),
            cap="protected:tentative",
            was="keep:protected",
        ),
    }
    # A plausible month of the manager's calendar, so the summary's time audit has figures.
    events = tuple(sample_events(policy, monday - timedelta(weeks=1), 4))
    return Snapshot(
        window=Interval(now - timedelta(weeks=8), now + timedelta(weeks=2)),
        events=events,
        kpis=tuple(rows),
        bookings={booking.key: booking},
        decisions=decisions,
        notes={
            "alex@example.com": (
                "Send Alex the discovery question bank",
                "Role-play the pricing objection before Friday's demo",
            )
        },
    )


def _t(h: int) -> time:
    return time(h, 0)


def _sample_blocks(policy: Policy, now: datetime) -> list[BookedBlock]:
    tz = policy.manager.tz
    monday = week_monday(now.astimezone(tz).date())
    s1 = local_dt(monday + timedelta(days=1), _t(10), tz)
    s2 = local_dt(monday + timedelta(days=2), _t(13), tz)
    s3 = local_dt(monday + timedelta(days=1), _t(15), tz)
    return [
        BookedBlock(
            "one_on_one",
            "alex@example.com",
            s1,
            s1 + timedelta(minutes=30),
            "one_on_one:alex@example.com:2026-W49",
            "1:1 Dana / Alex",
        ),
        BookedBlock(
            "ride_along",
            "sam@example.com",
            s2,
            s2 + timedelta(hours=4),
            "ride_along:sam@example.com:2026-W49",
            "Ride-along with Sam",
        ),
        BookedBlock(
            "sales_meeting",
            None,
            s3,
            s3 + timedelta(hours=1),
            "sales_meeting:-:2026-W49",
            "Sales meeting: Handling price objections",
            "Handling price objections",
        ),
    ]


_SAMPLE_NEEDS = (
    {
        "what": "1:1 with Alex Rivera in 2026-W49",
        "why": (
            "no free 30m slot on tue 1 Dec, wed 2 Dec, thu 3 Dec 09:00-16:00 where both are "
            "free within the buffer and the daily coaching cap"
        ),
        "options": [
            "Tue 1 Dec 14:00 if you drop 'Vendor demo: new CRM'",
            "Thu 3 Dec 09:00 if you drop 'Facilities walkthrough'",
        ],
        "rep": "alex@example.com",
    },
)


def email_context(kind: str) -> dict[str, Any]:
    """Realistic context for `kind`, built by the same code as real emails (for check/preview).

    Raises KeyError for a kind this module does not know.
    """
    if kind not in KINDS:
        raise KeyError(kind)
    policy = sample_policy()
    # A fixed instant, not the clock: samples must be reproducible (Mon 30 Nov 2026 08:00 CST).
    now = SAMPLE_NOW
    snapshot = _sample_snapshot(policy, now)
    blocks = _sample_blocks(policy, now)
    if kind == "agenda":
        return agenda_context(policy, snapshot, now, blocks[0], blocks)
    if kind == "summary":
        return summary_context(policy, snapshot, summary_due(policy, now), blocks, _SAMPLE_NEEDS)
    if kind == "digest":
        due = now + timedelta(hours=9)
        return digest_context(
            policy,
            list(snapshot.decisions.values()),
            due - timedelta(days=1),
            due,
            [
                "skipped calendar/you@example.com/spam.ics: RRULE FREQ=SECONDLY repeats more "
                "often than hourly: ignored"
            ],
            _SAMPLE_NEEDS,
        )
    if kind == "sales_meeting":
        return sales_meeting_context(policy, blocks[2])
    if kind == "fault":
        return fault_context(
            policy,
            "disk full: no space left on the device (/var/lib/coachd/state/coachd.json); "
            "free some space",
            now,
        )
    return config_error_context(
        policy,
        [
            "config.yaml:14: coaching.one_on_one.every: must be at least 1 day (got 0)",
            "config.yaml:31: kpis.2.goal: goal (5) is below the minimum (8)",
        ],
        "/srv/coachd/config.yaml",
        now,
    )
