"""The CSV KPI source: good rows count, bad rows are skipped with a warning naming the line."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from integrations.kpi_csv import CsvKpiSource
from integrations.notes import open_items


def _source(tmp_path: Path, text: str) -> CsvKpiSource:
    p = tmp_path / "kpis.csv"
    p.write_text(text, encoding="utf-8")
    return CsvKpiSource(p, reps={"ana@x.com", "bo@x.com"}, kpis={"calls", "meetings"})


def test_rows_parse_and_weeks_snap_to_monday(tmp_path: Path) -> None:
    read = _source(
        tmp_path,
        "week,rep,kpi,value\n2026-11-25,ana@x.com,calls,42\n2026-11-23,BO@x.com,meetings,1,5\n",
    ).read()
    assert read.warnings == []
    assert [(r.week, r.rep, r.kpi, r.value) for r in read.rows] == [
        (date(2026, 11, 23), "ana@x.com", "calls", 42.0),
        (date(2026, 11, 23), "bo@x.com", "meetings", 1.0),
    ]


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("2026-13-01,ana@x.com,calls,4", "not a date"),
        ("2026-11-23,zed@x.com,calls,4", "not on the team"),
        ("2026-11-23,ana@x.com,revenue,4", "not in the policy"),
        ("2026-11-23,ana@x.com,calls,lots", "not a number"),
        ("2026-11-23,ana@x.com,calls,nan", "not a finite number"),
        ("2026-11-23,ana@x.com", "expected 4 columns"),
    ],
)
def test_bad_rows_are_skipped_with_their_line(tmp_path: Path, row: str, problem: str) -> None:
    read = _source(tmp_path, f"week,rep,kpi,value\n2026-11-23,ana@x.com,calls,40\n{row}\n").read()
    assert len(read.rows) == 1
    assert len(read.warnings) == 1
    assert "kpis.csv:3: skipped" in read.warnings[0] and problem in read.warnings[0]


def test_missing_file_and_bad_header_warn(tmp_path: Path) -> None:
    missing = CsvKpiSource(tmp_path / "nope.csv", reps=set(), kpis=set()).read()
    assert missing.rows == [] and "not found" in missing.warnings[0]
    bad = _source(tmp_path, "date,who,what,value\n2026-11-23,ana@x.com,calls,4\n").read()
    assert bad.rows == [] and "header" in bad.warnings[0]


def test_notes_open_items(tmp_path: Path) -> None:
    (tmp_path / "ana@x.com.md").write_text(
        "# Ana\n- [ ] Send the pricing deck to Acme\n- [x] Done thing\n  * [ ] Shadow a demo\n"
    )
    assert open_items(tmp_path, "ana@x.com") == ("Send the pricing deck to Acme", "Shadow a demo")
    assert open_items(tmp_path, "bo@x.com") == ()
