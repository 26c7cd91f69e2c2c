"""kpi_source as a list: config forms and errors, precedence, freshness, and `coachd kpis`."""

from __future__ import annotations

import json
import os
import textwrap
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pinning import PINNED

from daemon import main
from integrations.config_file import load_policy
from integrations.errors import ConfigError, RemoteError
from integrations.google.sync import MemoryKV
from integrations.kpi.read import Configured, read_all
from integrations.kpi_csv import CsvKpiSource, KpiRead
from planner.kpi_sources import CsvSource
from planner.model import KpiRow

BASE = """\
manager:
  name: Dana Reyes
  email: dana@example.com
  timezone: America/Chicago
team:
  - name: Alex Kim
    email: alex@example.com
  - name: Bo Li
    email: bo@example.com
kpis:
  - {id: calls, name: Calls, minimum: 50, goal: 75}
  - {id: meetings, name: Meetings, minimum: 4, goal: 6}
"""
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def load(tmp_path: Path, extra: str):  # type: ignore[no-untyped-def]
    p = tmp_path / "config.yaml"
    p.write_text(BASE + textwrap.dedent(extra), encoding="utf-8")
    return load_policy(p, environ={})


def errors(tmp_path: Path, extra: str) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        load(tmp_path, extra)
    return [e.split("config.yaml", 1)[1] for e in exc.value.errors]


# --- config ---------------------------------------------------------------------------------


def test_the_single_csv_form_is_still_valid(tmp_path: Path) -> None:
    loaded = load(tmp_path, "kpi_source:\n  type: csv\n  path: figures.csv\n")
    assert loaded.policy.kpi_source == [CsvSource(path="figures.csv")]
    untyped = load(tmp_path, "kpi_source:\n  path: figures.csv\n")
    assert untyped.policy.kpi_source == [CsvSource(path="figures.csv")]
    assert load(tmp_path, "").policy.kpi_source == [CsvSource()]


def test_a_list_of_sources_with_sheets(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        """\
        kpi_source:
          - type: google_sheets
            name: revops
            spreadsheet_id: 1AbC_d-9
            range: "KPIs!A1:E200"
            form: wide
            kpis: [calls]
            max_age: 8 days
          - type: csv
            path: kpis.csv
        """,
    )
    first, second = loaded.policy.kpi_source
    assert first.type == "google_sheets" and first.max_age == timedelta(days=8)
    assert first.refresh == timedelta(hours=1)
    assert second == CsvSource(path="kpis.csv")


def test_errors_name_the_line_and_key_in_both_forms(tmp_path: Path) -> None:
    single = errors(tmp_path, "kpi_source:\n  type: csv\n  pathh: x.csv\n")
    assert single == [":15: kpi_source.pathh: unknown key 'pathh' (did you mean 'path'?)"]
    listed = errors(
        tmp_path,
        """\
        kpi_source:
          - type: csv
          - type: google_sheets
            range: A1:D9
            kpis: [calls, meeting]
            max_age: soon
        """,
    )
    assert listed == [
        ":15: kpi_source[1].spreadsheet_id: required key is missing",
        ":18: kpi_source[1].max_age: not a duration: 'soon' (use e.g. 30m, 4h, 2 weeks)",
    ]
    unknown = errors(tmp_path, "kpi_source:\n  - type: sql\n")
    assert unknown == [
        ":14: kpi_source[0].type: must be one of 'csv', 'google_sheets', 'salesforce', "
        "'hubspot' (got 'sql')"
    ]


def test_a_source_naming_an_unknown_kpi_or_a_taken_name_is_an_error(tmp_path: Path) -> None:
    got = errors(
        tmp_path,
        """\
        kpi_source:
          - {type: csv, path: a.csv, kpis: [calls, meeting]}
          - {type: csv, path: b.csv, name: x}
          - {type: csv, path: c.csv, name: x}
        """,
    )
    assert got == [
        ":14: kpi_source[0].kpis[1]: no KPI with id 'meeting' (did you mean 'meetings'?)",
        ":16: kpi_source[2].name: source name 'x' is used twice",
    ]


# --- merging and freshness --------------------------------------------------------------------


class Fixed:
    """A reader returning fixed rows, or raising."""

    def __init__(self, rows: list[KpiRow] | None = None, fail: str = "") -> None:
        self.rows = rows or []
        self.fail = fail
        self.reads = 0

    def read(self) -> KpiRead:
        self.reads += 1
        if self.fail:
            raise RemoteError(self.fail)
        return KpiRead(rows=list(self.rows))


WEEK = date(2026, 11, 23)


def row(rep: str, kpi: str, value: float, week: date = WEEK) -> KpiRow:
    return KpiRow(week, rep, kpi, value)


def sheet(name: str, reader: Fixed, **kw: object) -> Configured:
    from planner.kpi_sources import SheetsSource

    cfg = SheetsSource(type="google_sheets", spreadsheet_id="x", range="A:D", **kw)  # type: ignore[arg-type]
    return Configured(name, cfg, lambda: reader)


def test_the_first_source_wins_and_kpis_limits_a_source(tmp_path: Path) -> None:
    a = Fixed([row("alex@example.com", "calls", 60), row("alex@example.com", "meetings", 1)])
    b = Fixed([row("alex@example.com", "calls", 10), row("alex@example.com", "meetings", 5)])
    merged = read_all([sheet("a", a, kpis=["calls"]), sheet("b", b)], MemoryKV(), NOW)
    got = {(r.kpi, r.value, r.source) for r in merged.rows}
    assert got == {("calls", 60.0, "a"), ("meetings", 5.0, "b")}
    assert all(r.as_of == NOW for r in merged.rows)
    assert [s.stale for s in merged.statuses] == [False, False]


def test_a_remote_source_is_reread_only_after_refresh_and_falls_back_when_failing() -> None:
    kv = MemoryKV()
    good = Fixed([row("bo@example.com", "calls", 70)])
    src = sheet("s", good, refresh="1h")
    read_all([src], kv, NOW)
    read_all([src], kv, NOW + timedelta(minutes=59))
    assert good.reads == 1
    broken = Fixed(fail="sheets values.get: HTTP 503")
    later = NOW + timedelta(hours=2)
    merged = read_all([sheet("s", broken, refresh="1h")], kv, later)
    assert broken.reads == 1
    (status,) = merged.statuses
    assert status.stale and status.as_of == NOW and "503" in status.problem
    assert [(r.value, r.as_of) for r in merged.rows] == [(70.0, NOW)]
    assert any("using its last good read" in w for w in merged.warnings)


def test_max_age_makes_a_source_stale() -> None:
    kv = MemoryKV()
    src = sheet(
        "s", Fixed([row("bo@example.com", "calls", 70)]), refresh="30 days", max_age="2 days"
    )
    assert not read_all([src], kv, NOW).statuses[0].stale
    st = read_all([src], kv, NOW + timedelta(days=3)).statuses[0]
    assert st.stale and "max_age" in st.problem


def test_a_csv_source_is_aged_by_its_file(tmp_path: Path) -> None:
    p = tmp_path / "k.csv"
    p.write_text("week,rep,kpi,value\n2026-11-23,bo@example.com,calls,70\n", encoding="utf-8")
    old = datetime(2026, 11, 1, tzinfo=UTC).timestamp()
    os.utime(p, (old, old))
    reader = CsvKpiSource(p, reps={"bo@example.com"}, kpis={"calls"})
    cfg = CsvSource(path=str(p), max_age="7 days")  # type: ignore[arg-type]
    merged = read_all([Configured("csv", cfg, lambda: reader)], MemoryKV(), NOW)
    assert merged.rows[0].as_of == datetime(2026, 11, 1, tzinfo=UTC)
    assert merged.statuses[0].stale


# --- the CLI ----------------------------------------------------------------------------------


def test_coachd_kpis_shows_each_figure_with_its_source(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = str(demo / "config.yaml")
    assert main(["kpis", "--json", "--config", cfg, "--at", PINNED.isoformat()]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["week"] == "2026-W48"
    assert report["sources"][0]["name"] == "csv" and not report["sources"][0]["stale"]
    assert report["figures"] and all(f["source"] == "csv" for f in report["figures"])
    assert main(["kpis", "--week", "2026-11-18", "--config", cfg, "--at", PINNED.isoformat()]) == 0
    text = capsys.readouterr().out
    assert "KPIs for 2026-W47" in text and " csv" in text
    assert main(["kpis", "--week", "last tuesday", "--config", cfg]) == 1


def test_derived_inputs_may_feed_sources_but_not_chain(tmp_path: Path) -> None:
    got = errors(
        tmp_path,
        """\
          - id: att
            name: Attainment
            minimum: 80
            goal: 100
            derived: {numerator: closed_won, denominator: quota, scale: 100}
          - id: twice
            name: Twice
            minimum: 1
            goal: 2
            derived: {numerator: att, denominator: quota}
        kpi_source:
          - {type: csv, kpis: [closed_won, quota, pipeline]}
        """,
    )
    assert got == [
        ":22: kpis[3].derived.numerator: 'att' is a derived KPI; use source figures",
        ":24: kpi_source[0].kpis[2]: no KPI with id 'pipeline' (KPIs: att, calls, closed_won, "
        "meetings, quota, twice)",
    ]
