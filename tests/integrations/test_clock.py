"""The clock seam: `--at` parsing and what it may and may not do."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from daemon import main
from integrations import clock
from integrations.calendar.local import LocalCalendar
from planner.timeutil import Interval

CHICAGO = ZoneInfo("America/Chicago")


@pytest.mark.parametrize(
    ("text", "expect_utc"),
    [
        ("2027-01-11T07:00", "2027-01-11T13:00:00+00:00"),  # the manager's zone (CST)
        ("2027-01-11T07:00-05:00", "2027-01-11T12:00:00+00:00"),  # an explicit offset wins
        ("2027-01-11T07:00Z", "2027-01-11T07:00:00+00:00"),
        ("2027-01-11", "2027-01-11T06:00:00+00:00"),  # a bare date: its midnight
        ("2027-03-14T01:30", "2027-03-14T07:30:00+00:00"),  # before the spring-forward gap
        ("2027-03-14T02:30", "2027-03-14T08:30:00+00:00"),  # in the gap: read as CST, = 03:30 CDT
        ("2027-03-14T03:30", "2027-03-14T08:30:00+00:00"),  # after the gap (CDT)
        ("2027-11-07T01:30", "2027-11-07T06:30:00+00:00"),  # the repeated hour: the first one
        ("2028-02-29T09:00", "2028-02-29T15:00:00+00:00"),
    ],
)
def test_parse_at_reads_wall_time_in_the_managers_zone(text: str, expect_utc: str) -> None:
    assert clock.parse_at(text, CHICAGO).isoformat() == expect_utc


@pytest.mark.parametrize("text", ["monday", "2027-13-01T00:00", "2027-01-11 7am", ""])
def test_parse_at_rejects_what_is_not_iso_8601(text: str) -> None:
    with pytest.raises(ValueError, match="ISO 8601"):
        clock.parse_at(text, CHICAGO)


def test_travel_to_moves_now_and_keeps_it_ticking() -> None:
    at = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
    clock.travel_to(at)
    first = clock.now()
    assert abs((first - at).total_seconds()) < 5
    assert clock.now() >= first
    clock.reset()
    assert clock.now().year != 2030 or datetime.now(UTC).year == 2030


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode() + p.read_bytes())
    return h.hexdigest()


@pytest.mark.parametrize("at", ["2027-03-14T01:30", "2027-03-14T03:30"])
def test_plan_at_a_dst_change_works_and_writes_nothing(
    demo: Path, at: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = str(demo / "config.yaml")
    before = _digest(demo)
    capsys.readouterr()
    assert main(["plan", "--at", at, "--config", cfg]) == 0
    out = capsys.readouterr()
    assert "Book" in out.out  # a week it has not seen yet: coaching to book
    assert "running as if it were 2027-03-14T0" in out.err
    for cmd in (["status"], ["audit"], ["preview", "summary"]):
        assert main([*cmd, "--at", at, "--config", cfg]) == 0
    assert _digest(demo) == before


def test_run_refuses_at_and_a_bad_instant_is_one_clear_line(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = str(demo / "config.yaml")
    assert main(["run", "--at", "2027-01-11T07:00", "--config", cfg]) == 1
    assert "real clock" in capsys.readouterr().err
    assert main(["plan", "--at", "next tuesday", "--config", cfg]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ISO 8601" in err


def test_init_demo_at_builds_the_week_of_that_instant(tmp_path: Path) -> None:
    assert main(["init", str(tmp_path / "d"), "--demo", "--at", "2028-02-27T23:59"]) == 0
    # Sunday 27 Feb 2028, 23:59 in Chicago: the demo's first week is the one that follows.
    cal = LocalCalendar(tmp_path / "d" / "calendar", CHICAGO)
    monday = datetime(2028, 2, 28, tzinfo=CHICAGO)
    week = cal.read("dana.reyes@acme-demo.com", Interval(monday, monday + timedelta(days=5)))
    titles = {e.title for e in week.events}
    assert "Parking badge update" in titles or "Office move: desk assignments" in titles
    text = (tmp_path / "d" / "config.yaml").read_text()
    assert "start_date: 2028-02-06" in text  # the new hire started three weeks before
