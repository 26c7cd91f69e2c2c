"""Read every configured KPI source, fall back to the last good read, and merge the figures.

Precedence: the first source in `kpi_source` with a figure for a (week, rep, kpi) wins; a
source with `kpis:` contributes only those KPIs. Each figure carries its source's name and
the time that source last read successfully (`as_of`). A remote source (google_sheets) is
re-read at most every `refresh`; between reads, and when a read fails, its last good read
(kept in the state store) stands in. A CRM source (salesforce, hubspot) is read and cached
week by week (`kpi_cache:<name>:<monday>`) for its last `weeks` weeks: a week read after it
ended is final and never queried again; the current week (or a week last read before it
ended) is re-read at most every `refresh`. A source that failed this tick, or whose last good read
is older than `max_age`, is stale: the planner is told, and names it in the summary.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, Protocol, runtime_checkable

from integrations.errors import CoachdError
from integrations.kpi_csv import KpiRead
from integrations.store.kv import KeyValue
from planner.kpi_sources import AnySource, feeds, source_names
from planner.model import KpiRow, KpiSourceStatus

log = logging.getLogger(__name__)

CACHE_PREFIX = "kpi_cache:"


@runtime_checkable
class Reader(Protocol):
    def read(self) -> KpiRead: ...


@runtime_checkable
class WeeklyReader(Protocol):
    """A CRM source: reads the figures of the given weeks (Mondays in `tz`) only."""

    def read_weeks(self, weeks: Sequence[date], tz: tzinfo) -> KpiRead: ...


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
    config: AnySource
    open: Callable[[], Reader | WeeklyReader]
    tz: tzinfo = UTC  # the manager's time zone: where a week starts and ends


def configured(
    sources: Sequence[AnySource],
    opener: Callable[[AnySource, str], Reader | WeeklyReader],
    tz: tzinfo = UTC,
) -> list[Configured]:
    names = source_names(list(sources))
    return [
        Configured(n, s, (lambda s=s, n=n: opener(s, n)), tz)  # type: ignore[misc]
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
    if src.config.type in ("salesforce", "hubspot"):
        return _read_weekly(src, kv, now)
    if src.config.type == "csv":
        try:
            got = _plain(src).read()
        except CoachdError as e:
            return [], None, str(e), [f"KPI source {src.name}: {e}"]
        return got.rows, got.as_of, got.problem, got.warnings
    key = CACHE_PREFIX + src.name
    cached = _load_cache(kv.get(key), src.config.model_dump_json())
    if cached is not None and now - cached[1] < src.config.refresh:
        return cached[0], cached[1], "", []
    try:
        got = _plain(src).read()
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


def _plain(src: Configured) -> Reader:
    reader = src.open()
    assert isinstance(reader, Reader)
    return reader


def _read_weekly(
    src: Configured, kv: KeyValue, now: datetime
) -> tuple[list[KpiRow], datetime | None, str, list[str]]:
    """A CRM source, week by week: query only the weeks whose cached read is missing, was
    made with other settings, or may still change (read before the week ended, longer than
    `refresh` ago). A failed read stores nothing and leaves the cached weeks standing."""
    cfg = src.config
    settings = cfg.model_dump_json()
    today = now.astimezone(src.tz).date()
    current = today - timedelta(days=today.weekday())
    weeks = [current - timedelta(weeks=i) for i in range(getattr(cfg, "weeks", 1))]
    key = CACHE_PREFIX + src.name + ":"
    cached = {w: _load_cache(kv.get(key + w.isoformat()), settings) for w in weeks}

    def final_or_fresh(w: date) -> bool:
        c = cached[w]
        if c is None:
            return False
        ends = datetime.combine(w + timedelta(days=7), time(), src.tz)
        return c[1] >= ends or (now < ends and now - c[1] < cfg.refresh)

    todo = sorted(w for w in weeks if not final_or_fresh(w))
    problem = ""
    warnings: list[str] = []
    if todo:
        try:
            reader = src.open()
            assert isinstance(reader, WeeklyReader)
            got = reader.read_weeks(todo, src.tz)
        except CoachdError as e:
            problem = str(e)
            warnings.append(f"KPI source {src.name}: {problem}; using the weeks read before")
        else:
            warnings.extend(got.warnings)
            problem = got.problem
            if not problem:
                for w in todo:
                    rows = [r for r in got.rows if r.week == w]
                    kv.put(key + w.isoformat(), _dump_cache(rows, now, settings))
                    cached[w] = (rows, now)
    rows = [r for w in weeks for r in (cached[w] or ([], now))[0]]
    reads = [c[1] for c in cached.values() if c is not None]
    return rows, (max(reads) if reads else None), problem, warnings


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
