"""Writes: $batch of at most 20, transactionId, per-part statuses, declines never twice, flags."""

from __future__ import annotations

import json

from fake_graph import FakeGraph
from ms_support import OWNER, WINDOW, at, book, make_calendar, person, timed

from integrations.google.retry import Backoff
from integrations.google.sync import MemoryKV
from integrations.microsoft.calendar import MicrosoftCalendar
from integrations.microsoft.serializer import FLAG_CATEGORY, PROP_ID, PROP_TAG
from planner.actions import Cancel, Decline, Flag, Move

FACILITIES = "facilities@example.com"


def _invite(fake: FakeGraph, **extra: object) -> dict[str, object]:
    return fake.add_event(
        OWNER,
        timed(
            at(10, 13),
            at(10, 14),
            subject="Parking garage update",
            organizer={"emailAddress": {"address": FACILITIES, "name": "Facilities"}},
            attendees=[person(FACILITIES, "organizer"), person(OWNER, "notResponded")],
            responseStatus={"response": "notResponded"},
            **extra,
        ),
    )


def _decline(event_id: str, message: str = "I keep this time for coaching.") -> Decline:
    return Decline(
        event_id,
        "fp",
        "Parking garage update",
        FACILITIES,
        at(10, 13),
        "facilities",
        message,
        "rule 'facilities' matched the title",
    )


def test_a_booking_is_created_with_its_transaction_id_and_tags(
    fake_graph: FakeGraph, mscal: MicrosoftCalendar
) -> None:
    b = book("rep@example.com", at(9, 10))
    [o] = mscal.apply(OWNER, [b])
    assert o.error is None
    [req] = fake_graph.calls("events.create")
    body = req.body
    assert body["transactionId"] == b.event_id
    assert body["showAs"] == "busy"
    assert body["attendees"] == [
        {"emailAddress": {"address": "rep@example.com"}, "type": "required"}
    ]
    props = {p["id"]: p["value"] for p in body["singleValueExtendedProperties"]}
    assert props[PROP_ID] == b.event_id
    assert json.loads(props[PROP_TAG]) == {
        "key": b.key,
        "kind": "one_on_one",
        "rep": "rep@example.com",
        "period": "2027-W10",
        "generation": 0,
    }
    assert req.path == f"/users/{OWNER}/events"


def test_writes_go_twenty_to_a_batch(fake_graph: FakeGraph, mscal: MicrosoftCalendar) -> None:
    bookings = [
        book(f"rep{i}@example.com", at(1 + i % 20, 8), period=f"2027-W{i}") for i in range(25)
    ]
    outcomes = mscal.apply(OWNER, bookings)
    assert [o.error for o in outcomes] == [None] * 25
    top = [r for r in fake_graph.requests if not r.in_batch]
    assert [r.name for r in top] == ["$batch", "$batch"]
    assert len(fake_graph.calls("events.create")) == 25
    assert len(fake_graph.events(OWNER)) == 25


def test_a_lost_answer_is_replayed_without_a_second_event(
    fake_graph: FakeGraph, mscal: MicrosoftCalendar
) -> None:
    b = book("rep@example.com", at(9, 10))
    fake_graph.inject("POST", r"/events$", 503, drop=True)  # created, but the answer is lost
    [o] = mscal.apply(OWNER, [b])
    assert o.error is None
    assert [r.status for r in fake_graph.calls("events.create")] == [503, 201]
    assert len(fake_graph.events(OWNER)) == 1
    # A crash before the outcome was recorded: the next tick books again, harmlessly.
    again = make_calendar(fake_graph, MemoryKV(), Backoff(sleep=lambda s: None))
    assert [x.error for x in again.apply(OWNER, [b])] == [None]
    assert len(fake_graph.events(OWNER)) == 1


def test_each_part_is_judged_on_its_own(
    fake_graph: FakeGraph, mscal: MicrosoftCalendar, sleeps: list[float]
) -> None:
    mscal.read(OWNER, WINDOW)
    ok = book("a@example.com", at(9, 10))
    throttled = book("b@example.com", at(9, 11))
    missing = Move("k", "nosuchevent", at(11, 15), at(11, 16), reason="r")
    fake_graph.inject("POST", r"/events$", 429, retry_after=3, times=1)
    outcomes = mscal.apply(OWNER, [ok, throttled, missing])
    assert outcomes[0].error is None and outcomes[1].error is None
    assert outcomes[2].error is not None and "not found" in outcomes[2].error
    assert sleeps == [3.0]
    assert len(fake_graph.events(OWNER)) == 2


def test_a_failed_batch_is_sent_again(
    fake_graph: FakeGraph, mscal: MicrosoftCalendar, sleeps: list[float]
) -> None:
    fake_graph.inject("POST", r"^/\$batch$", 429, retry_after=5, times=1)
    outcomes = mscal.apply(
        OWNER, [book("a@example.com", at(9, 10)), book("b@example.com", at(9, 11))]
    )
    assert [o.error for o in outcomes] == [None, None]
    assert sleeps == [5.0]
    assert [r.status for r in fake_graph.requests if r.name == "$batch"] == [429, 200]


def test_move_and_cancel(fake_graph: FakeGraph, mscal: MicrosoftCalendar) -> None:
    b = book("rep@example.com", at(9, 10))
    mscal.apply(OWNER, [b])
    mscal.read(OWNER, WINDOW)
    m = Move(b.key, b.event_id, at(11, 15), at(11, 16), reason="r")
    assert [o.error for o in mscal.apply(OWNER, [m])] == [None]
    [patch] = fake_graph.calls("events.update")
    assert set(patch.body) == {"start", "end"}
    c = Cancel(b.key, b.event_id, reason="r")
    assert [o.error for o in mscal.apply(OWNER, [c])] == [None]
    assert fake_graph.events(OWNER) == []
    assert [o.error for o in mscal.apply(OWNER, [c])] == [None]  # already gone


def test_a_booking_missing_from_the_cache_is_found_by_its_property(
    fake_graph: FakeGraph, backoff: Backoff
) -> None:
    b = book("rep@example.com", at(9, 10))
    make_calendar(fake_graph, MemoryKV(), backoff).apply(OWNER, [b])
    fresh = make_calendar(fake_graph, MemoryKV(), backoff)  # never read: an empty cache
    [o] = fresh.apply(OWNER, [Cancel(b.key, b.event_id, reason="r")])
    assert o.error is None and fake_graph.events(OWNER) == []
    [lookup] = fake_graph.calls("events.list")
    assert PROP_ID in lookup.query["$filter"]


def test_decline_reads_first_and_never_answers_twice(
    fake_graph: FakeGraph, mscal: MicrosoftCalendar
) -> None:
    inv = _invite(fake_graph)
    mscal.read(OWNER, WINDOW)
    d = _decline(str(inv["id"]))
    assert [o.error for o in mscal.apply(OWNER, [d])] == [None]
    assert fake_graph.declines == [(inv["id"], {"comment": d.message, "sendResponse": True})]
    # Replayed (a crash before the outcome was recorded): read, see it declined, stop.
    fake_graph.clear_log()
    assert [o.error for o in mscal.apply(OWNER, [d])] == [None]
    assert len(fake_graph.declines) == 1
    assert [r.name for r in fake_graph.requests] == ["events.get"]
    assert "responseStatus" in fake_graph.requests[0].query["$select"]


def test_a_decline_whose_answer_was_lost_is_not_resent_in_the_same_tick(
    fake_graph: FakeGraph, mscal: MicrosoftCalendar
) -> None:
    inv = _invite(fake_graph)
    mscal.read(OWNER, WINDOW)
    fake_graph.inject("POST", r"/decline$", 503, drop=True)
    [o] = mscal.apply(OWNER, [_decline(str(inv["id"]))])
    assert o.error is not None and o.transient
    [o2] = mscal.apply(OWNER, [_decline(str(inv["id"]))])  # the next tick
    assert o2.error is None
    assert len(fake_graph.declines) == 1


def test_a_throttled_decline_is_retried(
    fake_graph: FakeGraph, mscal: MicrosoftCalendar, sleeps: list[float]
) -> None:
    inv = _invite(fake_graph)
    mscal.read(OWNER, WINDOW)
    fake_graph.inject("POST", r"/decline$", 429, retry_after=2)
    [o] = mscal.apply(OWNER, [_decline(str(inv["id"]))])
    assert o.error is None and sleeps == [2.0] and len(fake_graph.declines) == 1


def test_an_occurrence_is_declined_on_its_series(
    fake_graph: FakeGraph, mscal: MicrosoftCalendar
) -> None:
    series = _invite(
        fake_graph,
        recurrence={
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["wednesday"]},
            "range": {"type": "noEnd", "startDate": "2027-03-10"},
        },
    )
    first = mscal.read(OWNER, WINDOW).events[0]
    assert first.recurring and first.id != series["id"]
    assert [o.error for o in mscal.apply(OWNER, [_decline(first.id)])] == [None]
    assert [d for d, _ in fake_graph.declines] == [series["id"]]
    assert all(e.self_status == "declined" for e in mscal.read(OWNER, WINDOW).events)


def test_own_meeting_is_never_declined(fake_graph: FakeGraph, mscal: MicrosoftCalendar) -> None:
    mine = fake_graph.add_event(OWNER, timed(at(10, 13), at(10, 14), subject="Mine"))
    mscal.read(OWNER, WINDOW)
    [o] = mscal.apply(OWNER, [_decline(str(mine["id"]))])
    assert o.error is not None and fake_graph.declines == []


def test_flag_creates_the_category_once_and_keeps_others(
    fake_graph: FakeGraph, kv: MemoryKV, backoff: Backoff
) -> None:
    inv = _invite(fake_graph, categories=["Blue category"])
    other = _invite(fake_graph)
    cal = make_calendar(fake_graph, kv, backoff)
    cal.read(OWNER, WINDOW)
    f = Flag(str(inv["id"]), "fp", "t", FACILITIES, at(10, 13), "facilities", "r")
    assert [o.error for o in cal.apply(OWNER, [f, f])] == [None, None]
    assert fake_graph.event(str(inv["id"]))["categories"] == ["Blue category", FLAG_CATEGORY]
    again = make_calendar(fake_graph, kv, backoff)  # a restart: same state store
    again.read(OWNER, WINDOW)
    g = Flag(str(other["id"]), "fp", "t", FACILITIES, at(10, 13), "facilities", "r")
    assert [o.error for o in again.apply(OWNER, [g, f])] == [None, None]
    assert fake_graph.master_categories == [
        {
            "id": fake_graph.master_categories[0]["id"],
            "displayName": FLAG_CATEGORY,
            "color": "preset0",
        }
    ]
    assert len(fake_graph.calls("masterCategories.create")) == 1
    assert len(fake_graph.calls("events.update")) == 2


def test_an_existing_category_is_not_an_error(
    fake_graph: FakeGraph, mscal: MicrosoftCalendar
) -> None:
    fake_graph.master_categories.append(
        {"id": "x", "displayName": FLAG_CATEGORY, "color": "preset3"}
    )
    inv = _invite(fake_graph)
    mscal.read(OWNER, WINDOW)
    f = Flag(str(inv["id"]), "fp", "t", FACILITIES, at(10, 13), "facilities", "r")
    assert [o.error for o in mscal.apply(OWNER, [f])] == [None]
    assert [r.status for r in fake_graph.calls("masterCategories.create")] == [409]


def test_a_bearer_token_rides_on_every_request(backoff: Backoff) -> None:
    from ms_support import TZ

    from integrations.microsoft.client import GraphClient

    with FakeGraph(owner=OWNER, token="t0ken") as fake:
        client = GraphClient(
            endpoint=fake.endpoint,
            token=lambda: "t0ken",
            mailbox=OWNER,
            timezone="Central Standard Time",
            timeout=0.5,
        )
        cal = MicrosoftCalendar(client, manager=OWNER, tz=TZ, kv=MemoryKV(), backoff=backoff)
        cal.read(OWNER, WINDOW)
        cal.apply(OWNER, [book("a@example.com", at(9, 10)), book("b@example.com", at(9, 11))])
        assert fake.violations == []
        assert {r.headers.get("authorization") for r in fake.requests if not r.in_batch} == {
            "Bearer t0ken"
        }
        assert [o.error for o in cal.apply(OWNER, [book("c@example.com", at(9, 12))])] == [None]
        wrong = GraphClient(
            endpoint=fake.endpoint, token=lambda: "stale", mailbox=OWNER, timeout=0.5
        )
        bad = MicrosoftCalendar(wrong, manager=OWNER, tz=TZ, kv=MemoryKV(), backoff=backoff)
        import pytest

        from integrations.errors import UserError

        with pytest.raises(UserError, match="coachd auth microsoft"):
            bad.read(OWNER, WINDOW)


def test_flagging_an_occurrence_flags_its_series_and_keeps_its_categories(
    fake_graph: FakeGraph, mscal: MicrosoftCalendar
) -> None:
    series = _invite(
        fake_graph,
        categories=["Green category"],
        recurrence={
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["wednesday"]},
            "range": {"type": "noEnd", "startDate": "2027-03-10"},
        },
    )
    first = mscal.read(OWNER, WINDOW).events[0]
    f = Flag(first.id, "fp", "t", FACILITIES, first.start, "facilities", "r")
    assert [o.error for o in mscal.apply(OWNER, [f])] == [None]
    [patch] = fake_graph.calls("events.update")
    assert patch.path.endswith(str(series["id"]))
    assert patch.body == {"categories": ["Green category", FLAG_CATEGORY]}
    assert all(e.flagged for e in mscal.read(OWNER, WINDOW).events)


def test_a_create_that_times_out_is_retried_into_the_same_event(
    fake_graph: FakeGraph, mscal: MicrosoftCalendar, sleeps: list[float]
) -> None:
    b = book("rep@example.com", at(9, 10))
    fake_graph.inject("POST", r"/events$", 0, delay=1.0)  # made, answered after the timeout
    [o] = mscal.apply(OWNER, [b])
    assert o.error is None and sleeps == [1.0]
    assert len(fake_graph.calls("events.create")) == 2
    assert len(fake_graph.events(OWNER)) == 1
