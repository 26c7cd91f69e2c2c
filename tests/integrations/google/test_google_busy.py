"""Reps' busy times through freebusy.query: chunking by people and by time, and errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fake_server import FakeGoogle
from google_support import TZ, WINDOW, at, timed

from integrations.google.calendar import GoogleCalendar
from planner.timeutil import Interval


def test_more_than_50_people_take_several_calls(
    fake_google: FakeGoogle, gcal: GoogleCalendar
) -> None:
    people = [f"rep{i:03d}@example.com" for i in range(120)]
    for i, p in enumerate(people):
        fake_google.add_event(p, timed(at(2 + i % 5, 9), at(2 + i % 5, 10)))

    got = gcal.busy(people, WINDOW)

    calls = fake_google.calls("freebusy.query")
    assert [len(c.body["items"]) for c in calls] == [50, 50, 20]
    assert got.errors == {}
    for i, p in enumerate(people):
        assert got.busy[p] == [Interval(at(2 + i % 5, 9), at(2 + i % 5, 10))]


def test_a_long_window_is_split_under_90_days(
    fake_google: FakeGoogle, gcal: GoogleCalendar
) -> None:
    start = datetime(2027, 1, 4, tzinfo=TZ)
    window = Interval(start, start + timedelta(days=200))
    early = fake_google.add_event(
        "r@example.com", timed(start + timedelta(days=3), start + timedelta(days=3, hours=1))
    )
    late = start + timedelta(days=190)
    fake_google.add_event("r@example.com", timed(late, late + timedelta(hours=2)))
    # One that straddles a chunk boundary comes back whole after merging.
    edge = start + timedelta(days=85)
    fake_google.add_event(
        "r@example.com", timed(edge - timedelta(hours=1), edge + timedelta(hours=1))
    )

    got = gcal.busy(["r@example.com"], window)

    calls = fake_google.calls("freebusy.query")
    assert len(calls) == 3
    spans = [
        datetime.fromisoformat(c.body["timeMax"]) - datetime.fromisoformat(c.body["timeMin"])
        for c in calls
    ]
    assert all(s < timedelta(days=90) for s in spans)
    assert [c.body["timeMin"] for c in calls[1:]] == [c.body["timeMax"] for c in calls[:-1]]
    assert sum(spans, timedelta()) == window.end.astimezone(UTC) - window.start.astimezone(UTC)
    assert got.busy["r@example.com"] == [
        Interval(
            datetime.fromisoformat(early["start"]["dateTime"]),
            datetime.fromisoformat(early["end"]["dateTime"]),
        ),
        Interval(edge - timedelta(hours=1), edge + timedelta(hours=1)),
        Interval(late, late + timedelta(hours=2)),
    ]


def test_a_rep_calendar_error_does_not_hide_the_others(
    fake_google: FakeGoogle, gcal: GoogleCalendar
) -> None:
    fake_google.add_event("ok@example.com", timed(at(2, 9), at(2, 10)))
    fake_google.freebusy_errors["hidden@example.com"] = "notFound"

    got = gcal.busy(["ok@example.com", "hidden@example.com"], WINDOW)

    assert got.busy == {"ok@example.com": [Interval(at(2, 9), at(2, 10))]}
    assert (
        set(got.errors) == {"hidden@example.com"} and "notFound" in got.errors["hidden@example.com"]
    )


def test_a_failed_call_marks_only_its_group(fake_google: FakeGoogle, gcal: GoogleCalendar) -> None:
    people = [f"rep{i:03d}@example.com" for i in range(60)]
    fake_google.inject("POST", r"/freeBusy$", 403, reason="forbidden")

    got = gcal.busy(people, WINDOW)

    assert set(got.errors) == set(people[:50])
    assert set(got.busy) == set(people[50:])


def test_transparent_and_cancelled_events_are_free(
    fake_google: FakeGoogle, gcal: GoogleCalendar
) -> None:
    fake_google.add_event("r@example.com", timed(at(2, 9), at(2, 10), transparency="transparent"))
    gone = fake_google.add_event("r@example.com", timed(at(3, 9), at(3, 10)))
    fake_google.remove_event("r@example.com", gone["id"])
    assert gcal.busy(["r@example.com"], WINDOW).busy == {"r@example.com": []}
