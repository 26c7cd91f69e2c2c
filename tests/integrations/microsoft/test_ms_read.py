"""Reading the manager's calendar: calendarView delta, resync, expansion, zones, showAs."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from fake_graph import FakeGraph
from ms_support import OWNER, TZ, WINDOW, at, book, make_calendar, person, timed

from integrations.google.retry import Backoff
from integrations.google.sync import MemoryKV
from integrations.microsoft.calendar import MicrosoftCalendar
from planner.timeutil import Interval


def _delta_calls(fake: FakeGraph) -> list[dict[str, str]]:
    return [r.query for r in fake.requests if r.name == "delta"]


def test_first_read_is_a_full_sync_then_one_delta_request(
    fake_graph: FakeGraph, mscal: MicrosoftCalendar
) -> None:
    fake_graph.add_event(OWNER, timed(at(9, 9), at(9, 10), subject="Pipeline review"))
    first = mscal.read(OWNER, WINDOW)
    assert [e.title for e in first.events] == ["Pipeline review"]
    [q] = _delta_calls(fake_graph)
    assert q["startDateTime"] == "2027-03-01T06:00:00Z"  # Chicago midnight, in UTC
    assert q["endDateTime"] == "2027-04-05T05:00:00Z"  # window end + 7 days, after DST
    [r] = fake_graph.requests
    assert 'outlook.timezone="Central Standard Time"' in r.headers["prefer"]
    assert "odata.maxpagesize=" in r.headers["prefer"]
    fake_graph.clear_log()
    again = mscal.read(OWNER, WINDOW)
    assert again.events == first.events
    assert [list(q) for q in _delta_calls(fake_graph)] == [["$deltatoken"]]
    assert len(fake_graph.requests) == 1


def test_changes_arrive_through_the_delta_link(
    fake_graph: FakeGraph, mscal: MicrosoftCalendar
) -> None:
    keep = fake_graph.add_event(OWNER, timed(at(9, 9), at(9, 10), subject="Keep"))
    gone = fake_graph.add_event(OWNER, timed(at(10, 9), at(10, 10), subject="Deleted"))
    away = fake_graph.add_event(OWNER, timed(at(11, 9), at(11, 10), subject="Moved away"))
    mscal.read(OWNER, WINDOW)
    fake_graph.remove_event(OWNER, gone["id"])
    fake_graph.update_event(
        OWNER, away["id"], timed(at(9, 9) + timedelta(days=60), at(9, 10) + timedelta(days=60))
    )
    fake_graph.update_event(OWNER, keep["id"], {"subject": "Kept, renamed"})
    fake_graph.add_event(OWNER, timed(at(12, 9), at(12, 10), subject="New"))
    fake_graph.clear_log()
    titles = [e.title for e in mscal.read(OWNER, WINDOW).events]
    assert titles == ["Kept, renamed", "New"]
    assert len(fake_graph.requests) == 1


def test_pages_are_followed_to_the_delta_link(fake_graph: FakeGraph, kv: MemoryKV) -> None:
    for d in range(1, 28):
        fake_graph.add_event(OWNER, timed(at(d, 9), at(d, 10), subject=f"day {d}"))
    cal = make_calendar(fake_graph, kv, Backoff(sleep=lambda s: None))
    cal.page_size = 10
    assert len(cal.read(OWNER, WINDOW).events) == 27
    calls = _delta_calls(fake_graph)
    assert len(calls) == 3 and all("$skiptoken" in q for q in calls[1:])


def test_an_expired_delta_link_means_one_full_resync(
    fake_graph: FakeGraph, mscal: MicrosoftCalendar
) -> None:
    fake_graph.add_event(OWNER, timed(at(9, 9), at(9, 10), subject="A"))
    mscal.read(OWNER, WINDOW)
    fake_graph.expire_delta_links()
    fake_graph.add_event(OWNER, timed(at(9, 11), at(9, 12), subject="B"))
    fake_graph.clear_log()
    assert [e.title for e in mscal.read(OWNER, WINDOW).events] == ["A", "B"]
    assert [(r.status, sorted(r.query)) for r in fake_graph.requests] == [
        (410, ["$deltatoken"]),
        (200, ["endDateTime", "startDateTime"]),
    ]


def test_a_window_beyond_the_cache_is_a_full_sync(
    fake_graph: FakeGraph, mscal: MicrosoftCalendar
) -> None:
    mscal.read(OWNER, WINDOW)
    later = Interval(WINDOW.start + timedelta(days=14), WINDOW.end + timedelta(days=14))
    fake_graph.clear_log()
    mscal.read(OWNER, later)
    assert sorted(_delta_calls(fake_graph)[0]) == ["endDateTime", "startDateTime"]


def test_recurring_series_arrive_expanded(fake_graph: FakeGraph, mscal: MicrosoftCalendar) -> None:
    series = fake_graph.add_event(
        OWNER,
        timed(
            at(1, 15),
            at(1, 16),
            subject="Weekly ops sync",
            organizer={"emailAddress": {"address": "ops@example.com", "name": "Ops"}},
            attendees=[person(OWNER, "notResponded"), person("ops@example.com", "organizer")],
            responseStatus={"response": "notResponded"},
            recurrence={
                "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
                "range": {"type": "noEnd", "startDate": "2027-03-01"},
            },
        ),
    )
    events = mscal.read(OWNER, WINDOW).events
    assert [e.start for e in events] == [at(1, 15), at(8, 15), at(15, 15), at(22, 15)]
    assert all(e.recurring and e.uid == series["id"] for e in events)
    assert len({e.id for e in events}) == 4
    # 15:00 Chicago on both sides of the DST change (14 March).
    assert [e.start.utcoffset() for e in events] == [timedelta(hours=-6)] * 2 + [
        timedelta(hours=-5)
    ] * 2


def test_response_organizer_attendee_types_and_show_as(
    fake_graph: FakeGraph, mscal: MicrosoftCalendar
) -> None:
    org = {"emailAddress": {"address": "Boss@Example.com", "name": "Boss"}}
    common = {
        "organizer": org,
        "attendees": [
            person("boss@example.com", "organizer"),
            person(OWNER, "tentativelyAccepted"),
            person("room.4@example.com", "accepted", kind="resource"),
            person("opt@example.com", "declined", kind="optional"),
        ],
    }
    for hour, show_as, response in [
        (8, "busy", "accepted"),
        (9, "tentative", "tentativelyAccepted"),
        (10, "free", "declined"),
        (11, "oof", "notResponded"),
        (12, "workingElsewhere", "none"),
    ]:
        fake_graph.add_event(
            OWNER,
            timed(
                at(9, hour),
                at(9, hour + 1),
                subject=show_as,
                showAs=show_as,
                responseStatus={"response": response},
                **common,
            ),
        )
    by_title = {e.title: e for e in mscal.read(OWNER, WINDOW).events}
    busy = by_title["busy"]
    assert busy.organizer == "boss@example.com"
    roles = {a.email: (a.role, a.status, a.organizer) for a in busy.attendees}
    assert roles == {
        "boss@example.com": ("required", "accepted", True),
        OWNER: ("required", "tentative", False),
        "room.4@example.com": ("resource", "accepted", False),
        "opt@example.com": ("optional", "declined", False),
    }
    assert [
        by_title[t].self_status for t in ("busy", "tentative", "free", "oof", "workingElsewhere")
    ] == [
        "accepted",
        "tentative",
        "declined",
        "needsAction",
        "needsAction",
    ]
    assert by_title["busy"].blocks_time() and by_title["tentative"].blocks_time()
    assert by_title["free"].transparent and not by_title["free"].blocks_time()
    assert by_title["oof"].event_type == "outOfOffice" and by_title["oof"].blocks_time()
    assert by_title["workingElsewhere"].event_type == "workingLocation"
    assert not by_title["workingElsewhere"].blocks_time()


def test_own_meetings_have_no_self_status(fake_graph: FakeGraph, mscal: MicrosoftCalendar) -> None:
    fake_graph.add_event(
        OWNER, timed(at(9, 9), at(9, 10), subject="Mine", attendees=[person("a@example.com")])
    )
    [ev] = mscal.read(OWNER, WINDOW).events
    assert ev.organizer == OWNER and ev.self_status is None


def test_zones_and_all_day_events(fake_graph: FakeGraph, mscal: MicrosoftCalendar) -> None:
    berlin = datetime(2027, 3, 9, 17, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    fake_graph.add_event(
        OWNER,
        {
            "subject": "Call with Berlin",
            "start": {"dateTime": "2027-03-09T17:00:00", "timeZone": "W. Europe Standard Time"},
            "end": {"dateTime": "2027-03-09T18:00:00", "timeZone": "W. Europe Standard Time"},
        },
    )
    fake_graph.add_event(
        OWNER,
        {
            "subject": "Offsite",
            "isAllDay": True,
            "start": {"dateTime": "2027-03-15T00:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2027-03-17T00:00:00", "timeZone": "UTC"},
        },
    )
    by_title = {e.title: e for e in mscal.read(OWNER, WINDOW).events}
    call = by_title["Call with Berlin"]
    assert call.start == berlin and call.start.tzinfo == TZ and call.start.hour == 10
    off = by_title["Offsite"]
    assert off.all_day and (off.start, off.end) == (at(15, 0), at(17, 0))
    assert off.blocks_time()


def test_a_booking_across_the_dst_change_keeps_its_wall_time(
    fake_graph: FakeGraph, mscal: MicrosoftCalendar
) -> None:
    before, after = book("a@example.com", at(12, 9)), book("b@example.com", at(15, 9))
    assert [o.error for o in mscal.apply(OWNER, [before, after])] == [None, None]
    stored = {e["transactionId"]: e for e in fake_graph.events(OWNER)}
    assert stored[after.event_id]["start"] == {
        "dateTime": "2027-03-15T09:00:00",
        "timeZone": "Central Standard Time",
    }
    got = {e.id: e.start for e in mscal.read(OWNER, WINDOW).events}
    assert got == {before.event_id: at(12, 9), after.event_id: at(15, 9)}


def test_an_unusable_event_is_skipped_with_a_warning(
    fake_graph: FakeGraph, mscal: MicrosoftCalendar
) -> None:
    bad = fake_graph.add_event(OWNER, timed(at(9, 10), at(9, 9), subject="Backwards"))
    fake_graph.add_event(OWNER, timed(at(9, 11), at(9, 12), subject="Fine"))
    read = mscal.read(OWNER, WINDOW)
    assert [e.title for e in read.events] == ["Fine"]
    assert len(read.warnings) == 1 and bad["id"] in read.warnings[0]


def test_tags_are_read_once_when_the_cache_is_lost(fake_graph: FakeGraph, backoff: Backoff) -> None:
    first = make_calendar(fake_graph, MemoryKV(), backoff)
    bookings = [book(f"r{i}@example.com", at(9 + i % 3, 9 + i)) for i in range(3)]
    first.apply(OWNER, bookings)
    fake_graph.add_event(
        OWNER, timed(at(9, 13), at(9, 14), subject="Outlook-made", transactionId="outlook-1")
    )
    fresh = make_calendar(fake_graph, MemoryKV(), backoff)  # a new state store: no cache
    fake_graph.clear_log()
    events = fresh.read(OWNER, WINDOW).events
    tagged = {e.id: e.tag for e in events if e.tag}
    assert set(tagged) == {b.event_id for b in bookings}
    assert all(t is not None and t.kind == "one_on_one" for t in tagged.values())
    assert [r.name for r in fake_graph.requests if not r.in_batch] == ["delta", "$batch"]
    assert len(fake_graph.calls("events.get")) == 4  # three bookings, one Outlook event
    fake_graph.clear_log()
    fresh.read(OWNER, WINDOW)
    assert [r.name for r in fake_graph.requests] == ["delta"]


def test_tags_of_new_bookings_are_remembered_across_restarts(
    fake_graph: FakeGraph, kv: MemoryKV, backoff: Backoff
) -> None:
    cal = make_calendar(fake_graph, kv, backoff)
    cal.read(OWNER, WINDOW)
    b = book("rep@example.com", at(9, 10))
    cal.apply(OWNER, [b])
    restarted = make_calendar(fake_graph, kv, backoff)  # same state store, new process
    fake_graph.clear_log()
    [ev] = restarted.read(OWNER, WINDOW).events
    assert ev.id == b.event_id and ev.tag is not None and ev.tag.key == b.key
    assert [r.name for r in fake_graph.requests] == ["delta"]


def test_a_read_that_times_out_is_retried(
    fake_graph: FakeGraph, mscal: MicrosoftCalendar, sleeps: list[float]
) -> None:
    fake_graph.add_event(OWNER, timed(at(9, 9), at(9, 10), subject="A"))
    fake_graph.inject("GET", r"/delta$", 0, delay=1.0)
    assert [e.title for e in mscal.read(OWNER, WINDOW).events] == ["A"]
    assert sleeps == [1.0] and len(fake_graph.calls("delta")) == 2
