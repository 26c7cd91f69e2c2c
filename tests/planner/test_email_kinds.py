"""The email-kind table (planner/email_kinds.py): every kind has templates and a sample, and
`next_due` is the planner's own send-window rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from planner.actions import AfterBooking
from planner.email_kinds import KINDS, lead_time, next_due, previewable
from planner.emails import plan_emails
from planner.model import BookingRecord, Snapshot
from planner.policy import Policy
from planner.timeutil import Interval

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


def _policy(sales_meeting: bool = True) -> Policy:
    return Policy.model_validate(
        {
            "manager": {"name": "Dana", "email": "dana@example.com", "timezone": "UTC"},
            "team": [{"name": "Alex", "email": "alex@example.com"}],
            "email": {"sales_meeting": {"enabled": sales_meeting}},
        }
    )


def _booking(kind: str, start: datetime, status: str = "booked") -> BookingRecord:
    rep = "alex@example.com" if kind == "one_on_one" else None
    return BookingRecord(
        key=f"{kind}:{rep or '-'}:2026-W49",
        event_id=f"ev-{kind}",
        generation=0,
        status=status,
        kind=kind,
        rep=rep,
        start=start,
        end=start + timedelta(hours=1),
    )


def test_every_kind_has_a_template_name_and_a_sample() -> None:
    for k in KINDS.values():
        assert k.template == k.name
        assert isinstance(dict(k.sample()), dict)


def test_previewable_kinds() -> None:
    assert set(previewable()) == {
        "agenda",
        "summary",
        "digest",
        "audit",
        "case_report",
        "sales_meeting",
        "leadership_report",
    }


def test_next_due_is_the_earliest_lead_time_ahead() -> None:
    p = _policy()
    one = _booking("one_on_one", NOW + timedelta(hours=30))
    sm = _booking("sales_meeting", NOW + timedelta(hours=26))
    assert next_due(p, [one, sm], NOW) == NOW + timedelta(hours=2)
    # Already inside the window, not booked, or not booking-led: no wake-up.
    assert next_due(p, [_booking("one_on_one", NOW + timedelta(hours=3))], NOW) is None
    assert next_due(p, [_booking("one_on_one", NOW + timedelta(hours=30), "pending")], NOW) is None
    assert next_due(p, [_booking("ride_along", NOW + timedelta(hours=30))], NOW) is None


def test_next_due_ignores_a_switched_off_sales_meeting_email() -> None:
    p = _policy(sales_meeting=False)
    assert lead_time(p, "sales_meeting") is None
    assert next_due(p, [_booking("sales_meeting", NOW + timedelta(hours=26))], NOW) is None


def test_next_due_is_when_plan_emails_starts_sending() -> None:
    """At the instant next_due names, the planner plans the email; a second earlier, not."""
    p = _policy()
    b = _booking("sales_meeting", NOW + timedelta(hours=26))
    due = next_due(p, [b], NOW)
    assert due is not None
    snap = Snapshot(window=Interval(NOW - timedelta(days=7), NOW + timedelta(days=14)))

    class Block:
        kind = b.kind
        rep = b.rep
        start = b.start
        end = b.end
        key = b.key
        title = "Sales meeting"
        topic = "Pricing"

    before = plan_emails(p, snap, due - timedelta(seconds=1), [Block()])
    at = plan_emails(p, snap, due, [Block()])
    assert [e.kind for e in before if e.kind == "sales_meeting"] == []
    assert [e.waits_on for e in at if e.kind == "sales_meeting"] == [AfterBooking(b.key)]


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError):
        next_due(_policy(), [], NOW.replace(tzinfo=None))
