"""Where weekly KPI figures come from: `kpi_source`, a list of sources in precedence order.

The first source in the list that has a figure for a (week, rep, kpi) wins; a source with
`kpis:` feeds only those KPIs. A single mapping (the old `kpi_source: {path: kpis.csv}`)
is still accepted and means a one-source list. `max_age` (optional) is how old a source's
last good read may be before it counts as stale; `refresh` is how often a remote source is
re-read (a CSV file is re-read every tick).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from planner.timeutil import format_duration, parse_duration


def _duration(v: Any) -> timedelta:
    if isinstance(v, timedelta):
        return v
    if isinstance(v, bool) or not isinstance(v, str):
        raise ValueError(f"must be a duration like 30m, 4h or 2 weeks (got {v!r})")
    return parse_duration(v)


Duration = Annotated[
    timedelta, BeforeValidator(_duration), PlainSerializer(format_duration, return_type=str)
]
KpiId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]


class _Source(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=40)
    kpis: list[KpiId] = Field(default_factory=list)
    max_age: Duration | None = None
    refresh: Duration = timedelta(hours=1)


class CsvSource(_Source):
    """A CSV file of `week,rep,kpi,value` (re-read every tick; its age is the file's mtime)."""

    type: Literal["csv"] = "csv"
    path: str = "kpis.csv"


class SheetsSource(_Source):
    """A Google Sheet, read with the calendar's Google credentials (read-only scope).

    `form: long` has the columns week,rep,kpi,value; `form: wide` has week and rep columns
    and one column per KPI (headed by the KPI id).
    """

    type: Literal["google_sheets"]
    spreadsheet_id: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_-]+$")
    range: str = Field(min_length=1, max_length=200)
    form: Literal["long", "wide"] = "long"


KpiSource = Annotated[CsvSource | SheetsSource, Field(discriminator="type")]


def _as_list(v: Any) -> Any:
    """A single mapping is a one-source list; a source without `type` is a CSV."""
    items = [v] if isinstance(v, dict) else v
    if isinstance(items, list):
        return [
            dict(i, type="csv") if isinstance(i, dict) and "type" not in i else i for i in items
        ]
    return items


KpiSources = Annotated[list[KpiSource], BeforeValidator(_as_list), Field(min_length=1)]


def source_names(sources: list[CsvSource | SheetsSource]) -> list[str]:
    """The name each source goes by in summaries and `coachd kpis`: its `name`, else its
    type, numbered by position (`csv2`) when that type appears more than once."""
    types = [s.type for s in sources]
    return [
        s.name or (s.type if types.count(s.type) == 1 else f"{s.type}{i + 1}")
        for i, s in enumerate(sources)
    ]


def feeds(src: CsvSource | SheetsSource, kpi_id: str) -> bool:
    """Whether a source feeds a KPI (a source without `kpis:` feeds them all)."""
    return not src.kpis or kpi_id in src.kpis
