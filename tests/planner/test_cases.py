"""Coaching cases: opened once when a streak reaches coach-up/coach-out, never closed by
coachd, checkpoints booked as one-on-ones, and the agenda names the case."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from planner.actions import Book, OpenCase
from planner.cases import plan_cases
from planner.coaching import plan_coaching
from planner.contexts import BookedBlock, agenda_context
from planner.model import KpiRow, Snapshot
from planner.periods import snapshot_window
from planner.policy import Policy
from planner.record import Case, Item, Record, new_record, open_case, parse, serialise

CHI = ZoneInfo("America/Chicago")
MON = datetime(2026, 11, 30, 6, 0, tzinfo=CHI)
ANA, BEN = "ana@acme.example", "ben@acme.example"


def _policy(every: str = "1 week") -> Policy:
    return Policy.model_validate(
        {
            "manager": {
                "name": "Maria",
                "email": "maria@acme.example",
                "timezone": "America/Chicago",
            },
            "team": [{"name": "Ana", "email": ANA}, {"name": "Ben", "email": BEN}],
            "kpis": [{"id": "calls", "name": "Calls", "minimum": 50, "goal": 80}],
            "coaching": {
                "horizon": "4 weeks",
                "ride_along": {"enabled": False},
                "huddle": {"enabled": False},
                "sales_meeting": {"enabled": False},
                "call_review": {"enabled": False},
                "standards": {"coach_up_after": 2, "coach_out_after": 4, "tighten_after": 99},
                "one_on_one": {"every": every},
            },
        }
    )


def _kpis(weeks_below: dict[str, int]) -> tuple[KpiRow, ...]:
    rows = []
    for back in range(1, 9):
        week = date(2026, 11, 30) - timedelta(weeks=back)
        for rep, n in weeks_below.items():
            rows.append(KpiRow(week, rep, "calls", 30 if back <= n else 60))
    return tuple(rows)


def _snap(pol: Policy, records: dict[str, Record], weeks: dict[str, int]) -> Snapshot:
    return Snapshot(window=snapshot_window(pol, MON), kpis=_kpis(weeks), records=records)


def _apply(record: Record, oc: OpenCase) -> Record:
    case = Case(
        oc.kind,
        date.fromisoformat(oc.opened),
        oc.trigger,
        checkpoints=tuple(date.fromisoformat(d) for d in oc.checkpoints),
        plan=tuple(Item(t, owner="manager", due=date.fromisoformat(d)) for t, d in oc.plan),
    )
    return open_case(record, case)


def test_cases_open_at_the_thresholds_once() -> None:
    pol = _policy()
    recs = {r: parse(new_record(r, r)) for r in (ANA, BEN)}
    got = plan_cases(pol, _snap(pol, recs, {ANA: 5, BEN: 2}), MON)
    assert [(c.rep, c.kind) for c in got] == [(ANA, "coach-out"), (BEN, "coach-up")]
    out = got[0]
    assert out.opened == "2026-11-30"
    assert "Calls (5 weeks)" in out.trigger and "coach-out after 4" in out.trigger
    assert [d for _, d in out.plan] == ["2026-12-07", "2026-12-14", "2026-12-28"]
    assert out.checkpoints == ("2026-12-14", "2026-12-28")
    recs[ANA] = _apply(recs[ANA], out)
    again = _apply(recs[ANA], out)
    assert serialise(again) == serialise(recs[ANA])  # written twice: once
    [case] = recs[ANA].cases
    assert (case.kind, case.is_open, case.checkpoints[0]) == ("coach-out", True, date(2026, 12, 14))
    assert [i.due for i in case.plan] == [date(2026, 12, 7), date(2026, 12, 14), date(2026, 12, 28)]
    # next tick: nothing new for Ana
    assert [c.rep for c in plan_cases(pol, _snap(pol, recs, {ANA: 5, BEN: 0}), MON)] == []


def test_a_case_never_closes_by_itself_and_a_closed_one_is_not_reopened() -> None:
    pol = _policy()
    rec = parse(new_record(ANA, "Ana"))
    [oc] = plan_cases(pol, _snap(pol, {ANA: rec}, {ANA: 5}), MON)
    rec = _apply(rec, oc)
    # the rep recovers: the case stays open until the manager records an outcome
    assert plan_cases(pol, _snap(pol, {ANA: rec}, {ANA: 0}), MON) == []
    assert rec.open_case() is not None
    text = serialise(rec).replace("- outcome: open (set it", "- outcome: closed 2026-12-01 (set it")
    closed = parse(text)
    assert closed.open_case() is None and closed.cases[0].outcome == "closed"
    # still below in the same streak: not reopened
    assert plan_cases(pol, _snap(pol, {ANA: closed}, {ANA: 5}), MON) == []


def test_a_checkpoint_week_without_a_one_on_one_gets_one_booked() -> None:
    pol = _policy(every="4 weeks")
    rec = parse(new_record(ANA, "Ana"))
    [oc] = [c for c in plan_cases(pol, _snap(pol, {ANA: rec}, {ANA: 5}), MON) if c.rep == ANA]
    rec = _apply(rec, oc)
    plan = plan_coaching(pol, _snap(pol, {ANA: rec}, {ANA: 5}), MON)
    ana = sorted(
        (b for b in plan.actions if isinstance(b, Book) and b.rep == ANA), key=lambda b: b.start
    )
    periods = [b.period for b in ana]
    assert "2026-W51" in periods  # the week of the 14 Dec checkpoint
    cp = next(b for b in ana if b.period == "2026-W51")
    assert "checkpoint 2026-12-14 of the coach-out case opened 2026-11-30" in cp.reason
    # its agenda names the case and says it is the checkpoint
    block = BookedBlock("one_on_one", ANA, cp.start, cp.end, cp.key, cp.title)
    snap = _snap(pol, {ANA: rec}, {ANA: 5})
    ctx = agenda_context(pol, snap, cp.start - timedelta(hours=2), block, [block])
    assert ctx["case"]["kind"] == "coach-out" and ctx["case"]["checkpoint"] is True
    assert ctx["case"]["plan"][0]["text"].startswith("Agree a written 30-day")
    assert ctx["case"]["plan"][0]["overdue"] is True  # due 7 Dec, the meeting is later
    # Ben (no case) gets only his regular one-on-one
    assert len([b for b in plan.actions if isinstance(b, Book) and b.rep == BEN]) == 1
