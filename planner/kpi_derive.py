"""Derived KPIs: figures computed from other figures, per rep and week.

A KPI with `derived:` is `scale * numerator / (denominator - less)`, e.g. quota attainment
(`closed_won / quota`, scale 100), pipeline coverage (`open_pipeline / (quota - closed_won)`)
or a conversion rate (`meetings_booked / conversations`, scale 100). Each input is a figure
id read from a KPI source, or a per-rep constant from `team[].figures`: a weekly number, or
`{amount, per: month|quarter|year}` (a monthly or quarterly quota), of which a week gets
its days' share (each day amount / days in its period, so a week spanning two months takes
from both).
Inputs need not be KPIs, so they do not count against the 7 KPIs shown. No figure is
derived when an input is missing or the divisor is not positive; the derived figure is as
old as its oldest input.
"""

from __future__ import annotations

import math
from calendar import monthrange
from collections.abc import Iterable
from datetime import date, timedelta

from planner.kpi_sources import PeriodFigure
from planner.model import KpiRow
from planner.policy import Derived, Policy


def inputs_of(d: Derived) -> list[str]:
    return [i for i in (d.numerator, d.denominator, d.less) if i]


def input_ids(policy: Policy) -> set[str]:
    """Every figure id a derived KPI reads (besides the KPIs themselves)."""
    return {i for k in policy.kpis if k.derived for i in inputs_of(k.derived)}


def _days_in(per: str, day: date) -> int:
    if per == "month":
        return monthrange(day.year, day.month)[1]
    if per == "quarter":
        first = (day.month - 1) // 3 * 3 + 1
        return sum(monthrange(day.year, m)[1] for m in range(first, first + 3))
    return 366 if monthrange(day.year, 2)[1] == 29 else 365


def week_share(figure: float | PeriodFigure, monday: date) -> float:
    """The part of a per-rep constant that belongs to the week starting `monday`."""
    if not isinstance(figure, PeriodFigure):
        return figure
    if figure.per == "week":
        return figure.amount
    days = (monday + timedelta(days=i) for i in range(7))
    return sum(figure.amount / _days_in(figure.per, d) for d in days)


def derive(policy: Policy, rows: Iterable[KpiRow]) -> list[KpiRow]:
    """`rows` with the derived KPIs' figures added (a source's own figure for a derived
    id is replaced: the formula in config is what the manager asked for)."""
    derived = [k for k in policy.kpis if k.derived]
    if not derived:
        return list(rows)
    ids = {k.id for k in derived}
    base = [r for r in rows if r.kpi not in ids]
    index: dict[tuple[date, str], dict[str, KpiRow]] = {}
    for r in base:
        index.setdefault((r.week, r.rep), {})[r.kpi] = r
    consts = {rep.email: rep.figures for rep in policy.team}
    out = list(base)
    for (week, rep), figs in sorted(index.items()):
        for k in derived:
            d = k.derived
            assert d is not None
            used: list[KpiRow] = []
            values: list[float] = []
            for name in inputs_of(d):
                if name in figs:
                    used.append(figs[name])
                    values.append(figs[name].value)
                elif name in consts.get(rep, {}):
                    values.append(week_share(consts[rep][name], week))
                else:
                    break
            else:
                num, den = values[0], values[1]
                if d.less:
                    den -= values[2]
                if den <= 0:
                    continue
                value = d.scale * num / den
                if not math.isfinite(value):
                    continue
                ages = [r.as_of for r in used if r.as_of is not None]
                sources = sorted({r.source for r in used if r.source})
                out.append(
                    KpiRow(
                        week,
                        rep,
                        k.id,
                        round(value, 6),
                        source="derived(" + ",".join(sources) + ")",
                        as_of=min(ages) if ages else None,
                    )
                )
    return out
