"""The 1:1 agenda names the conversation a KPI streak calls for, and a new hire's ramp."""

from __future__ import annotations

from factories import make_policy

from planner.contexts import conversation
from planner.email_kinds import sample_context


def test_a_streak_past_coach_out_after_names_a_coach_out_with_the_kpis() -> None:
    pol = make_policy({"coaching": {"standards": {"coach_up_after": 2, "coach_out_after": 6}}})
    cells = [
        {"name": "Calls", "weeks_below": 7},
        {"name": "Meetings", "weeks_below": 3},
        {"name": "Win rate", "weeks_below": 1},
    ]
    got = conversation(pol, cells)
    assert got is not None and got["kind"] == "coach-out" and got["weeks"] == 7
    assert [k["name"] for k in got["kpis"]] == ["Calls", "Meetings"]
    up = conversation(pol, cells[1:])
    assert up is not None and up["kind"] == "coach-up" and up["after"] == 2
    assert conversation(pol, cells[2:]) is None


def test_the_sample_agenda_carries_the_conversation_and_the_ramp_milestones() -> None:
    ctx = sample_context("agenda")
    assert ctx["conversation"]["kind"] == "coach-up" and ctx["conversation"]["weeks"] == 4
    ramp = ctx["new_hire"]
    assert ramp["week"] == 9 and ramp["ramp_weeks"] == 12
    assert [m["status"] for m in ramp["milestones"]] == ["past", "past", "ahead"]
