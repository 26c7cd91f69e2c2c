"""Writing: idempotent bookings in batches, moves, cancels, declines, flags, and faults."""

from __future__ import annotations

import pytest
from fake_server import FakeGoogle
from google_support import OWNER, WINDOW, at, book, demo_week, make_calendar, timed

from integrations.errors import RemoteError, TransientError
from integrations.google.calendar import GoogleCalendar
from integrations.google.retry import Backoff
from integrations.google.sync import MemoryKV
from planner.actions import Cancel, Decline, Flag, Move

BOSS = "boss@example.com"


def _invitation(fake: FakeGoogle) -> tuple[str, list[dict[str, object]]]:
    guests: list[dict[str, object]] = [
        {"email": BOSS, "organizer": True, "responseStatus": "accepted", "displayName": "Boss"},
        {"email": "a@example.com", "responseStatus": "accepted", "optional": True},
        {"email": "b@example.com", "responseStatus": "tentative", "comment": "maybe"},
        {"email": OWNER, "self": True, "responseStatus": "needsAction"},
        {"email": "room@resource.example.com", "resource": True, "responseStatus": "accepted"},
    ]
    ev = fake.add_event(
        "primary",
        timed(
            at(10, 13),
            at(10, 14),
            summary="Parking update",
            organizer={"email": BOSS},
            attendees=guests,
        ),
    )
    return ev["id"], guests


def _decline(eid: str, **kw: object) -> Decline:
    return Decline(
        event_id=eid,
        fingerprint="fp",
        title="Parking update",
        organizer=BOSS,
        start=at(10, 13),
        rule="facilities",
        message="I keep this time for coaching.",
        reason="rule matched",
        **kw,
    )  # type: ignore[arg-type]


def test_a_team_week_is_booked_once_and_rebooking_changes_nothing(
    fake_google: FakeGoogle, gcal: GoogleCalendar
) -> None:
    books = demo_week(60)  # 64 bookings: two batches (50 + 14)

    first = gcal.apply(OWNER, books)

    assert [o.error for o in first] == [None] * len(books)
    assert [o.event_id for o in first] == [b.event_id for b in books]
    batches = [r for r in fake_google.requests if r.path.startswith("/batch/")]
    assert len(batches) == 2 and len(fake_google.calls("events.insert")) == 64
    stored = {e["id"]: e for e in fake_google.events()}
    assert set(stored) == {b.event_id for b in books}
    one = stored[books[0].event_id]
    assert one["extendedProperties"]["private"]["coachd_key"] == books[0].key
    assert one["start"] == {"dateTime": "2027-03-02T09:00:00-06:00", "timeZone": "America/Chicago"}
    assert one["attendees"] == [{"email": "rep0@example.com", "responseStatus": "needsAction"}]
    assert fake_google.calls("events.insert")[0].query["sendUpdates"] == ["all"]

    # A second round of the same writes: every insert answers 409, which is success.
    fake_google.clear_log()
    again = gcal.apply(OWNER, books)
    assert [o.error for o in again] == [None] * len(books)
    assert {r.status for r in fake_google.calls("events.insert")} == {409}
    assert len(fake_google.events()) == 64

    # A steady-state tick reads one incremental page and one freebusy call: nothing else.
    gcal.read(OWNER, WINDOW)
    fake_google.clear_log()
    read = gcal.read(OWNER, WINDOW)
    gcal.busy([f"rep{i}@example.com" for i in range(40)], WINDOW)
    assert [r.method_name for r in fake_google.requests] == ["events.list", "freebusy.query"]
    assert {e.id for e in read.events} == {b.event_id for b in books}


def test_timeout_after_the_insert_was_stored_leaves_one_event(
    fake_google: FakeGoogle, gcal: GoogleCalendar, sleeps: list[float]
) -> None:
    b = book("rep@example.com", at(2, 9))
    fake_google.inject("POST", r"/events$", commit_then_sleep=1.5)

    [outcome] = gcal.apply(OWNER, [b])

    assert outcome.error is None
    assert [e["id"] for e in fake_google.events()] == [b.event_id]
    assert [r.status for r in fake_google.calls("events.insert")] == [200, 409]
    assert len(sleeps) == 1


def test_timeout_on_a_batch_after_commit_leaves_one_event_each(
    fake_google: FakeGoogle, gcal: GoogleCalendar
) -> None:
    books = demo_week(3)
    fake_google.inject("POST", r"^/batch/", commit_then_sleep=1.5)

    outcomes = gcal.apply(OWNER, books)

    assert [o.error for o in outcomes] == [None] * len(books)
    assert sorted(e["id"] for e in fake_google.events()) == sorted(b.event_id for b in books)


def test_a_burst_of_429_is_ridden_out_honouring_retry_after(
    fake_google: FakeGoogle, gcal: GoogleCalendar, sleeps: list[float]
) -> None:
    fake_google.add_event("primary", timed(at(2, 9), at(2, 10)))
    fake_google.inject("GET", r"/events$", 429, retry_after=7, times=3)

    got = gcal.read(OWNER, WINDOW)

    assert len(got.events) == 1
    assert sleeps == [7.0, 7.0, 7.0]
    assert [r.status for r in fake_google.calls("events.list")] == [429, 429, 429, 200]


def test_only_the_throttled_sub_requests_of_a_batch_are_retried(
    fake_google: FakeGoogle, gcal: GoogleCalendar, sleeps: list[float]
) -> None:
    books = demo_week(4)  # 8 bookings
    fake_google.inject("POST", r"/events$", 403, reason="rateLimitExceeded", times=2, skip=3)

    outcomes = gcal.apply(OWNER, books)

    assert [o.error for o in outcomes] == [None] * 8
    inserts = fake_google.calls("events.insert")
    assert len(inserts) == 10  # 8 + the 2 throttled ones again
    batches = [r for r in fake_google.requests if r.path.startswith("/batch/")]
    assert len(batches) == 2 and sleeps == [1.0]
    assert len(fake_google.events()) == 8


def test_rate_limited_403_is_retried(
    fake_google: FakeGoogle, gcal: GoogleCalendar, sleeps: list[float]
) -> None:
    fake_google.inject("GET", r"/events$", 403, reason="userRateLimitExceeded", times=2)
    gcal.read(OWNER, WINDOW)
    assert [r.status for r in fake_google.calls("events.list")] == [403, 403, 200]
    assert sleeps == [1.0, 2.0]  # exponential: base 1s, doubling


def test_forbidden_403_is_reported_not_retried(
    fake_google: FakeGoogle, gcal: GoogleCalendar, sleeps: list[float]
) -> None:
    fake_google.inject("GET", r"/events$", 403, reason="forbidden")
    with pytest.raises(RemoteError, match="403 forbidden"):
        gcal.read(OWNER, WINDOW)
    assert len(fake_google.requests) == 1 and sleeps == []

    fake_google.inject("POST", r"/events$", 403, reason="forbidden")
    [outcome] = gcal.apply(OWNER, [book("rep@example.com", at(2, 9))])
    assert outcome.error is not None and "403" in outcome.error and not outcome.transient
    assert len(fake_google.calls("events.insert")) == 1 and sleeps == []


@pytest.mark.parametrize("status", [400, 401, 404])
def test_permanent_errors_are_not_retried(
    fake_google: FakeGoogle, gcal: GoogleCalendar, sleeps: list[float], status: int
) -> None:
    fake_google.inject("GET", r"/events$", status)
    with pytest.raises(RemoteError, match=str(status)):
        gcal.read(OWNER, WINDOW)
    assert len(fake_google.requests) == 1 and sleeps == []


def test_persistent_5xx_gives_up_as_transient(
    fake_google: FakeGoogle, gcal: GoogleCalendar, sleeps: list[float]
) -> None:
    fake_google.inject("GET", r"/events$", 503, times=5)
    with pytest.raises(TransientError, match="5 attempts"):
        gcal.read(OWNER, WINDOW)
    assert sleeps == [1.0, 2.0, 4.0, 8.0]

    fake_google.inject("POST", r"/events$", 500, times=5)
    [outcome] = gcal.apply(OWNER, [book("rep@example.com", at(2, 9))])
    assert outcome.error is not None and outcome.transient
    assert fake_google.events() == []


def test_backoff_is_capped_and_jittered() -> None:
    b = Backoff(base=1.0, cap=10.0, rand=lambda: 0.5)
    assert [b.delay(n) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    assert b.delay(3, retry_after=2.5) == 2.5
    assert b.delay(0, retry_after=10_000) == 120.0


def test_cancel_is_idempotent(fake_google: FakeGoogle, gcal: GoogleCalendar) -> None:
    b = book("rep@example.com", at(2, 9))
    gcal.apply(OWNER, [b])
    c = Cancel(b.key, b.event_id, reason="policy changed")
    assert [o.error for o in gcal.apply(OWNER, [c])] == [None]
    assert fake_google.events() == []
    assert [o.error for o in gcal.apply(OWNER, [c])] == [None]  # 410: already deleted
    never = Cancel("k", "nosuchevent0000", reason="r")
    assert [o.error for o in gcal.apply(OWNER, [never])] == [None]  # 404
    assert [r.status for r in fake_google.calls("events.delete")] == [204, 410, 404]


def test_move_patches_only_the_times(fake_google: FakeGoogle, gcal: GoogleCalendar) -> None:
    b = book("rep@example.com", at(2, 9))
    gcal.apply(OWNER, [b])
    [o] = gcal.apply(OWNER, [Move(b.key, b.event_id, at(3, 14), at(3, 15), reason="r")])
    assert o.error is None
    [patch] = fake_google.calls("events.patch")
    assert set(patch.body) == {"start", "end"}
    ev = fake_google.event(b.event_id)
    assert ev is not None and ev["start"]["dateTime"] == "2027-03-03T14:00:00-06:00"
    assert ev["extendedProperties"]["private"]["coachd_key"] == b.key


def test_decline_keeps_every_other_attendee_unchanged(
    fake_google: FakeGoogle, gcal: GoogleCalendar
) -> None:
    eid, guests = _invitation(fake_google)

    [o] = gcal.apply(OWNER, [_decline(eid)])

    assert o.error is None
    assert [r.method_name for r in fake_google.requests] == ["events.get", "events.patch"]
    ev = fake_google.event(eid)
    assert ev is not None
    me = [a for a in ev["attendees"] if a["email"] == OWNER]
    assert me == [
        {
            "email": OWNER,
            "self": True,
            "responseStatus": "declined",
            "comment": "I keep this time for coaching.",
        }
    ]
    assert [a for a in ev["attendees"] if a["email"] != OWNER] == [
        g for g in guests if g["email"] != OWNER
    ]
    assert ev["extendedProperties"]["private"]["coachd_declined"] == "facilities"
    assert fake_google.calls("events.patch")[0].query["sendUpdates"] == ["all"]
    got = {e.id: e for e in gcal.read(OWNER, WINDOW).events}
    assert got[eid].self_status == "declined" and not got[eid].blocks_time()


def test_delegation_declines_naming_the_delegate(
    fake_google: FakeGoogle, gcal: GoogleCalendar
) -> None:
    eid, guests = _invitation(fake_google)
    [o] = gcal.apply(OWNER, [_decline(eid, delegate_to="deputy@example.com")])
    assert o.error is None
    ev = fake_google.event(eid)
    assert ev is not None
    # The manager does not own the event, so the delegate is named, not added as a guest.
    assert {a["email"] for a in ev["attendees"]} == {g["email"] for g in guests}
    [me] = [a for a in ev["attendees"] if a["email"] == OWNER]
    assert me["responseStatus"] == "declined" and "deputy@example.com" in me["comment"]
    assert ev["extendedProperties"]["private"]["coachd_delegate"] == "deputy@example.com"


def test_decline_of_a_vanished_or_foreign_event(
    fake_google: FakeGoogle, gcal: GoogleCalendar
) -> None:
    gone = gcal.apply(OWNER, [_decline("nosuchevent0000")])
    assert gone[0].error is None  # nothing left to decline
    mine = fake_google.add_event(
        "primary", timed(at(2, 9), at(2, 10), attendees=[{"email": "x@example.com"}])
    )
    [o] = gcal.apply(OWNER, [_decline(mine["id"])])
    assert o.error is not None and "not a guest" in o.error
    assert fake_google.calls("events.patch") == []


def test_flag_sets_a_colour_and_a_private_mark(
    fake_google: FakeGoogle, gcal: GoogleCalendar
) -> None:
    eid, guests = _invitation(fake_google)
    f = Flag(eid, "fp", "Parking update", BOSS, at(10, 13), "facilities", "r")
    [o] = gcal.apply(OWNER, [f])
    assert o.error is None
    ev = fake_google.event(eid)
    assert ev is not None and ev["colorId"] == "11"
    assert ev["extendedProperties"]["private"] == {"coachd_flag": "facilities"}
    assert ev["attendees"] == [{**g, "self": True} if g["email"] == OWNER else g for g in guests]
    assert fake_google.calls("events.patch")[0].query["sendUpdates"] == ["none"]
    [got] = [e for e in gcal.read(OWNER, WINDOW).events if e.id == eid]
    assert got.flagged and got.self_status == "needsAction"


def test_one_failing_write_does_not_stop_the_others(
    fake_google: FakeGoogle, gcal: GoogleCalendar
) -> None:
    b = book("rep@example.com", at(2, 9))
    bad = Move("k", "nosuchevent0000", at(3, 9), at(3, 10), reason="r")
    outcomes = gcal.apply(OWNER, [bad, b])
    assert outcomes[0].error is not None and "404" in outcomes[0].error
    assert not outcomes[0].transient and outcomes[1].error is None
    assert [e["id"] for e in fake_google.events()] == [b.event_id]


def test_unreachable_server_is_transient(kv: MemoryKV, backoff: Backoff) -> None:
    fake = FakeGoogle()  # never started: nothing listens on its endpoint
    fake.port = 9  # discard port on loopback: connection refused
    cal = make_calendar(fake, kv, backoff)
    with pytest.raises(TransientError):
        cal.read(OWNER, WINDOW)
    [o] = cal.apply(OWNER, [book("rep@example.com", at(2, 9))])
    assert o.error is not None and o.transient
