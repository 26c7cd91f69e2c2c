"""Unit tests of the coaching planner, kind by kind."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from strategies import MANAGER, apply, event, policy

from planner.actions import Book
from planner.coaching import plan_coaching
from planner.ids import booking_key, event_id
from planner.model import KpiRow, Snapshot
from planner.periods import snapshot_window
from planner.policy import Policy
from planner.slots import inside_working_hours

CHI = ZoneInfo("America/Chicago")
MON = datetime(2026, 11, 30, 6, 0, tzinfo=CHI)  # Monday of ISO week 2026-W49
ONLY_1ON1 = {
    "ride_along": {"enabled": False},
    "huddle": {"enabled": False},
    "sales_meeting": {"enabled": False},
    "call_review": {"enabled": False},
}


def snap(pol: Policy, now: datetime, events: tuple = (), **kw: object) -> Snapshot:
    return Snapshot(window=snapshot_window(pol, now), events=events, **kw)  # type: ignore[arg-type]


def books(actions: list, kind: str | None = None) -> list[Book]:
    return [a for a in actions if isinstance(a, Book) and (kind is None or a.kind == kind)]


def at(d: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(d, time(hh, mm), tzinfo=CHI)


# -- one-on-ones --------------------------------------------------------------------------


def test_each_rep_gets_one_weekly_one_on_one_per_week_in_the_horizon() -> None:
    pol = policy(**ONLY_1ON1)
    plan = plan_coaching(pol, snap(pol, MON), MON)
    got = books(plan.actions, "one_on_one")
    assert sorted((b.rep, b.period) for b in got) == [
        ("ana@acme.example", "2026-W49"),
        ("ana@acme.example", "2026-W50"),
        ("ben@acme.example", "2026-W49"),
        ("ben@acme.example", "2026-W50"),
    ]
    for b in got:
        assert b.key == booking_key("one_on_one", b.rep, b.period)
        assert b.event_id == event_id(MANAGER, b.key, 0)
        assert b.end - b.start == timedelta(minutes=30)
        assert b.start.strftime("%a") in ("Tue", "Wed", "Thu")
        assert time(9) <= b.start.timetz().replace(tzinfo=None) and b.end.time() <= time(16)
        assert b.attendees == (b.rep,)
        assert b.reason.startswith("weekly 1:1 for ")
    assert [b.key for b in plan.blocks if b.kind == "one_on_one"]


def test_one_on_one_keeps_the_buffer_and_waits_for_the_rep() -> None:
    pol = policy(
        [{"name": "Ana", "email": "ana@acme.example"}],
        **ONLY_1ON1,
        horizon="1 week",
        one_on_one={"days": ["tue"]},
    )
    tue = date(2026, 12, 1)
    busy = (event(at(tue, 9), at(tue, 10), "Forecast call"),)
    rep_busy = {"ana@acme.example": ((at(tue, 10), at(tue, 11)),)}
    from planner.timeutil import Interval

    s = snap(
        pol, MON, busy, rep_busy={k: tuple(Interval(*v) for v in vs) for k, vs in rep_busy.items()}
    )
    (b,) = books(plan_coaching(pol, s, MON).actions)
    # 10:00 is too close to the forecast call (10m buffer) and Ana is busy until 11:00
    assert b.start == at(tue, 11)


def test_transparent_and_declined_meetings_do_not_block() -> None:
    pol = policy(
        [{"name": "Ana", "email": "ana@acme.example"}],
        **ONLY_1ON1,
        horizon="1 week",
        one_on_one={"days": ["tue"]},
    )
    tue = date(2026, 12, 1)
    evs = (
        event(at(tue, 9), at(tue, 12), "FYI", transparent=True),
        event(at(tue, 9), at(tue, 12), "Declined", self_status="declined"),
    )
    (b,) = books(plan_coaching(pol, snap(pol, MON, evs), MON).actions)
    assert b.start == at(tue, 9)


def test_all_day_and_multi_day_events_block_the_days_they_cover() -> None:
    pol = policy([{"name": "Ana", "email": "ana@acme.example"}], **ONLY_1ON1, horizon="1 week")
    tue, thu = date(2026, 12, 1), date(2026, 12, 3)
    evs = (event(at(tue, 0), at(thu, 0), "Offsite", all_day=True),)
    (b,) = books(plan_coaching(pol, snap(pol, MON, evs), MON).actions)
    assert b.start.date() == thu


def _below(rep: str, weeks: list[date], value: float) -> tuple[KpiRow, ...]:
    return tuple(KpiRow(week=w, rep=rep, kpi="calls", value=value) for w in weeks)


def test_rep_below_standard_gets_the_tighter_cadence() -> None:
    pol = Policy.model_validate(
        {
            "manager": {"name": "Maria", "email": MANAGER, "timezone": "America/Chicago"},
            "team": [
                {"name": "Ana", "email": "ana@acme.example"},
                {"name": "Ben", "email": "ben@acme.example"},
            ],
            "kpis": [{"id": "calls", "name": "Calls", "minimum": 50, "goal": 80}],
            "coaching": {
                **ONLY_1ON1,
                "horizon": "4 weeks",
                "standards": {"tighten_after": 2},
                "one_on_one": {"every": "4 weeks", "below_standard_every": "1 week"},
            },
        }
    )
    done = [date(2026, 11, 16), date(2026, 11, 23)]  # the last two completed weeks
    kpis = _below("ana@acme.example", done, 30) + _below("ben@acme.example", done, 60)
    # a figure for the running week does not count: only completed weeks do
    kpis += _below("ben@acme.example", [date(2026, 11, 30)], 10)
    plan = plan_coaching(pol, snap(pol, MON, kpis=kpis), MON)
    per_rep = Counter(b.rep for b in books(plan.actions))
    assert per_rep["ana@acme.example"] == 4
    assert per_rep["ben@acme.example"] == 1
    ana = [b for b in books(plan.actions) if b.rep == "ana@acme.example"]
    assert all(
        "below the minimum standard on a KPI for 2 consecutive weeks" in b.reason for b in ana
    )
    ben = next(b for b in books(plan.actions) if b.rep == "ben@acme.example")
    assert ben.reason.startswith("every 4 weeks 1:1") and ben.period.endswith("+4w")


def test_one_week_below_standard_does_not_tighten_yet() -> None:
    pol = Policy.model_validate(
        {
            "manager": {"name": "Maria", "email": MANAGER, "timezone": "America/Chicago"},
            "team": [{"name": "Ana", "email": "ana@acme.example"}],
            "kpis": [{"id": "calls", "name": "Calls", "minimum": 50, "goal": 80}],
            "coaching": {**ONLY_1ON1, "horizon": "4 weeks", "one_on_one": {"every": "4 weeks"}},
        }
    )
    kpis = _below("ana@acme.example", [date(2026, 11, 16)], 60)
    kpis += _below("ana@acme.example", [date(2026, 11, 23)], 30)
    assert len(books(plan_coaching(pol, snap(pol, MON, kpis=kpis), MON).actions)) == 1


def test_new_hire_cadence_during_ramp_and_nothing_before_the_start_date() -> None:
    pol = policy(
        [
            {"name": "Ana", "email": "ana@acme.example", "start_date": "2026-11-10"},
            {"name": "Cal", "email": "cal@acme.example", "start_date": "2026-12-09"},
            {"name": "Ben", "email": "ben@acme.example", "start_date": "2025-01-06"},
        ],
        **ONLY_1ON1,
        horizon="2 weeks",
        one_on_one={"every": "4 weeks", "new_hire_every": "1 week"},
    )
    plan = plan_coaching(pol, snap(pol, MON), MON)
    got = books(plan.actions)
    ana = [b for b in got if b.rep == "ana@acme.example"]
    assert len(ana) == 2 and "new hire, week 3 of 12 ramp" in ana[0].reason
    cal = [b for b in got if b.rep == "cal@acme.example"]
    assert len(cal) == 1 and cal[0].start.date() >= date(2026, 12, 9)
    assert len([b for b in got if b.rep == "ben@acme.example"]) == 1


def test_daily_cap_and_spread_over_the_preferred_days() -> None:
    team = [{"name": f"R{i}", "email": f"r{i}@acme.example"} for i in range(6)]
    pol = policy(team, **ONLY_1ON1, horizon="1 week", max_per_day="1h")
    plan = plan_coaching(pol, snap(pol, MON), MON)
    per_day = Counter(b.start.date() for b in books(plan.actions))
    assert per_day == {date(2026, 12, 1): 2, date(2026, 12, 2): 2, date(2026, 12, 3): 2}
    team7 = [*team, {"name": "R6", "email": "r6@acme.example"}]
    pol7 = policy(team7, **ONLY_1ON1, horizon="1 week", max_per_day="1h")
    plan7 = plan_coaching(pol7, snap(pol7, MON), MON)
    assert len(books(plan7.actions)) == 6
    assert any("R6" in s and "no free 30m slot" in s for s in plan7.skipped)


def test_nothing_in_the_past_nor_beyond_the_horizon() -> None:
    wed_noon = datetime(2026, 12, 2, 12, 0, tzinfo=CHI)
    pol = policy(horizon="5 days")
    plan = plan_coaching(pol, snap(pol, wed_noon), wed_noon)
    assert books(plan.actions)
    for b in books(plan.actions):
        assert wed_noon < b.start and b.end <= wed_noon + timedelta(days=5)
        assert inside_working_hours(b, pol.manager)  # type: ignore[arg-type]


def test_unreadable_rep_calendar_books_nothing_for_that_rep() -> None:
    pol = policy(**ONLY_1ON1)
    s = snap(pol, MON, read_errors={"ben@acme.example": "403"})
    plan = plan_coaching(pol, s, MON)
    assert {b.rep for b in books(plan.actions)} == {"ana@acme.example"}
    assert any("Ben" in x and "could not be read" in x for x in plan.skipped)


def test_unreadable_manager_calendar_books_nothing() -> None:
    pol = policy()
    plan = plan_coaching(pol, snap(pol, MON, read_errors={MANAGER: "timeout"}), MON)
    assert plan.actions == [] and plan.skipped


# -- huddles, sales meeting, call reviews -------------------------------------------------


def test_huddles_on_their_days_for_the_team_and_skipped_when_busy() -> None:
    pol = policy(
        horizon="1 week",
        ride_along={"enabled": False},
        sales_meeting={"enabled": False},
        call_review={"enabled": False},
    )
    wed = date(2026, 12, 2)
    busy = (event(at(wed, 8), at(wed, 9), "Breakfast with the VP"),)
    plan = plan_coaching(pol, snap(pol, MON, busy), MON)
    huddles = books(plan.actions, "huddle")
    assert [b.start for b in huddles] == [
        at(date(2026, 11, 30), 8, 30),
        at(date(2026, 12, 4), 8, 30),
    ]
    assert all(b.attendees == ("ana@acme.example", "ben@acme.example") for b in huddles)
    assert all(b.end - b.start == timedelta(minutes=15) for b in huddles)
    assert huddles[0].key == "huddle:-:2026-11-30"
    assert any("Wed 2 Dec" in s and "busy" in s for s in plan.skipped)


def test_sales_meeting_topics_rotate_in_order_and_wrap() -> None:
    pol = policy(
        horizon="7 weeks",
        ride_along={"enabled": False},
        huddle={"enabled": False},
        call_review={"enabled": False},
        one_on_one={"every": "4 weeks"},
        sales_meeting={
            "topics": ["Discovery", "Objections", "Closing"],
            "first_week": "2026-12-07",
        },
    )
    plan = plan_coaching(pol, snap(pol, MON), MON)
    meetings = books(plan.actions, "sales_meeting")
    # nothing before first_week; then the topics in order, wrapping
    assert [b.start.date() for b in meetings] == [
        date(2026, 12, 8) + timedelta(weeks=i) for i in range(6)
    ]
    assert [b.title for b in meetings] == [
        f"Weekly sales meeting: {t}"
        for t in ["Discovery", "Objections", "Closing", "Discovery", "Objections", "Closing"]
    ]
    assert all("Objections" in b.description for b in meetings if b.title.endswith("Objections"))
    assert [b.topic for b in plan.blocks if b.kind == "sales_meeting"][:2] == [
        "Discovery",
        "Objections",
    ]
    # the rotation is a property of the week, so a later tick agrees with this one
    later = MON + timedelta(weeks=2)
    again = books(plan_coaching(pol, snap(pol, later), later).actions, "sales_meeting")
    assert again[0].start == meetings[1].start and again[0].title == meetings[1].title


def test_call_reviews_per_week_on_different_days_manager_only() -> None:
    pol = policy(
        horizon="1 week",
        ride_along={"enabled": False},
        huddle={"enabled": False},
        sales_meeting={"enabled": False},
        call_review={"per_week": 3},
    )
    plan = plan_coaching(pol, snap(pol, MON), MON)
    reviews = books(plan.actions, "call_review")
    assert len(reviews) == 3
    assert len({b.start.date() for b in reviews}) == 3
    assert all(b.attendees == () for b in reviews)
    assert all(time(13) <= b.start.time() and b.end.time() <= time(17) for b in reviews)
    assert sorted(b.period for b in reviews) == ["2026-W49-1", "2026-W49-2", "2026-W49-3"]


# -- ride-alongs --------------------------------------------------------------------------


def test_ride_along_never_on_the_sales_meeting_day_and_marked_busy() -> None:
    pol = policy(
        horizon="1 week",
        huddle={"enabled": False},
        call_review={"enabled": False},
        sales_meeting={"day": "wed"},
        ride_along={"days": ["wed", "thu"]},
    )
    plan = plan_coaching(pol, snap(pol, MON), MON)
    (ride,) = books(plan.actions, "ride_along")
    assert ride.start.date() == date(2026, 12, 3) and ride.busy
    assert ride.end - ride.start == timedelta(hours=4) and ride.attendees == (ride.rep,)
    assert ride.rep == "ana@acme.example" and "never had one" in ride.reason


def test_ride_along_needs_the_rep_free_the_whole_block() -> None:
    from planner.timeutil import Interval

    pol = policy(
        horizon="1 week",
        huddle={"enabled": False},
        call_review={"enabled": False},
        sales_meeting={"enabled": False},
        ride_along={"days": ["wed"], "length": "full_day"},
    )
    wed = date(2026, 12, 2)
    s = snap(pol, MON, rep_busy={"ana@acme.example": (Interval(at(wed, 16), at(wed, 16, 30)),)})
    (ride,) = books(plan_coaching(pol, s, MON).actions, "ride_along")
    assert ride.rep == "ben@acme.example" and ride.start == at(wed, 8) and ride.end == at(wed, 17)


def test_ride_along_rotation_over_eight_weeks() -> None:
    team = [
        {"name": "Dee", "email": "dee@acme.example"},
        {"name": "Ana", "email": "ana@acme.example"},
        {"name": "Cy", "email": "cy@acme.example"},
        {"name": "Ned", "email": "ned@acme.example", "start_date": "2026-11-23"},
    ]
    pol = policy(
        team,
        horizon="1 week",
        huddle={"enabled": False},
        call_review={"enabled": False},
        sales_meeting={"enabled": False},
        ramp_weeks=12,
        one_on_one={"every": "4 weeks"},
        ride_along={"per_week": 1, "every": "6 weeks", "new_hire_every": "2 weeks"},
    )
    s = snap(pol, MON)
    order: list[str] = []
    for week in range(8):
        now = MON + timedelta(weeks=week)
        s = Snapshot(**{**s.__dict__, "window": snapshot_window(pol, now)})
        plan = plan_coaching(pol, s, now)
        rides = books(plan.actions, "ride_along")
        assert len(rides) <= 1
        order.append(",".join(r.rep.split("@")[0] for r in rides if r.rep))
        s = apply(s, plan.actions)
        # applying the plan and planning again adds nothing
        assert books(plan_coaching(pol, s, now).actions) == []
    # the new hire first and every 2 weeks (new_hire_every) during the ramp; in between, the
    # others who never had one by name (Ana, Cy, Dee), and Ana again 6 weeks after hers
    assert order == ["ned", "ana", "ned", "cy", "ned", "dee", "ned", "ana"]


# -- the whole plan -----------------------------------------------------------------------


def test_default_policy_books_every_kind_and_is_idempotent() -> None:
    pol = policy()
    s = snap(pol, MON)
    plan = plan_coaching(pol, s, MON)
    kinds = Counter(b.kind for b in books(plan.actions))
    assert set(kinds) == {"one_on_one", "ride_along", "huddle", "sales_meeting", "call_review"}
    assert all(b.reason for b in plan.actions)
    assert len(plan.blocks) == len(books(plan.actions))
    after = apply(s, plan.actions)
    again = plan_coaching(pol, after, MON)
    assert again.actions == []
    assert sorted(b.key for b in again.blocks) == sorted(b.key for b in plan.blocks)
    # and a later tick in the same horizon agrees with what is there
    later = MON + timedelta(hours=1)
    assert books(plan_coaching(pol, after, later).actions) == []


def test_fixed_blocks_outside_working_hours_are_skipped_with_a_reason() -> None:
    pol = policy(
        horizon="1 week",
        ride_along={"enabled": False},
        call_review={"enabled": False},
        huddle={"time": "07:30", "days": ["mon"]},
        sales_meeting={"day": "sat"},
    )
    plan = plan_coaching(pol, snap(pol, MON), MON)
    assert not books(plan.actions, "huddle") and not books(plan.actions, "sales_meeting")
    assert any(
        "Team huddle" in s and "outside the manager's working hours" in s for s in plan.skipped
    )
    assert any("Sales meeting" in s and "outside" in s for s in plan.skipped)
    assert books(plan.actions, "one_on_one")
