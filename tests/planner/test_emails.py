"""plan_emails: which emails are due at a pinned `now`, with which recipients and contexts."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from planner.actions import SendEmail
from planner.email_kinds import sample_context
from planner.emails import (
    BookedBlock,
    config_error_email,
    plan_emails,
    preview_context,
    summary_due,
)
from planner.model import BookingRecord, Decision, KpiRow, Snapshot
from planner.policy import Policy
from planner.samples.emails import KINDS
from planner.timeutil import Interval

TZ = ZoneInfo("America/Chicago")
ALEX = "alex@example.com"
SAM = "sam@example.com"


def make_policy(**email: Any) -> Policy:
    return Policy.model_validate(
        {
            "manager": {"name": "Dana", "email": "dana@example.com", "timezone": "America/Chicago"},
            "team": [
                {"name": "Alex Rivera", "email": ALEX, "goals": ["Close 3 new logos"]},
                {"name": "Sam Okafor", "email": SAM},
            ],
            "kpis": [
                {"id": "calls", "name": "Calls", "minimum": 50, "goal": 70},
                {"id": "win_rate", "name": "Win rate", "unit": "%", "minimum": 20, "goal": 30},
            ],
            "coaching": {"standards": {"coach_up_after": 2, "coach_out_after": 4}},
            "email": email,
        }
    )


def local(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=TZ)


def snapshot(**kw: Any) -> Snapshot:
    window = Interval(local(2026, 10, 1), local(2027, 1, 31))
    return Snapshot(window=window, **kw)


def one_on_one(start: datetime, rep: str = ALEX) -> BookedBlock:
    return BookedBlock(
        kind="one_on_one",
        rep=rep,
        start=start,
        end=start + timedelta(minutes=30),
        key=f"one_on_one:{rep}:2026-W49",
        title="1:1",
    )


def of_kind(kind: str, emails: list[SendEmail]) -> list[SendEmail]:
    return [e for e in emails if e.kind == kind]


def agendas(*args: Any) -> list[SendEmail]:
    return of_kind("agenda", plan_emails(*args))


def kpi_rows() -> tuple[KpiRow, ...]:
    """Alex below on calls for the 3 weeks before 30 Nov; Sam at goal; Alex's win rate meets."""
    rows = []
    for i, (a, s) in enumerate([(55, 72), (44, 75), (41, 71), (38, 80)]):
        week = date(2026, 11, 2) + timedelta(weeks=i)
        rows += [KpiRow(week, ALEX, "calls", a), KpiRow(week, SAM, "calls", s)]
        rows += [KpiRow(week, ALEX, "win_rate", 22), KpiRow(week, SAM, "win_rate", 31)]
    return tuple(rows)


# -- agenda -----------------------------------------------------------------------------------


def test_agenda_is_due_only_inside_the_window_before_the_meeting() -> None:
    policy = make_policy(agenda={"before": "24h"})
    start = local(2026, 12, 1, 10)
    blocks = [one_on_one(start)]
    assert [e.kind for e in agendas(policy, snapshot(), start - timedelta(hours=25), blocks)] == []
    due = agendas(policy, snapshot(), start - timedelta(hours=23), blocks)
    assert [(e.kind, e.key) for e in due] == [
        ("agenda", "agenda:one_on_one:alex@example.com:2026-W49")
    ]
    assert due[0].to == ("dana@example.com",)
    assert due[0].cc == ()
    assert agendas(policy, snapshot(), start + timedelta(minutes=1), blocks) == []


def test_agenda_key_already_sent_is_never_planned_again() -> None:
    policy = make_policy()
    start = local(2026, 12, 1, 10)
    sent = frozenset({"agenda:one_on_one:alex@example.com:2026-W49"})
    assert (
        agendas(policy, snapshot(sent=sent), start - timedelta(hours=2), [one_on_one(start)]) == []
    )


def test_agenda_goes_to_the_rep_when_configured_and_rep_setting_wins() -> None:
    start = local(2026, 12, 1, 10)
    now = start - timedelta(hours=1)
    policy = make_policy(agenda={"send_to_rep": True})
    [e] = agendas(policy, snapshot(), now, [one_on_one(start)])
    assert e.cc == (ALEX,)
    raw = policy.model_dump(by_alias=True)
    raw["team"][0]["send_agenda"] = False
    quiet = Policy.model_validate(raw)
    [e] = agendas(quiet, snapshot(), now, [one_on_one(start)])
    assert e.cc == ()


def test_agenda_context_holds_kpis_focus_items_and_ride_along() -> None:
    policy = make_policy()
    start = local(2026, 12, 1, 10)
    now = start - timedelta(hours=2)
    ride_start = local(2026, 11, 12, 9)
    ride = BookingRecord(
        key="ride_along:alex@example.com:2026-W46",
        event_id="r1",
        generation=0,
        status="booked",
        kind="ride_along",
        rep=ALEX,
        start=ride_start,
        end=ride_start + timedelta(hours=4),
    )
    snap = snapshot(
        kpis=kpi_rows(),
        notes={ALEX: ("Send the question bank",)},
        bookings={ride.key: ride},
    )
    [e] = agendas(policy, snap, now, [one_on_one(start)])
    ctx = e.context
    assert ctx["rep"] == {"name": "Alex Rivera", "email": ALEX}
    calls = next(k for k in ctx["kpis"] if k["id"] == "calls")
    assert (calls["latest"], calls["minimum"], calls["goal"]) == ("38", "50", "70")
    assert [t["value"] for t in calls["trend"]] == ["55", "44", "41", "38"]
    assert calls["weeks_below"] == 3 and calls["status"] == "below"
    assert [k["id"] for k in ctx["focus"]] == ["calls"]
    win = next(k for k in ctx["kpis"] if k["id"] == "win_rate")
    assert (win["latest"], win["status"]) == ("22%", "meets")
    assert ctx["goals"] == ["Close 3 new logos"]
    assert [i["text"] for i in ctx["action_items"]] == ["Send the question bank"]
    assert ctx["ride_along"]["last"] == "Thu 12 Nov 2026"
    assert ctx["ride_along"]["days_since"] == 19
    assert ctx["meeting"]["when"] == "Tue 1 Dec 2026, 10:00–10:30"


# -- weekly summary ---------------------------------------------------------------------------


def test_summary_once_per_week_at_the_configured_local_time() -> None:
    policy = make_policy(summary={"day": "mon", "time": "07:30"})
    assert plan_emails(policy, snapshot(), local(2026, 11, 30, 7, 29), []) == []
    [e] = plan_emails(policy, snapshot(), local(2026, 11, 30, 7, 30), [])
    assert (e.kind, e.key, e.to) == ("summary", "summary:2026-W49", ("dana@example.com",))
    sent = frozenset({e.key})
    assert plan_emails(policy, snapshot(sent=sent), local(2026, 11, 30, 12), []) == []


def test_summary_after_downtime_is_sent_later_that_week_but_not_for_a_past_week() -> None:
    policy = make_policy()
    [late] = plan_emails(policy, snapshot(), local(2026, 12, 3, 15), [])
    assert late.key == "summary:2026-W49"
    # The next Monday, with W49 never sent: only W50 is due, W49 is gone for good.
    keys = [e.key for e in plan_emails(policy, snapshot(), local(2026, 12, 7, 9), [])]
    assert keys == ["summary:2026-W50"]


def test_summary_due_follows_the_managers_zone_across_dst() -> None:
    policy = make_policy()
    utc = ZoneInfo("UTC")
    before = summary_due(policy, datetime(2026, 10, 27, 12, tzinfo=utc))
    after = summary_due(policy, datetime(2026, 11, 3, 12, tzinfo=utc))
    assert before.astimezone(utc).hour == 12  # 07:30 CDT
    assert after.astimezone(utc).hour == 13  # 07:30 CST


def test_summary_scorecard_lists_and_schedule() -> None:
    policy = make_policy()
    now = local(2026, 11, 30, 8)
    blocks = [
        one_on_one(local(2026, 12, 2, 10)),
        one_on_one(local(2026, 12, 9, 10), rep=SAM),  # after the 7-day window
    ]
    [e] = [
        x
        for x in plan_emails(policy, snapshot(kpis=kpi_rows()), now, blocks)
        if x.kind == "summary"
    ]
    ctx = e.context
    by_rep = {r["rep"]["email"]: r for r in ctx["rows"]}
    assert [c["status"] for c in by_rep[SAM]["cells"]] == ["goal", "goal"]
    assert [c["status"] for c in by_rep[ALEX]["cells"]] == ["below", "meets"]
    assert [(b["rep"]["email"], b["weeks_below"]) for b in ctx["below"]] == [(ALEX, 3)]
    assert [c["rep"]["email"] for c in ctx["coach_up"]] == [ALEX]
    assert ctx["coach_out"] == []
    assert [(s["day"], s["rep"]) for s in ctx["schedule"]] == [("Wed 2 Dec", "Alex Rivera")]
    assert ctx["audit"]["week"] == "2026-W48"  # the time audit of the week reported on


def test_summary_has_no_audit_when_the_snapshot_does_not_reach_back() -> None:
    policy = make_policy()
    snap = Snapshot(window=Interval(local(2026, 11, 27), local(2026, 12, 31)))
    [e] = plan_emails(policy, snap, local(2026, 11, 30, 8), [])
    assert e.context["audit"] is None


def test_coach_out_from_the_configured_threshold() -> None:
    policy = make_policy()
    rows = tuple(
        KpiRow(date(2026, 10, 26) + timedelta(weeks=i), ALEX, "calls", 30) for i in range(5)
    )
    [e] = plan_emails(policy, snapshot(kpis=rows), local(2026, 11, 30, 8), [])
    assert [c["weeks_below"] for c in e.context["coach_out"]] == [5]
    assert e.context["coach_up"] == []


# -- digest -----------------------------------------------------------------------------------


def decision(i: int, action: str, decided: datetime) -> Decision:
    return Decision(
        event_id=f"ev{i}",
        fingerprint=f"f{i}",
        action=action,
        rule="facilities",
        reason="rule 'facilities' matched the title",
        decided_at=decided,
        title=f"Meeting {i}",
        organizer="ops@example.com",
        start=decided + timedelta(days=2),
    )


def test_digest_only_on_days_with_news() -> None:
    policy = make_policy(summary={"enabled": False}, digest={"time": "17:00"})
    now = local(2026, 12, 2, 17, 5)
    assert plan_emails(policy, snapshot(), now, []) == []
    kept = {"k": decision(9, "keep", local(2026, 12, 2, 10))}
    assert plan_emails(policy, snapshot(decisions=kept), now, []) == []
    news = {
        "a": decision(1, "decline", local(2026, 12, 2, 10)),
        "b": decision(2, "flag", local(2026, 12, 1, 18)),
        "c": decision(3, "flag", local(2026, 12, 2, 17, 1)),  # after the cut: tomorrow's
        "d": decision(4, "flag", local(2026, 12, 1, 16)),  # before yesterday's cut
    }
    assert plan_emails(policy, snapshot(decisions=news), local(2026, 12, 2, 16, 59), []) == []
    [e] = plan_emails(policy, snapshot(decisions=news), now, [])
    assert e.key == "digest:2026-12-02"
    assert [d["title"] for d in e.context["declined"]] == ["Meeting 1"]
    assert [d["title"] for d in e.context["flagged"]] == ["Meeting 2"]
    assert plan_emails(policy, snapshot(decisions=news, sent=frozenset({e.key})), now, []) == []


def test_digest_names_each_skipped_object_once() -> None:
    policy = make_policy(summary={"enabled": False}, digest={"time": "17:00"})
    spam = "skipped calendar/dana@acme.com/spam.ics: RRULE FREQ=SECONDLY ...: ignored"
    seen = {spam: local(2026, 12, 2, 9)}  # first skipped on Wednesday morning
    [e] = plan_emails(policy, snapshot(skipped=seen), local(2026, 12, 2, 17, 5), [])
    assert e.key == "digest:2026-12-02" and e.context["skipped"] == [spam]
    # Thursday: still skipped, but already named; no other news means no digest at all.
    thursday = snapshot(skipped=seen, sent=frozenset({e.key}))
    assert plan_emails(policy, thursday, local(2026, 12, 3, 17, 5), []) == []


def test_digest_after_a_missed_day_covers_since_the_last_one_sent() -> None:
    policy = make_policy(summary={"enabled": False})
    news = {"d": decision(4, "flag", local(2026, 11, 30, 20))}
    sent = frozenset({"digest:2026-11-30"})
    [e] = plan_emails(policy, snapshot(decisions=news, sent=sent), local(2026, 12, 2, 18), [])
    assert [d["title"] for d in e.context["flagged"]] == ["Meeting 4"]
    assert e.context["since"] == "Mon 30 Nov 2026 17:00"


def test_digest_notes_when_declines_hit_the_per_tick_cap() -> None:
    policy = Policy.model_validate(
        {**make_policy().model_dump(by_alias=True), "triage": {"max_declines_per_tick": 2}}
    )
    tick = local(2026, 12, 2, 9)
    news = {str(i): decision(i, "decline", tick) for i in range(2)}
    [e] = [
        x
        for x in plan_emails(policy, snapshot(decisions=news), local(2026, 12, 2, 18), [])
        if x.kind == "digest"
    ]
    assert e.context["declines_capped"] is True


# -- sales meeting, config error, samples ----------------------------------------------------


def test_sales_meeting_agenda_goes_to_the_team_with_the_topic() -> None:
    policy = make_policy(summary={"enabled": False}, sales_meeting={"before": "24h"})
    start = local(2026, 12, 1, 10)
    block = BookedBlock(
        "sales_meeting",
        None,
        start,
        start + timedelta(hours=1),
        "sales_meeting:-:2026-W49",
        "Sales meeting",
        "Handling objections",
    )
    assert plan_emails(policy, snapshot(), start - timedelta(hours=30), [block]) == []
    [e] = plan_emails(policy, snapshot(), start - timedelta(hours=20), [block])
    assert (e.key, e.to, e.cc) == (
        "sales_meeting:sales_meeting:-:2026-W49",
        (ALEX, SAM),
        ("dana@example.com",),
    )
    assert e.context["topic"] == "Handling objections"


def test_config_error_key_is_stable_per_set_of_errors() -> None:
    policy = make_policy()
    now = local(2026, 12, 1, 9)
    a = config_error_email(policy, ["config.yaml:3: team: bad"], "config.yaml", now)
    b = config_error_email(
        policy, ["config.yaml:3: team: bad"], "config.yaml", now + timedelta(hours=1)
    )
    c = config_error_email(policy, ["config.yaml:4: kpis: bad"], "config.yaml", now)
    assert a.key == b.key != c.key
    assert a.context["errors"] == ["config.yaml:3: team: bad"]


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError):
        plan_emails(make_policy(), snapshot(), datetime(2026, 12, 1, 9), [])


@pytest.mark.parametrize("kind", KINDS)
def test_sample_context_is_plain_data(kind: str) -> None:
    def plain(v: object) -> bool:
        if isinstance(v, dict):
            return all(isinstance(k, str) and plain(x) for k, x in v.items())
        if isinstance(v, list):
            return all(plain(x) for x in v)
        return v is None or isinstance(v, str | int | float | bool)

    ctx = sample_context(kind)
    assert ctx and plain(ctx)


def test_preview_context_builds_any_kind_without_due_rules() -> None:
    policy = make_policy()
    now = local(2026, 12, 2, 9)  # nothing is due for the agenda this far ahead
    start = local(2026, 12, 9, 10)
    snap = snapshot(kpis=kpi_rows())
    ctx = preview_context(policy, snap, now, "agenda", [one_on_one(start, rep=SAM)], rep=SAM)
    assert ctx["rep"]["email"] == SAM and ctx["meeting"]["date"] == "Wed 9 Dec 2026"
    fallback = preview_context(policy, snap, now, "agenda", [], rep=ALEX)
    assert fallback["meeting"]["date"] == "Thu 3 Dec 2026"
    assert preview_context(policy, snap, now, "digest", [])["counts"] == {
        "declined": 0,
        "flagged": 0,
        "changed": 0,
    }
    assert preview_context(policy, snap, now, "sales_meeting", [])["topic"] == "Discovery questions"
    assert preview_context(policy, snap, now, "summary", [])["week"] == "2026-W49"
    with pytest.raises(ValueError):
        preview_context(policy, snap, now, "agenda", [], rep="nobody@example.com")
