"""Reading the manager's calendar: full sync, pagination, incremental sync, 410, parsing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from fake_server import FakeGoogle
from google_support import OWNER, TZ, WINDOW, at, timed

from integrations.errors import RemoteError
from integrations.google.calendar import GoogleCalendar
from integrations.google.sync import MemoryKV, cache_key
from planner.timeutil import Interval


def _seed(fake: FakeGoogle, n: int, day: int = 2) -> list[str]:
    return [
        fake.add_event(
            "primary",
            timed(
                at(day + i // 8, 8 + i % 8), at(day + i // 8, 8 + i % 8, 30), summary=f"meeting {i}"
            ),
        )["id"]
        for i in range(n)
    ]


def test_first_read_pages_through_then_syncs_incrementally(
    fake_google: FakeGoogle, gcal: GoogleCalendar, kv: MemoryKV
) -> None:
    fake_google.page_size = 3
    ids = _seed(fake_google, 7)
    fake_google.add_event("primary", timed(at(30, 9), at(30, 10), summary="after the window"))

    first = gcal.read(OWNER, WINDOW)

    assert sorted(e.id for e in first.events) == sorted(ids)
    lists = fake_google.calls("events.list")
    assert len(lists) == 3  # 7 events at 3 per page
    assert all(r.query["singleEvents"] == ["true"] and "timeMin" in r.query for r in lists)
    assert [("pageToken" in r.query) for r in lists] == [False, True, True]

    token_before = kv.get(cache_key(OWNER, "primary"))["token"]
    fake_google.clear_log()
    new = fake_google.add_event("primary", timed(at(5, 9), at(5, 10), summary="new"))["id"]
    fake_google.update_event("primary", ids[0], {"summary": "renamed"})
    fake_google.remove_event("primary", ids[1])

    second = gcal.read(OWNER, WINDOW)

    [req] = fake_google.requests
    assert req.method_name == "events.list" and "syncToken" in req.query
    assert not {"timeMin", "timeMax", "orderBy"} & set(req.query)
    by_id = {e.id: e for e in second.events}
    assert new in by_id and ids[1] not in by_id and by_id[ids[0]].title == "renamed"
    assert len(by_id) == 7
    assert kv.get(cache_key(OWNER, "primary"))["token"] != token_before
    cached = kv.get(cache_key(OWNER, "primary"))["items"]
    assert set(by_id) <= set(cached)  # plus the margin beyond the window
    assert all("etag" not in item and "kind" not in item for item in cached.values())


def test_steady_state_read_is_one_request(fake_google: FakeGoogle, gcal: GoogleCalendar) -> None:
    _seed(fake_google, 5)
    gcal.read(OWNER, WINDOW)
    fake_google.clear_log()
    gcal.read(OWNER, WINDOW)
    gcal.read(OWNER, Interval(WINDOW.start + timedelta(hours=1), WINDOW.end + timedelta(days=1)))
    assert [r.method_name for r in fake_google.requests] == ["events.list", "events.list"]
    assert all("syncToken" in r.query for r in fake_google.requests)


def test_expired_sync_token_triggers_full_resync(
    fake_google: FakeGoogle, gcal: GoogleCalendar
) -> None:
    ids = _seed(fake_google, 2)
    gcal.read(OWNER, WINDOW)
    fake_google.expire_sync_tokens()
    later = fake_google.add_event("primary", timed(at(9, 9), at(9, 10)))["id"]
    fake_google.clear_log()

    got = gcal.read(OWNER, WINDOW)

    assert sorted(e.id for e in got.events) == sorted([*ids, later])
    statuses = [(("syncToken" in r.query), r.status) for r in fake_google.calls("events.list")]
    assert statuses == [(True, 410), (False, 200)]


def test_token_saved_only_after_last_page(
    fake_google: FakeGoogle, gcal: GoogleCalendar, kv: MemoryKV
) -> None:
    fake_google.page_size = 2
    _seed(fake_google, 2)
    gcal.read(OWNER, WINDOW)
    before = kv.get(cache_key(OWNER, "primary"))
    extra = _seed(fake_google, 5, day=15)
    # The second page of the incremental sync fails for good.
    fake_google.inject("GET", r"/events$", 403, reason="forbidden", skip=1)

    with pytest.raises(RemoteError):
        gcal.read(OWNER, WINDOW)

    assert kv.get(cache_key(OWNER, "primary")) == before
    got = gcal.read(OWNER, WINDOW)
    assert set(extra) <= {e.id for e in got.events}


def test_window_beyond_the_cache_does_a_full_sync(
    fake_google: FakeGoogle, gcal: GoogleCalendar
) -> None:
    gcal.read(OWNER, WINDOW)
    far = fake_google.add_event(
        "primary", timed(at(20, 9) + timedelta(days=30), at(20, 10) + timedelta(days=30))
    )["id"]
    fake_google.clear_log()
    moved = Interval(WINDOW.start + timedelta(days=30), WINDOW.end + timedelta(days=30))

    got = gcal.read(OWNER, moved)

    [req] = fake_google.requests
    assert "timeMin" in req.query and "syncToken" not in req.query
    assert far in {e.id for e in got.events}


def test_event_kinds_are_understood(fake_google: FakeGoogle, gcal: GoogleCalendar) -> None:
    f = fake_google
    allday = f.add_event(
        "primary",
        {"start": {"date": "2027-03-08"}, "end": {"date": "2027-03-10"}, "summary": "offsite"},
    )
    focus = f.add_event("primary", timed(at(2, 9), at(2, 11), eventType="focusTime"))
    ooo = f.add_event("primary", timed(at(3, 0), at(4, 0), eventType="outOfOffice"))
    loc = f.add_event("primary", timed(at(4, 0), at(5, 0), eventType="workingLocation"))
    free = f.add_event("primary", timed(at(5, 9), at(5, 10), transparency="transparent"))
    inst = f.add_event(
        "primary",
        timed(at(9, 9), at(9, 10), recurringEventId="series1", iCalUID="series1@example.com"),
    )
    invite = f.add_event(
        "primary",
        timed(
            at(10, 9),
            at(10, 10),
            organizer={"email": "boss@example.com"},
            attendees=[
                {"email": "boss@example.com", "organizer": True, "responseStatus": "accepted"},
                {"email": OWNER, "self": True, "responseStatus": "tentative"},
            ],
        ),
    )
    tagged = f.add_event(
        "primary",
        timed(
            at(11, 9),
            at(11, 10),
            id="coachd00000001",
            extendedProperties={
                "private": {
                    "coachd_key": "one_on_one:rep@example.com:2027-W10",
                    "coachd_kind": "one_on_one",
                    "coachd_rep": "rep@example.com",
                    "coachd_period": "2027-W10",
                    "coachd_generation": "2",
                    "coachd_flag": "x",
                }
            },
        ),
    )

    events = {e.id: e for e in gcal.read(OWNER, WINDOW).events}

    a = events[allday["id"]]
    assert a.all_day and a.start == datetime(2027, 3, 8, tzinfo=TZ)
    assert a.end == datetime(2027, 3, 10, tzinfo=TZ) and a.blocks_time()
    assert events[focus["id"]].event_type == "focusTime" and events[focus["id"]].blocks_time()
    assert events[ooo["id"]].event_type == "outOfOffice" and events[ooo["id"]].blocks_time()
    assert events[loc["id"]].event_type == "workingLocation"
    assert not events[loc["id"]].blocks_time()
    assert events[free["id"]].transparent and not events[free["id"]].blocks_time()
    i = events[inst["id"]]
    assert i.recurring and i.uid == "series1@example.com"
    v = events[invite["id"]]
    assert v.self_status == "tentative" and v.organizer == "boss@example.com"
    assert events[focus["id"]].self_status is None  # the manager organizes it
    t = events[tagged["id"]]
    assert t.tag is not None and t.tag.generation == 2 and t.tag.rep == "rep@example.com"
    assert t.flagged and t.uid == tagged["id"]


def test_malformed_event_is_skipped_with_a_warning(
    fake_google: FakeGoogle, gcal: GoogleCalendar
) -> None:
    good = fake_google.add_event("primary", timed(at(2, 9), at(2, 10)))["id"]
    fake_google.add_event(
        "primary",
        {
            "id": "broken00001",
            "start": {"dateTime": at(3, 9).isoformat()},
            "end": {"dateTime": "tomorrow-ish"},
        },
    )
    got = gcal.read(OWNER, WINDOW)
    assert [e.id for e in got.events] == [good]
    assert len(got.warnings) == 1 and "broken00001" in got.warnings[0]


def test_all_day_dates_follow_the_manager_zone_across_dst(
    fake_google: FakeGoogle, gcal: GoogleCalendar
) -> None:
    # 2027-03-14 is the spring-forward Sunday in Chicago: the day is 23 hours long.
    ev = fake_google.add_event(
        "primary", {"start": {"date": "2027-03-14"}, "end": {"date": "2027-03-15"}}
    )
    [got] = [e for e in gcal.read(OWNER, WINDOW).events if e.id == ev["id"]]
    assert got.start.date() == date(2027, 3, 14)
    assert got.end.astimezone(UTC) - got.start.astimezone(UTC) == timedelta(hours=23)


def test_a_cancelled_series_removes_its_instances(
    fake_google: FakeGoogle, gcal: GoogleCalendar
) -> None:
    f = fake_google
    f.add_event(
        "primary",
        timed(at(1, 9), at(1, 10), id="series0001", recurrence=["RRULE:FREQ=WEEKLY;COUNT=3"]),
    )
    for d in (1, 8, 15):
        f.add_event(
            "primary",
            timed(
                at(d, 9), at(d, 10), id=f"series0001_202703{d:02d}", recurringEventId="series0001"
            ),
        )
    other = f.add_event("primary", timed(at(2, 9), at(2, 10)))["id"]
    first = gcal.read(OWNER, WINDOW)
    assert len(first.events) == 4 and all(e.recurring for e in first.events if e.id != other)

    f.remove_event("primary", "series0001")  # the organizer deletes the whole series

    assert [e.id for e in gcal.read(OWNER, WINDOW).events] == [other]
