"""KPI source: a CSV file of `week,rep,kpi,value`, one row per rep, KPI and ISO week."""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from planner.model import KpiRow

HEADER = ("week", "rep", "kpi", "value")


@dataclass
class KpiRead:
    """The rows that parsed, and a warning naming each line that did not."""

    rows: list[KpiRow]
    warnings: list[str] = field(default_factory=list)
    problem: str = ""  # set when the source could not be read at all (its figures are stale)
    as_of: datetime | None = None  # when the figures were current (a file's mtime)


class CsvKpiSource:
    """Reads weekly KPI figures. `week` is any date in the week (stored as that week's Monday).

    Rows for unknown reps or KPIs, bad dates and non-numeric values are skipped with a
    warning that names the file and line; the rest still count. A missing file yields no rows
    and one warning, so a new team can start before its first export.
    """

    def __init__(self, path: Path, reps: set[str], kpis: set[str]) -> None:
        self.path = path
        self.reps = reps
        self.kpis = kpis

    def read(self) -> KpiRead:
        out = KpiRead(rows=[])
        try:
            fh = self.path.open(newline="", encoding="utf-8-sig")
        except FileNotFoundError:
            out.warnings.append(f"{self.path}: KPI file not found; no KPI figures this tick")
            out.problem = "file not found"
            return out
        except OSError as e:
            out.warnings.append(f"{self.path}: cannot read the KPI file: {e.strerror or e}")
            out.problem = f"cannot read: {e.strerror or e}"
            return out
        with fh:
            out.as_of = datetime.fromtimestamp(os.fstat(fh.fileno()).st_mtime, UTC)
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                return out
            cols = [h.strip().lower() for h in header]
            if tuple(cols[:4]) != HEADER:
                out.warnings.append(
                    f"{self.path}:1: header must be week,rep,kpi,value (got {','.join(header)!r})"
                )
                return out
            for lineno, row in enumerate(reader, start=2):
                if not row or all(not c.strip() for c in row):
                    continue
                problem, parsed = self._parse(row)
                if problem:
                    out.warnings.append(f"{self.path}:{lineno}: skipped: {problem}")
                elif parsed is not None:
                    out.rows.append(parsed)
        return out  # warnings are logged once, by the caller

    def _parse(self, row: list[str]) -> tuple[str | None, KpiRow | None]:
        if len(row) < 4:
            return f"expected 4 columns, got {len(row)}", None
        return parse_figure(*row[:4], reps=self.reps, kpis=self.kpis)


def parse_figure(
    week_s: str, rep: str, kpi: str, value_s: str, *, reps: set[str], kpis: set[str]
) -> tuple[str | None, KpiRow | None]:
    """(problem, row) for one figure given as text: a date in the week, a rep on the team,
    a KPI in the policy and a finite number (thousands commas allowed; empty is NaN)."""
    week_s, rep, kpi, value_s = (c.strip() for c in (week_s, rep, kpi, value_s))
    try:
        d = date.fromisoformat(week_s)
    except ValueError:
        return f"week {week_s[:40]!r} is not a date (YYYY-MM-DD)", None
    rep = rep.lower()
    if rep not in reps:
        return f"rep {rep[:80]!r} is not on the team", None
    if kpi not in kpis:
        return f"KPI {kpi[:80]!r} is not in the policy", None
    try:
        value = float(value_s.replace(",", "")) if value_s else math.nan
    except ValueError:
        return f"value {value_s[:40]!r} is not a number", None
    if not math.isfinite(value):
        return f"value {value_s[:40]!r} is not a finite number", None
    monday = d - timedelta(days=d.weekday())
    return None, KpiRow(week=monday, rep=rep, kpi=kpi, value=value)
