"""The google_sheets KPI source: real google-api-python-client against the loopback fake."""

from __future__ import annotations

from pathlib import Path

import pytest

from integrations.errors import RemoteError, TransientError
from integrations.google.auth import SCOPE_SHEETS_READONLY, scopes_for
from integrations.google.retry import Backoff
from integrations.kpi.sheets import SheetsKpiSource, open_sheets_source
from planner.policy import GoogleSettings, Policy
from tests.integrations.kpi.fake_sheets import FakeSheets

REPS = {"ana@x.com", "bo@x.com"}
KPIS = {"calls", "meetings"}
RANGE = "KPIs!A1:E500"


def source(
    fake: FakeSheets, form: str = "long", sleeps: list[float] | None = None
) -> SheetsKpiSource:
    backoff = Backoff(
        base=1.0,
        cap=8.0,
        max_attempts=3,
        sleep=(sleeps if sleeps is not None else []).append,
        rand=lambda: 1.0,
    )
    return open_sheets_source(
        GoogleSettings(credentials="none", api_endpoint=fake.root),
        base_dir=Path("."),
        subject="dana@x.com",
        spreadsheet_id="sheet-1",
        range_=RANGE,
        form=form,  # type: ignore[arg-type]
        reps=REPS,
        kpis=KPIS,
        backoff=backoff,
    )


def test_long_form_request_shape_and_rows(fake_sheets: FakeSheets) -> None:
    fake_sheets.sheets["sheet-1"] = [
        ["Week", "Rep", "KPI", "Value"],
        ["2026-11-25", "Ana@x.com", "calls", 61],
        [46349, "bo@x.com", "meetings", "4"],  # a date cell: serial 46349 is 2026-11-23
        ["2026-11-23", "bo@x.com", "calls", "1,200"],
        [],
        ["2026-11-23", "bo@x.com", "calls"],  # value missing
        ["2026-11-23", "eve@x.com", "calls", 3],  # not on the team
        ["2026-11-23", "bo@x.com' OR '1'='1", "calls", 3],  # hostile text is just a bad rep
        ["next week", "bo@x.com", "calls", 3],
        ["2026-11-23", "bo@x.com", "calls", "lots"],
    ]
    got = source(fake_sheets).read()
    assert fake_sheets.violations == []
    (req,) = fake_sheets.requests
    assert req.path == "/v4/spreadsheets/sheet-1/values/KPIs%21A1%3AE500"
    assert req.params == {"spreadsheetId": "sheet-1", "range": RANGE}
    assert req.query["valueRenderOption"] == ["UNFORMATTED_VALUE"]
    assert req.query["dateTimeRenderOption"] == ["SERIAL_NUMBER"]
    assert [(str(r.week), r.rep, r.kpi, r.value) for r in got.rows] == [
        ("2026-11-23", "ana@x.com", "calls", 61.0),
        ("2026-11-23", "bo@x.com", "meetings", 4.0),
        ("2026-11-23", "bo@x.com", "calls", 1200.0),
    ]
    assert [w.split(": ", 1)[1] for w in got.warnings] == [
        "row 6: skipped: value '' is not a finite number",
        "row 7: skipped: rep 'eve@x.com' is not on the team",
        "row 8: skipped: rep \"bo@x.com' or '1'='1\" is not on the team",
        "row 9: skipped: week 'next week' is not a date (YYYY-MM-DD)",
        "row 10: skipped: value 'lots' is not a number",
    ]
    assert all(w.startswith("sheet sheet-1 KPIs!A1:E500: row") for w in got.warnings)


def test_wide_form_one_column_per_kpi(fake_sheets: FakeSheets) -> None:
    fake_sheets.sheets["sheet-1"] = [
        ["rep", "week", "calls", "meetings", "notes"],
        ["ana@x.com", "2026-11-23", 55, 3],
        ["bo@x.com", "2026-11-23", "", 5, "on leave Friday"],  # a blank cell is no figure
        ["bo@x.com", "2026-11-30", "n/a", 2],
    ]
    got = source(fake_sheets, "wide").read()
    assert [(str(r.week), r.rep, r.kpi, r.value) for r in got.rows] == [
        ("2026-11-23", "ana@x.com", "calls", 55.0),
        ("2026-11-23", "ana@x.com", "meetings", 3.0),
        ("2026-11-23", "bo@x.com", "meetings", 5.0),
        ("2026-11-30", "bo@x.com", "meetings", 2.0),
    ]
    assert any("column 'notes' is not a KPI" in w for w in got.warnings)
    assert any("row 4: skipped: value 'n/a' is not a number" in w for w in got.warnings)


def test_a_bad_header_or_an_empty_sheet_gives_no_rows_and_a_warning(
    fake_sheets: FakeSheets,
) -> None:
    fake_sheets.sheets["sheet-1"] = [
        ["when", "who", "what", "value"],
        ["2026-11-23", "ana@x.com", "calls", 1],
    ]
    got = source(fake_sheets).read()
    assert got.rows == [] and "header must be week,rep,kpi,value" in got.warnings[0]
    fake_sheets.sheets["sheet-1"] = []
    assert source(fake_sheets).read().warnings == ["sheet sheet-1 KPIs!A1:E500: no rows"]
    fake_sheets.sheets["sheet-1"] = [["week", "calls"]]
    assert "needs week and rep columns" in source(fake_sheets, "wide").read().warnings[0]


def test_429_and_5xx_are_retried_with_the_google_backoff(fake_sheets: FakeSheets) -> None:
    fake_sheets.sheets["sheet-1"] = [
        ["week", "rep", "kpi", "value"],
        ["2026-11-23", "ana@x.com", "calls", 1],
    ]
    fake_sheets.fail(429, retry_after=3)
    fake_sheets.fail(503)
    sleeps: list[float] = []
    assert len(source(fake_sheets, sleeps=sleeps).read().rows) == 1
    assert sleeps == [3.0, 2.0]
    assert [r.status for r in fake_sheets.requests] == [429, 503, 200]
    fake_sheets.fail(500, times=5)
    with pytest.raises(TransientError, match="gave up after 3 attempts"):
        source(fake_sheets).read()


@pytest.mark.parametrize(("status", "reason"), [(401, ""), (403, "forbidden"), (404, "")])
def test_refusals_are_not_retried(fake_sheets: FakeSheets, status: int, reason: str) -> None:
    if status != 404:
        fake_sheets.sheets["sheet-1"] = [["week", "rep", "kpi", "value"]]
        fake_sheets.fail(status, reason=reason)
    with pytest.raises(RemoteError, match=f"HTTP {status}"):
        source(fake_sheets).read()
    assert len(fake_sheets.requests) == 1


def test_the_read_only_scope_is_asked_for_only_when_a_sheet_is_used() -> None:
    base = {"manager": {"name": "D", "email": "d@x.com", "timezone": "UTC"}, "team": []}
    assert SCOPE_SHEETS_READONLY not in scopes_for(Policy.model_validate(base))
    with_sheet = dict(
        base, kpi_source=[{"type": "google_sheets", "spreadsheet_id": "s", "range": "A:D"}]
    )
    assert SCOPE_SHEETS_READONLY in scopes_for(Policy.model_validate(with_sheet))
    conn = open_sheets_source(
        GoogleSettings(),
        base_dir=Path("."),
        subject="d@x.com",
        spreadsheet_id="s",
        range_="A:D",
        form="long",
        reps=set(),
        kpis=set(),
    ).conn
    assert list(conn.scopes) == [SCOPE_SHEETS_READONLY]
