"""Read every configured KPI source, fall back to the last good read, and merge the figures.

Precedence: the first source in `kpi_source` with a figure for a (week, rep, kpi) wins; a
source with `kpis:` contributes only those KPIs. Each figure carries its source's name and
the time that source last read successfully (`as_of`). A remote source (google_sheets) is
re-read at most every `refresh`; between reads, and when a read fails, its last good read
(kept in the state store) stands in. A source that failed this tick, or whose last good read
is older than `max_age`, is stale: the planner is told, and names it in the summary.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from integrations.errors import CoachdError
from integrations.kpi_csv import KpiRead
from integrations.kv import KeyValue
from planner.kpi_sources import CsvSource, SheetsSource, feeds, source_names
from planner.model import KpiRow, KpiSourceStatus

log = logging.getLogger(__name__)

CACHE_PREFIX = "kpi_cache:"


class Reader(Protocol):
    def read(self) -> KpiRead: ...


@dataclass
class MergedKpis:
    """Every source's figures merged by precedence, each source's status, and the warnings."""

    rows: list[KpiRow]
    statuses: list[KpiSourceStatus]
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Configured:
    """One `kpi_source` entry with its display name and a way to open its reader."""

    name: str
    config: CsvSource | SheetsSource
    open: Callable[[], Reader]


def configured(
    sources: Sequence[CsvSource | SheetsSource],
    opener: Callable[[CsvSource | SheetsSource], Reader],
) -> list[Configured]:
    names = source_names(list(sources))
    return [
        Configured(n, s, (lambda s=s: opener(s)))  # type: ignore[misc]
        for n, s in zip(names, sources, strict=True)
    ]


def read_all(sources: Sequence[Configured], kv: KeyValue, now: datetime) -> MergedKpis:
    """Read (or reuse) every source and merge. Never raises for one failing source."""
    merged: dict[tuple[date, str, str], KpiRow] = {}
    statuses: list[KpiSourceStatus] = []
    warnings: list[str] = []
    for src in sources:
        rows, as_of, problem, w = _read_one(src, kv, now)
        warnings.extend(w)
        max_age = src.config.max_age
        too_old = max_age is not None and as_of is not None and now - as_of > max_age
        stale = bool(problem) or too_old or (as_of is None and src.config.type != "csv")
        if too_old and not problem and as_of is not None:
            problem = f"last read {_age(now - as_of)} ago, more than max_age"
        statuses.append(KpiSourceStatus(src.name, src.config.type, as_of, stale, problem))
        if stale:
            log.warning("KPI source %s is stale: %s", src.name, problem or "never read")
        for r in rows:
            if not feeds(src.config, r.kpi):
                continue
            tagged = KpiRow(r.week, r.rep, r.kpi, r.value, source=src.name, as_of=as_of)
            merged.setdefault((r.week, r.rep, r.kpi), tagged)
    rows = sorted(merged.values(), key=lambda r: (r.week, r.rep, r.kpi))
    return MergedKpis(rows=rows, statuses=statuses, warnings=warnings)


def _read_one(
    src: Configured, kv: KeyValue, now: datetime
) -> tuple[list[KpiRow], datetime | None, str, list[str]]:
    """(rows, as_of, problem, warnings) for one source."""
    if src.config.type == "csv":
        try:
            got = src.open().read()
        except CoachdError as e:
            return [], None, str(e), [f"KPI source {src.name}: {e}"]
        return got.rows, got.as_of, got.problem, got.warnings
    key = CACHE_PREFIX + src.name
    cached = _load_cache(kv.get(key), src.config.model_dump_json())
    if cached is not None and now - cached[1] < src.config.refresh:
        return cached[0], cached[1], "", []
    try:
        got = src.open().read()
    except CoachdError as e:
        problem = str(e)
        warn = f"KPI source {src.name}: {problem}"
        if cached is not None:
            return cached[0], cached[1], problem, [warn + "; using its last good read"]
        return [], None, problem, [warn]
    if got.problem:
        if cached is not None:
            return cached[0], cached[1], got.problem, got.warnings
        return [], None, got.problem, got.warnings
    kv.put(key, _dump_cache(got.rows, now, src.config.model_dump_json()))
    return got.rows, now, "", got.warnings


def _dump_cache(rows: list[KpiRow], at: datetime, config: str) -> dict[str, Any]:
    return {
        "config": config,
        "read_at": at.isoformat(),
        "rows": [[r.week.isoformat(), r.rep, r.kpi, r.value] for r in rows],
    }


def _load_cache(raw: Any, config: str) -> tuple[list[KpiRow], datetime] | None:
    """The cached rows and their read time; None when the source's settings changed since,
    or for anything unexpected (read again)."""
    if not isinstance(raw, dict) or raw.get("config") != config:
        return None
    try:
        at = datetime.fromisoformat(raw["read_at"])
        rows = [
            KpiRow(date.fromisoformat(w), str(rep), str(k), float(v))
            for w, rep, k, v in raw["rows"]
        ]
    except (KeyError, TypeError, ValueError):
        return None
    if at.tzinfo is None:
        return None
    return rows, at


def _age(d: Any) -> str:
    hours = int(d.total_seconds() // 3600)
    return f"{hours // 24} days" if hours >= 48 else f"{hours} h"
