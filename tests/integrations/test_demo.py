"""`coachd init` output: the example config and the deterministic demo team."""

from __future__ import annotations

import csv
import hashlib
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from integrations.calendar.local import LocalCalendar
from integrations.commands.demo import write_config, write_demo
from integrations.config_file import check_files, file_warnings, load_policy
from integrations.errors import UserError
from planner.timeutil import Interval

CHICAGO = ZoneInfo("America/Chicago")
TODAY = date(2026, 11, 30)  # a Monday
MONDAY = TODAY
REPO_CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"
MANAGER = "dana.reyes@acme-demo.com"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("demo")
    write_demo(d, TODAY)
    return d


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode() + p.read_bytes())
    return h.hexdigest()


def _manager_components(demo: Path) -> list[icalendar.Component]:
    out: list[icalendar.Component] = []
    for f in sorted((demo / "calendar" / MANAGER).glob("*.ics")):
        out += icalendar.Calendar.from_ical(f.read_bytes()).walk("VEVENT")
    return out


def test_write_config_copies_the_repo_config_and_never_overwrites(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    assert path.read_bytes() == REPO_CONFIG.read_bytes()
    with pytest.raises(UserError, match="already exists"):
        write_config(tmp_path)
    with pytest.raises(UserError, match="already exists"):
        write_demo(tmp_path, TODAY)


def test_demo_config_loads_cleanly_with_the_new_hire_ramping(demo: Path) -> None:
    loaded = load_policy(demo / "config.yaml", environ={})
    assert check_files(loaded) == []
    assert file_warnings(loaded) == []
    hires = [r for r in loaded.policy.team if r.start_date is not None]
    assert len(hires) == 1
    start = hires[0].start_date
    assert start is not None
    assert start == TODAY - timedelta(weeks=3)
    assert TODAY - start < timedelta(weeks=loaded.policy.coaching.ramp_weeks)


def test_demo_config_differs_from_the_repo_only_in_the_start_date(tmp_path: Path) -> None:
    write_demo(tmp_path, date(2027, 3, 3))
    ours = (tmp_path / "config.yaml").read_text().splitlines()
    repo = REPO_CONFIG.read_text().splitlines()
    changed = [(a, b) for a, b in zip(ours, repo, strict=True) if a != b]
    assert len(changed) == 1
    assert "start_date: 2027-02-10" in changed[0][0]


def test_demo_is_deterministic_given_today(tmp_path: Path, demo: Path) -> None:
    write_demo(tmp_path / "again", TODAY)
    assert _digest(tmp_path / "again") == _digest(demo)
    write_demo(tmp_path / "later", TODAY + timedelta(days=7))
    assert _digest(tmp_path / "later") != _digest(demo)


def test_every_ics_parses_and_none_looks_like_coachd(demo: Path) -> None:
    files = sorted((demo / "calendar").rglob("*.ics"))
    assert len(files) > 40
    uids = set()
    for f in files:
        cal = icalendar.Calendar.from_ical(f.read_bytes())
        events = cal.walk("VEVENT")
        assert events, f
        if any(isinstance(e.decoded("DTSTART"), datetime) for e in events):
            assert [str(t["TZID"]) for t in cal.walk("VTIMEZONE")] == ["America/Chicago"], f
        for ev in events:
            assert not any(k.startswith("X-COACHD") for k in ev), f
            uids.add(str(ev["UID"]))
        assert len({str(e["UID"]) for e in events}) == 1, f
    assert len(uids) == len(files)
    folders = {p.name for p in (demo / "calendar").iterdir()}
    loaded = load_policy(demo / "config.yaml", environ={})
    assert folders == {MANAGER} | {r.email for r in loaded.policy.team}


def test_recurring_series_with_exdate_and_override(demo: Path) -> None:
    comps = _manager_components(demo)
    assert sum("RRULE" in c for c in comps) >= 5
    assert any("EXDATE" in c for c in comps)
    overrides = [c for c in comps if "RECURRENCE-ID" in c]
    assert len(overrides) == 1
    assert overrides[0].decoded("DTSTART") != overrides[0].decoded("RECURRENCE-ID")


def test_manager_week_is_busy_but_inside_working_hours(demo: Path) -> None:
    cal = LocalCalendar(demo / "calendar", CHICAGO)
    for week in range(3):
        start = datetime.combine(MONDAY + timedelta(weeks=week), time(0), tzinfo=CHICAGO)
        events = cal.read(MANAGER, Interval(start, start + timedelta(days=7))).events
        assert 25 <= len(events) <= 35, (week, len(events))
        for e in events:
            if not e.all_day:
                local_s, local_e = e.start.astimezone(CHICAGO), e.end.astimezone(CHICAGO)
                assert time(8) <= local_s.time() and local_e.time() <= time(17, 30), e.title
    window = Interval(
        datetime.combine(MONDAY, time(0), tzinfo=CHICAGO),
        datetime.combine(MONDAY + timedelta(weeks=3), time(0), tzinfo=CHICAGO),
    )
    events = cal.read(MANAGER, window).events
    assert any(e.all_day for e in events)
    titles = {e.title for e in events}
    assert "Sales leadership staff meeting" in titles
    staff = [e for e in events if e.title == "Sales leadership staff meeting"]
    assert len(staff) == 2  # three weeks, one skipped by EXDATE


def test_planted_invitations_wait_for_the_manager(demo: Path) -> None:
    cal = LocalCalendar(demo / "calendar", CHICAGO)
    start = datetime.combine(MONDAY, time(0), tzinfo=CHICAGO)
    events = cal.read(MANAGER, Interval(start, start + timedelta(weeks=3))).events
    pending = {e.title: e.organizer for e in events if e.self_status == "needsAction"}
    assert pending["Office move: desk assignments"] == "facilities@acme-demo.com"
    assert pending["Benefits enrollment webinar"] == "hr@acme-demo.com"
    assert pending["Quarterly all-hands survey review"] == "people-ops@acme-demo.com"
    assert pending["Vendor demo: CallCoach AI"] == "sam.lee@vendors.example"
    assert pending["Northwind renewal negotiation"] == "jamie.fox@northwind.example"
    assert pending["Q1 territory planning"] == "morgan.lee@acme-demo.com"
    assert pending["Regional pipeline review"] == "chris.wong@leadership.acme-demo.com"
    for e in events:
        if e.self_status == "needsAction":
            assert e.organizer and e.organizer != MANAGER


def test_a_rep_is_out_of_office_for_a_day(demo: Path) -> None:
    cal = LocalCalendar(demo / "calendar", CHICAGO)
    start = datetime.combine(MONDAY, time(0), tzinfo=CHICAGO)
    busy = cal.busy(["priya.shah@acme-demo.com"], Interval(start, start + timedelta(days=7))).busy
    thursday = datetime.combine(MONDAY + timedelta(days=3), time(12), tzinfo=CHICAGO)
    assert any(b.start <= thursday < b.end for b in busy["priya.shah@acme-demo.com"])


def test_kpi_history_plants_one_three_week_and_one_seven_week_gap(demo: Path) -> None:
    policy = load_policy(demo / "config.yaml", environ={}).policy
    with (demo / "kpis.csv").open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["week", "rep", "kpi", "value"]
    series: dict[tuple[str, str], list[tuple[date, float]]] = defaultdict(list)
    for week, rep, kpi, value in rows[1:]:
        d = date.fromisoformat(week)
        assert d.weekday() == 0 and d < MONDAY
        series[rep, kpi].append((d, float(value)))
    weeks_of = {
        rep: {d for (r, _), pts in series.items() if r == rep for d, _ in pts} for rep, _ in series
    }
    assert len(weeks_of["taylor.brooks@acme-demo.com"]) == 3
    assert all(len(w) == 8 for rep, w in weeks_of.items() if rep != "taylor.brooks@acme-demo.com")

    def weeks_below(rep: str, kpi_id: str) -> int:
        kpi = policy.kpi(kpi_id)
        rep_obj = policy.rep(rep)
        assert kpi is not None and rep_obj is not None
        minimum = rep_obj.minimums.get(kpi_id, kpi.minimum)
        n = 0
        for _, v in sorted(series[rep, kpi_id], reverse=True):
            if (v < minimum) if kpi.higher_is_better else (v > minimum):
                n += 1
            else:
                break
        return n

    below = {key: n for key in series if (n := weeks_below(*key)) > 0}
    assert below == {
        ("jordan.miles@acme-demo.com", "conversations"): 7,
        ("sam.ortiz@acme-demo.com", "pipeline_added"): 3,
    }


def test_notes_have_open_and_done_items(demo: Path) -> None:
    policy = load_policy(demo / "config.yaml", environ={}).policy
    for rep in policy.team:
        text = (demo / "notes" / f"{rep.email}.md").read_text()
        assert "- [ ] " in text and "- [x] " in text


def test_a_weekend_demo_starts_next_monday(tmp_path: Path) -> None:
    write_demo(tmp_path, date(2026, 12, 5))  # a Saturday
    cal = LocalCalendar(tmp_path / "calendar", CHICAGO)
    start = datetime.combine(date(2026, 12, 7), time(0), tzinfo=CHICAGO)
    events = cal.read(MANAGER, Interval(start, start + timedelta(days=7))).events
    assert "Office move: desk assignments" in {e.title for e in events}
    with (tmp_path / "kpis.csv").open() as fh:
        weeks = {row["week"] for row in csv.DictReader(fh)}
    assert max(weeks) == "2026-11-30"
