"""planner.case_report: the case timeline and the leadership rows, from plain data."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from test_cases import ANA, CHI, _apply, _policy

from planner.case_report import case_report_context, open_cases_rows
from planner.cases import plan_cases
from planner.model import CoachdTag, Event, KpiRow, Snapshot
from planner.periods import snapshot_window
from planner.record import new_record, parse

OPENED = datetime(2026, 11, 30, 6, 0, tzinfo=CHI)
NOW = datetime(2026, 12, 22, 6, 0, tzinfo=CHI)


def _rows(values: dict[date, float]) -> tuple[KpiRow, ...]:
    return tuple(KpiRow(w, ANA, "calls", v) for w, v in values.items())


def _one_on_one(day: int, kind: str = "one_on_one", hours: float = 0.5) -> Event:
    start = datetime(2026, 12, day, 9, 0, tzinfo=CHI)
    return Event(
        id=f"e{day}{kind}",
        uid=f"u{day}{kind}",
        calendar="maria@acme.example",
        title="1:1",
        start=start,
        end=start + timedelta(hours=hours),
        tag=CoachdTag(f"{kind}:{ANA}:x{day}", kind, ANA, f"x{day}"),
    )


def test_timeline_trend_and_leadership_row() -> None:
    pol = _policy()
    weeks = [date(2026, 11, 30) - timedelta(weeks=n) for n in range(6, 0, -1)]
    below = dict.fromkeys(weeks, 30.0)
    snap0 = Snapshot(window=snapshot_window(pol, OPENED), kpis=_rows(below))
    rec = parse(new_record(ANA, "Ana"))
    [oc] = plan_cases(
        pol, Snapshot(window=snap0.window, kpis=snap0.kpis, records={ANA: rec}), OPENED
    )
    rec = _apply(rec, oc)
    later = {**below, date(2026, 11, 30): 40.0, date(2026, 12, 7): 55.0}
    events = (_one_on_one(1), _one_on_one(10, "ride_along", 4), _one_on_one(29))
    snap = Snapshot(
        window=snapshot_window(pol, NOW), kpis=_rows(later), records={ANA: rec}, events=events
    )
    ctx = case_report_context(pol, snap, ANA, rec, NOW)
    assert ctx["case"]["kind"] == "coach-out" and ctx["case"]["age_days"] == 22
    [calls] = ctx["kpis"]
    assert (calls["first"], calls["last"], calls["change"]) == ("30", "55", "better")
    assert [w["status"] for w in calls["weeks"]][-3:] == ["below", "meets", "none"]
    assert [m["held"] for m in ctx["meetings"]] == [True, True, False]
    assert (ctx["held_count"], ctx["coaching_hours"]) == (2, "4h30")
    assert [c["state"] for c in ctx["checkpoints"]] == ["missed", "ahead"]
    [row] = open_cases_rows(pol, snap, NOW)
    assert row["direction"] == "improving" and row["movement"] == "Calls 30 → 55 (better)"
    assert row["coaching_hours"] == "4h30" and row["held"] == 2
    with pytest.raises(ValueError, match="no coaching case"):
        case_report_context(pol, snap, ANA, parse(new_record(ANA, "Ana")), NOW)
