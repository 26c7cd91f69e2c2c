"""Free-slot finding, the busy board, cadence periods and the snapshot window."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from strategies import policy

from planner.periods import (
    Period,
    cadence_weeks,
    period_of,
    periods_between,
    ramp_week,
    snapshot_window,
)
from planner.slots import Board, day_slots, fixed_slot, inside_working_hours, working_window
from planner.timeutil import Interval

CHI = ZoneInfo("America/Chicago")
BER = ZoneInfo("Europe/Berlin")
UTC = ZoneInfo("UTC")


def test_day_slots_follow_the_step_grid_and_end_inside_the_window() -> None:
    d = date(2026, 12, 1)
    slots = list(
        day_slots(d, time(9), time(10, 30), timedelta(minutes=30), timedelta(minutes=15), CHI)
    )
    assert [s.start.astimezone(CHI).time() for s in slots] == [
        time(9),
        time(9, 15),
        time(9, 30),
        time(9, 45),
        time(10),
    ]
    assert all(s.duration == timedelta(minutes=30) for s in slots)
    assert slots[-1].end.astimezone(CHI).time() == time(10, 30)


def test_day_slots_skip_the_gap_and_keep_exact_durations() -> None:
    gap_day = date(2027, 3, 28)
    slots = list(
        day_slots(gap_day, time(1), time(5), timedelta(minutes=45), timedelta(minutes=30), BER)
    )
    walls = [s.start.astimezone(BER).time() for s in slots]
    assert time(2) not in walls and time(2, 30) not in walls
    assert walls[:3] == [time(1), time(1, 30), time(3)]
    assert len({s.start for s in slots}) == len(slots)
    assert all(s.end - s.start == timedelta(minutes=45) for s in slots)
    assert fixed_slot(gap_day, time(2, 30), timedelta(minutes=15), BER) is None


def test_fall_back_hour_is_counted_in_real_time() -> None:
    # 2027-11-07 01:00-02:00 happens twice in Chicago; a 09:00-10:00 window is unaffected
    (s,) = list(
        day_slots(
            date(2027, 11, 7), time(0, 30), time(2), timedelta(hours=1), timedelta(hours=2), CHI
        )
    )
    assert s.end - s.start == timedelta(hours=1)


def test_board_buffer_applies_to_meetings_not_to_coaching_blocks() -> None:
    d = date(2026, 12, 1)

    def at(h: int, m: int = 0) -> datetime:
        return datetime.combine(d, time(h, m), tzinfo=CHI)

    board = Board(
        tz=CHI,
        manager_busy=[Interval(at(9), at(10))],
        rep_busy={"ana@x.example": [Interval(at(13), at(14))]},
        buffer=timedelta(minutes=10),
        cap=timedelta(hours=1),
    )
    assert not board.manager_free(Interval(at(10), at(10, 30)))
    assert board.manager_free(Interval(at(10), at(10, 30)), buffered=False)
    assert board.manager_free(Interval(at(10, 15), at(10, 45)))
    board.place(Interval(at(11), at(11, 30)))
    assert board.manager_free(Interval(at(11, 30), at(12)))  # back to back with coaching is fine
    assert not board.manager_free(Interval(at(11, 15), at(11, 45)))
    assert not board.rep_free("ana@x.example", Interval(at(13, 30), at(14, 30)))
    assert board.rep_free("ben@x.example", Interval(at(13, 30), at(14, 30)))
    assert board.fits_cap(d, timedelta(minutes=30))
    assert not board.fits_cap(d, timedelta(minutes=45))
    # placing overlapping and touching blocks keeps the list merged for binary search
    board.place(Interval(at(11, 20), at(12)))
    board.place(Interval(at(15), at(15, 30)))
    board.place(Interval(at(12), at(15)))
    assert not board.manager_free(Interval(at(14), at(14, 30)))
    assert board.manager_free(Interval(at(15, 30), at(16)))


def test_working_hours_checks() -> None:
    pol = policy()
    d = date(2026, 12, 1)
    inside = Interval(
        datetime.combine(d, time(8), tzinfo=CHI), datetime.combine(d, time(17), tzinfo=CHI)
    )
    assert inside_working_hours(inside, pol.manager)
    assert not inside_working_hours(inside.padded(timedelta(minutes=1)), pol.manager)
    sat = Interval(inside.start + timedelta(days=4), inside.end + timedelta(days=4))
    assert not inside_working_hours(sat, pol.manager)
    assert working_window(pol.manager, pol.coaching.call_review.window) == (time(13), time(17))


def test_periods_are_aligned_stable_and_labelled() -> None:
    assert cadence_weeks(timedelta(weeks=1)) == 1
    assert cadence_weeks(timedelta(days=30)) == 4
    assert cadence_weeks(timedelta(days=1)) == 1
    p = period_of(date(2026, 12, 3), 1)
    assert p == Period(date(2026, 11, 30), 1) and p.label == "2026-W49"
    two = period_of(date(2026, 12, 3), 2)
    # the same two-week period from any of its days, on any tick
    assert all(period_of(two.first + timedelta(days=i), 2) == two for i in range(14))
    assert two.label.endswith("+2w") and (two.first - date(2024, 1, 1)).days % 14 == 0
    assert periods_between(date(2026, 12, 3), date(2026, 12, 20), 1)[-1].label == "2026-W51"
    assert period_of(date(2027, 1, 1), 1).label == "2026-W53"


def test_ramp_week() -> None:
    pol = policy([{"name": "N", "email": "n@x.example", "start_date": "2026-11-10"}])
    rep = pol.team[0]
    assert ramp_week(rep, date(2026, 11, 10), 12) == 1
    assert ramp_week(rep, date(2026, 11, 30), 12) == 3
    assert ramp_week(rep, date(2027, 2, 2), 12) is None
    assert ramp_week(rep, date(2026, 11, 9), 12) is None


def test_snapshot_window_looks_back_five_weeks_from_this_monday() -> None:
    pol = policy(horizon="3 weeks")
    now = datetime(2026, 12, 3, 15, 0, tzinfo=CHI)
    w = snapshot_window(pol, now)
    assert w.start == datetime(2026, 10, 26, 0, 0, tzinfo=CHI)
    assert w.end == now + timedelta(weeks=3)
