"""The demo with its KPIs in a (fake) Google Sheet: the same emails as from the CSV, and a
sheet that stops answering is named as stale without calling anyone below standard."""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from pinning import PINNED

from daemon import main
from integrations.config_file import load_policy
from integrations.kpi.open import open_sources
from integrations.kpi.read import read_all
from integrations.store.state import StateStore
from tests.integrations.kpi.fake_sheets import FakeSheets

AT = PINNED.isoformat()
LAST_WEEK = date(2026, 11, 23)  # the last complete week at PINNED


def csv_rows(demo: Path) -> list[list[str]]:
    with (demo / "kpis.csv").open(encoding="utf-8") as fh:
        return list(csv.reader(fh))


def use_sheet(demo: Path, fake: FakeSheets, form: str) -> None:
    cfg = demo / "config.yaml"
    text = cfg.read_text(encoding="utf-8")
    old = next(ln for ln in text.splitlines(keepends=True) if ln.startswith("  path: kpis.csv"))
    text = text.replace(
        "kpi_source:\n  type: csv\n" + old,
        "kpi_source:\n  type: google_sheets\n  spreadsheet_id: demo-sheet\n"
        f'  range: "KPIs!A1:H400"\n  form: {form}\n  max_age: 3 days\n',
    )
    assert "demo-sheet" in text
    assert "calendar:\n  backend: local" in text
    text = text.replace(
        "calendar:\n",
        f"calendar:\n  google:\n    credentials: none\n    api_endpoint: {fake.root}\n",
        1,
    )
    cfg.write_text(text, encoding="utf-8")


def wide(rows: list[list[str]]) -> list[list[object]]:
    kpis = sorted({r[2] for r in rows[1:]})
    table: dict[tuple[str, str], dict[str, str]] = {}
    for week, rep, kpi, value in rows[1:]:
        table.setdefault((week, rep), {})[kpi] = value
    out: list[list[object]] = [["week", "rep", *kpis]]
    for (week, rep), vals in sorted(table.items()):
        out.append([week, rep, *(float(vals[k]) if k in vals else "" for k in kpis)])
    return out


def preview(demo: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    assert main(["preview", *args, "--config", str(demo / "config.yaml"), "--at", AT]) == 0
    return capsys.readouterr().out


EMAILS = [("summary",), ("agenda", "--rep", "jordan.miles@acme-demo.com")]


@pytest.mark.parametrize("form", ["long", "wide"])
def test_the_same_emails_come_out_of_a_sheet_as_out_of_the_csv(
    demo: Path, capsys: pytest.CaptureFixture[str], form: str
) -> None:
    from_csv = [preview(demo, capsys, *e) for e in EMAILS]
    assert "BELOW STANDARD" in from_csv[0]
    rows = csv_rows(demo)
    with FakeSheets() as fake:
        fake.sheets["demo-sheet"] = rows if form == "long" else wide(rows)
        use_sheet(demo, fake, form)
        (demo / "kpis.csv").unlink()  # nothing can come from the CSV any more
        from_sheet = [preview(demo, capsys, *e) for e in EMAILS]
        assert fake.violations == []
        assert fake.requests
    assert from_sheet == from_csv


def test_a_failing_sheet_is_stale_in_the_summary_and_nobody_is_below_because_of_it(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = csv_rows(demo)
    older = [r for r in rows[1:] if date.fromisoformat(r[0]) < LAST_WEEK]
    with FakeSheets() as fake:
        # A week ago the sheet had everything up to the week before last; coachd read it.
        fake.sheets["demo-sheet"] = [rows[0], *older]
        use_sheet(demo, fake, "long")
        loaded = load_policy(demo / "config.yaml")
        with StateStore.open(demo / "state" / "coachd.json", now=PINNED) as store:
            read_at = PINNED - timedelta(days=6)
            first = read_all(open_sources(loaded), store, read_at)
            assert not first.statuses[0].stale
        # Now the sheet was unshared: 403 on every read.
        fake.fail(403, reason="forbidden", times=10)
        summary = preview(demo, capsys, "summary")
        agenda = preview(demo, capsys, "agenda", "--rep", "jordan.miles@acme-demo.com")
        capsys.readouterr()
        cfg = str(demo / "config.yaml")
        assert main(["kpis", "--json", "--config", cfg, "--at", AT]) == 0
        report = json.loads(capsys.readouterr().out)
    assert "STALE KPI SOURCE: google_sheets (google_sheets): figures as of Tue 24 Nov" in summary
    assert "HTTP 403" in summary
    below = summary.split("BELOW STANDARD\n", 1)[1].split("COACH-UP", 1)[0]
    assert "Nobody." in below
    assert "figures as of" in agenda and "BELOW STANDARD" not in agenda
    (src,) = report["sources"]
    assert src["stale"] and "403" in src["problem"]
    assert {f["status"] for f in report["figures"]} == {"stale"}
