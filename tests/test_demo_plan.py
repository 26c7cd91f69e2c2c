"""`coachd plan` on the demo: every coaching kind with its reason; triage on planted meetings."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from daemon import main
from integrations.calendar.local import LocalCalendar
from integrations.config_file import load_policy
from planner.timeutil import Interval

# Planning on the demo depends on the day: `make test` reruns these at tests/instants.txt.
pytestmark = pytest.mark.instant

NON_SALES = {
    "Office move: desk assignments",
    "Benefits enrollment webinar",
    "Quarterly all-hands survey review",
    "Parking badge update",
    "Product training: spring release",
    "All-hands engagement survey results",
    "Vendor demo: CallCoach AI",
}
NEVER_TOUCHED = {
    "Northwind renewal negotiation",  # customer
    "Regional pipeline review",  # leadership
    "Q1 territory planning",  # the boss
}


def _plan(demo: Path, capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    capsys.readouterr()
    assert main(["plan", "--json", "--config", str(demo / "config.yaml")]) == 0
    actions: list[dict[str, Any]] = json.loads(capsys.readouterr().out)["actions"]
    return actions


def test_plan_shows_every_coaching_kind_with_a_reason(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    books = [a for a in _plan(demo, capsys) if a["action"] == "Book"]
    kinds = {a["kind"] for a in books}
    assert kinds == {"one_on_one", "ride_along", "huddle", "sales_meeting", "call_review"}
    assert all(a["reason"] for a in books)
    meetings = [a for a in books if a["kind"] == "sales_meeting"]
    topics = [m["title"].removeprefix("Weekly sales meeting: ") for m in meetings]
    assert all(t and t != m["title"] for t, m in zip(topics, meetings, strict=True))
    assert len(set(topics)) == len(topics)  # the topic rotates week to week


def test_plan_flags_non_sales_and_leaves_leadership_and_customers_alone(
    demo: Path, pinned_now: datetime, capsys: pytest.CaptureFixture[str]
) -> None:
    actions = _plan(demo, capsys)
    triaged = {a["title"]: a for a in actions if a["action"] in ("Flag", "Decline", "Keep")}
    ahead = _pending_titles(demo, pinned_now)
    in_horizon_non_sales = NON_SALES & ahead
    assert len(in_horizon_non_sales) >= 3, ahead
    for title in in_horizon_non_sales:
        assert title in triaged, title
        assert triaged[title]["action"] == "Flag", title  # flag mode never declines
        assert triaged[title]["rule"]
    assert not any(a["action"] == "Decline" for a in actions)
    for title in NEVER_TOUCHED:
        assert title not in triaged or triaged[title]["action"] == "Keep", title


def _pending_titles(demo: Path, now: datetime) -> set[str]:
    """Titles of the demo's invitations that wait for the manager inside the horizon."""
    loaded = load_policy(demo / "config.yaml")
    pol = loaded.policy
    cal = LocalCalendar(demo / "calendar", pol.manager.tz)
    window = Interval(now, now + pol.coaching.horizon)
    return {
        e.title
        for e in cal.read(pol.manager.email, window).events
        if e.self_status == "needsAction" and e.start > now
    }


@pytest.mark.parametrize(
    ("kind", "expect"),
    [
        ("agenda", "Jordan Miles"),
        ("summary", "Scorecard"),
        ("digest", "</html>"),
        ("sales_meeting", "Weekly sales meeting"),
        ("audit", "Coaching"),
        ("leadership_report", "</html>"),
    ],
)
def test_preview_writes_html_from_the_demo(
    demo: Path, tmp_path: Path, kind: str, expect: str
) -> None:
    out = tmp_path / f"{kind}.html"
    args = ["preview", kind, "--out", str(out), "--config", str(demo / "config.yaml")]
    if kind == "agenda":
        args += ["--rep", "jordan.miles@acme-demo.com"]
    before = {p: p.stat().st_mtime_ns for p in demo.rglob("*") if p.is_file()}
    assert main(args) == 0
    html = out.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html") and expect in html
    assert "<script" not in html.lower()
    assert {p: p.stat().st_mtime_ns for p in demo.rglob("*") if p.is_file()} == before


def test_audit_json_covers_the_requested_weeks(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["audit", "--weeks", "3", "--json", "--config", str(demo / "config.yaml")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["weeks"]) == 3
