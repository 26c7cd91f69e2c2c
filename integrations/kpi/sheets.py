"""KPI source: a Google Sheet read with Sheets API v4 `spreadsheets.values.get`.

Two layouts (`form`): `long` has a header row `week,rep,kpi,value` and one figure a row;
`wide` has a header row with `week` and `rep` columns and one column per KPI (headed by
the KPI id), one row per rep and week. Cells are read unformatted, so numbers arrive as
numbers; a week may be an ISO date (text) or a date cell (its serial number). A bad row is
skipped with a warning naming the sheet range and row; missing cells count as no figure.

Requests go through the one retry policy of the Google backend (integrations.google.retry):
429/5xx are retried with backoff, 401/403/404 are not. Uses the `calendar.google`
credentials with the `spreadsheets.readonly` scope.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

from integrations.google import retry
from integrations.google.auth import SCOPE_SHEETS_READONLY
from integrations.google.client import DEFAULT_TIMEOUT, Connection
from integrations.google.retry import Backoff
from integrations.kpi_csv import KpiRead, parse_figure
from planner.policy import GoogleSettings

log = logging.getLogger(__name__)

LONG_HEADER = ("week", "rep", "kpi", "value")
# Google Sheets counts dates in days from 1899-12-30.
_SHEETS_EPOCH = date(1899, 12, 30)


class SheetsKpiSource:
    """Reads one range of one spreadsheet into KPI rows (see the module docstring)."""

    def __init__(
        self,
        conn: Connection,
        spreadsheet_id: str,
        range_: str,
        form: Literal["long", "wide"],
        *,
        reps: set[str],
        kpis: set[str],
        backoff: Backoff | None = None,
    ) -> None:
        self.conn = conn
        self.spreadsheet_id = spreadsheet_id
        self.range = range_
        self.form = form
        self.reps = reps
        self.kpis = kpis
        self.backoff = backoff or Backoff()
        self.where = f"sheet {spreadsheet_id} {range_}"

    def read(self) -> KpiRead:
        """The figures in the range. Raises RemoteError/TransientError/UserError when the
        sheet cannot be read (the caller marks the source stale and keeps its last read)."""
        req = (
            self.conn.sheets()
            .spreadsheets()
            .values()
            .get(
                spreadsheetId=self.spreadsheet_id,
                range=self.range,
                majorDimension="ROWS",
                valueRenderOption="UNFORMATTED_VALUE",
                dateTimeRenderOption="SERIAL_NUMBER",
            )
        )
        resp = retry.call(lambda: req.execute(num_retries=0), "sheets values.get", self.backoff)
        self.conn.persist()
        values = resp.get("values") if isinstance(resp, dict) else None
        out = KpiRead(rows=[])
        if not isinstance(values, list) or not values:
            out.warnings.append(f"{self.where}: no rows")
            return out
        header = [_text(c).lower() for c in _cells(values[0])]
        if self.form == "long":
            self._long(header, values[1:], out)
        else:
            self._wide(header, values[1:], out)
        return out

    def _long(self, header: list[str], body: Sequence[Any], out: KpiRead) -> None:
        if tuple(header[:4]) != LONG_HEADER:
            out.warnings.append(
                f"{self.where}: row 1: header must be week,rep,kpi,value "
                f"(got {','.join(header)[:80]!r})"
            )
            return
        for n, raw in enumerate(body, start=2):
            cells = _cells(raw)
            if not any(_text(c) for c in cells):
                continue
            cells = (cells + [""] * 4)[:4]
            self._add(out, n, cells[0], cells[1], cells[2], cells[3])

    def _wide(self, header: list[str], body: Sequence[Any], out: KpiRead) -> None:
        if "week" not in header or "rep" not in header:
            out.warnings.append(f"{self.where}: row 1: a wide sheet needs week and rep columns")
            return
        wi, ri = header.index("week"), header.index("rep")
        kpi_cols = [(i, h) for i, h in enumerate(header) if h in self.kpis]
        for i, h in enumerate(header):
            if h and i not in (wi, ri) and h not in self.kpis:
                out.warnings.append(
                    f"{self.where}: row 1: column {h[:40]!r} is not a KPI in the policy; ignored"
                )
        for n, raw in enumerate(body, start=2):
            cells = _cells(raw)
            if not any(_text(c) for c in cells):
                continue
            cells = cells + [""] * (len(header) - len(cells))
            for i, kpi in kpi_cols:
                if _text(cells[i]) == "":
                    continue  # a blank cell is no figure, not a zero
                self._add(out, n, cells[wi], cells[ri], kpi, cells[i])

    def _add(self, out: KpiRead, n: int, week: Any, rep: Any, kpi: Any, value: Any) -> None:
        problem, row = parse_figure(
            _week_text(week),
            _text(rep),
            _text(kpi),
            _value_text(value),
            reps=self.reps,
            kpis=self.kpis,
        )
        if problem:
            out.warnings.append(f"{self.where}: row {n}: skipped: {problem}")
        elif row is not None:
            out.rows.append(row)


def _cells(raw: Any) -> list[Any]:
    return list(raw) if isinstance(raw, list) else []


def _text(c: Any) -> str:
    if isinstance(c, bool) or c is None:
        return ""
    return str(c).strip()


def _week_text(c: Any) -> str:
    """A week cell as YYYY-MM-DD: a date cell arrives as its serial number."""
    if (
        isinstance(c, int | float)
        and not isinstance(c, bool)
        and math.isfinite(c)
        and 0 < c < 2958466
    ):
        return (_SHEETS_EPOCH + timedelta(days=int(c))).isoformat()
    return _text(c)


def _value_text(c: Any) -> str:
    if isinstance(c, int | float) and not isinstance(c, bool):
        return repr(float(c))
    return _text(c)


def open_sheets_source(
    settings: GoogleSettings,
    *,
    base_dir: Path,
    subject: str,
    spreadsheet_id: str,
    range_: str,
    form: Literal["long", "wide"],
    reps: set[str],
    kpis: set[str],
    backoff: Backoff | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> SheetsKpiSource:
    """A Sheets source with the `calendar.google` credentials and only the read-only
    spreadsheets scope. Touches neither the network nor the token file until read()."""
    conn = Connection(
        credentials=settings.credentials,
        scopes=[SCOPE_SHEETS_READONLY],
        token_file=base_dir / settings.token_file,
        service_account_key=(
            base_dir / settings.service_account_key if settings.service_account_key else None
        ),
        subject=subject,
        endpoint=settings.api_endpoint,
        timeout=timeout,
    )
    return SheetsKpiSource(
        conn, spreadsheet_id, range_, form, reps=reps, kpis=kpis, backoff=backoff
    )
