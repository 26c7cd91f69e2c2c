"""Reps' availability through getSchedule: chunking, statuses, errors, throttling."""

from __future__ import annotations

from datetime import timedelta

from fake_graph import FakeGraph
from ms_support import WINDOW, at, timed

from integrations.microsoft.calendar import MicrosoftCalendar
from planner.timeutil import Interval


def test_people_go_twenty_to_a_call(fake_graph: FakeGraph, mscal: MicrosoftCalendar) -> None:
    people = [f"rep{i}@example.com" for i in range(45)]
    for i, p in enumerate(people):
        fake_graph.add_event(p, timed(at(2, 9), at(2, 10) + timedelta(minutes=i)))
    got = mscal.busy(people, WINDOW)
    assert got.errors == {}
    assert [len(r.body["schedules"]) for r in fake_graph.calls("getSchedule")] == [20, 20, 5]
    assert got.busy["rep44@example.com"] == [Interval(at(2, 9), at(2, 10) + timedelta(minutes=44))]
    [r] = fake_graph.calls("getSchedule")[:1]
    assert r.body["startTime"] == {
        "dateTime": "2027-03-01T00:00:00",
        "timeZone": "Central Standard Time",
    }


def test_long_windows_are_split_under_62_days(
    fake_graph: FakeGraph, mscal: MicrosoftCalendar
) -> None:
    window = Interval(WINDOW.start, WINDOW.start + timedelta(days=100))
    fake_graph.add_event(
        "rep@example.com", timed(at(1, 9) + timedelta(days=80), at(1, 10) + timedelta(days=80))
    )
    got = mscal.busy(["rep@example.com"], window)
    assert len(fake_graph.calls("getSchedule")) == 2
    assert len(got.busy["rep@example.com"]) == 1


def test_only_busy_tentative_and_oof_block(fake_graph: FakeGraph, mscal: MicrosoftCalendar) -> None:
    rep = "rep@example.com"
    for hour, show_as in [
        (8, "busy"),
        (9, "tentative"),
        (10, "oof"),
        (11, "free"),
        (12, "workingElsewhere"),
    ]:
        fake_graph.add_event(rep, timed(at(3, hour), at(3, hour, 30), showAs=show_as))
    got = mscal.busy([rep], WINDOW)
    assert got.busy[rep] == [
        Interval(at(3, 8), at(3, 8, 30)),
        Interval(at(3, 9), at(3, 9, 30)),
        Interval(at(3, 10), at(3, 10, 30)),
    ]


def test_an_unknown_mailbox_marks_only_that_person(
    fake_graph: FakeGraph, mscal: MicrosoftCalendar
) -> None:
    fake_graph.schedule_errors["gone@example.com"] = "The mailbox was not found."
    fake_graph.add_event("ok@example.com", timed(at(2, 9), at(2, 10)))
    got = mscal.busy(["ok@example.com", "gone@example.com"], WINDOW)
    assert set(got.busy) == {"ok@example.com"}
    assert "ErrorMailRecipientNotFound" in got.errors["gone@example.com"]


def test_throttling_is_retried_after_the_servers_wait(
    fake_graph: FakeGraph, mscal: MicrosoftCalendar, sleeps: list[float]
) -> None:
    fake_graph.inject("POST", r"/getSchedule$", 429, retry_after=7, times=1)
    fake_graph.inject("POST", r"/getSchedule$", 504, times=1)
    got = mscal.busy(["rep@example.com"], WINDOW)
    assert got.errors == {} and sleeps == [7.0, 2.0]
    assert [r.status for r in fake_graph.calls("getSchedule")] == [429, 504, 200]


def test_a_call_that_keeps_failing_marks_its_people(
    fake_graph: FakeGraph, mscal: MicrosoftCalendar
) -> None:
    fake_graph.inject("POST", r"/getSchedule$", 503, times=99)
    got = mscal.busy(["a@example.com", "b@example.com"], WINDOW)
    assert set(got.errors) == {"a@example.com", "b@example.com"} and got.busy == {}
    assert "gave up after 5 attempts" in got.errors["a@example.com"]
