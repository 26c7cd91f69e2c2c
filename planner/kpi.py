"""KPI standings: each rep's figures against the minimum standard and the goal, by week."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from planner.kpi_sources import feeds, source_names
from planner.model import KpiRow, KpiSourceStatus
from planner.policy import Kpi, Policy, Rep


def minimum_for(kpi: Kpi, rep: Rep) -> float:
    """The rep's minimum standard on a KPI: their own override, or the team's."""
    return rep.minimums.get(kpi.id, kpi.minimum)


def meets(kpi: Kpi, value: float, minimum: float) -> bool:
    """Whether a value meets the standard (a ceiling for lower-is-better KPIs)."""
    return value >= minimum if kpi.higher_is_better else value <= minimum


@dataclass(frozen=True)
class Standing:
    """One rep on one KPI: the latest figure, the trend and how long they have been below."""

    rep: str
    kpi: str
    minimum: float
    goal: float
    latest: float | None
    latest_week: date | None
    trend: tuple[float | None, ...]  # oldest first, the last `len` weeks ending at latest_week
    weeks_below: int  # consecutive weeks below standard, ending at the latest week with data
    stale: bool = False  # no figure for the week asked about, and a source feeding it is stale
    source: str = ""  # where the latest figure came from
    as_of: datetime | None = None  # when that source last read it

    @property
    def below(self) -> bool:
        return self.weeks_below > 0


def stale_kpis(policy: Policy, statuses: Iterable[KpiSourceStatus]) -> frozenset[str]:
    """The KPI ids fed by a source that is stale this tick (failed, or older than max_age);
    a derived KPI is stale when a source feeding one of its inputs is."""
    stale = {st.name for st in statuses if st.stale}
    names = source_names(policy.kpi_source)
    out = set()
    for k in policy.kpis:
        needs = (
            [k.derived.numerator, k.derived.denominator, k.derived.less] if k.derived else [k.id]
        )
        for src, name in zip(policy.kpi_source, names, strict=True):
            if name in stale and any(n and feeds(src, n) for n in needs):
                out.add(k.id)
    return frozenset(out)


def history(rows: Iterable[KpiRow]) -> dict[tuple[str, str], dict[date, float]]:
    """Index KPI rows as {(rep, kpi): {week: value}}; a later row for the same week wins."""
    out: dict[tuple[str, str], dict[date, float]] = defaultdict(dict)
    for r in rows:
        out[(r.rep, r.kpi)][r.week] = r.value
    return out


def standings(
    policy: Policy,
    rows: Iterable[KpiRow],
    up_to: date,
    trend_len: int = 4,
    stale: frozenset[str] = frozenset(),
) -> dict[str, list[Standing]]:
    """Every rep's standing on every KPI, using weeks up to and including `up_to` (a Monday).

    A missing week breaks a below-standard streak only if the rep met the standard; weeks
    with no figure are skipped, so a gap in reporting neither helps nor hurts. When the
    figure for `up_to` is missing and a source feeding that KPI is stale (`stale` holds
    KPI ids), the standing is marked stale and counts no weeks below: old numbers are shown
    "as of" their week, never taken for this week's.
    """
    rows = list(rows)
    hist = history(rows)
    origin = {(r.rep, r.kpi, r.week): r for r in rows}
    out: dict[str, list[Standing]] = {}
    for rep in policy.team:
        rep_out = []
        for kpi in policy.kpis:
            weeks = {w: v for w, v in hist.get((rep.email, kpi.id), {}).items() if w <= up_to}
            ordered = sorted(weeks)
            minimum = minimum_for(kpi, rep)
            streak = 0
            for w in reversed(ordered):
                if meets(kpi, weeks[w], minimum):
                    break
                streak += 1
            latest_week = ordered[-1] if ordered else None
            is_stale = kpi.id in stale and latest_week != up_to
            src = origin.get((rep.email, kpi.id, latest_week)) if latest_week else None
            trend: tuple[float | None, ...] = ()
            if latest_week is not None:
                span = [latest_week - timedelta(weeks=i) for i in range(trend_len - 1, -1, -1)]
                trend = tuple(weeks.get(w) for w in span)
            rep_out.append(
                Standing(
                    rep=rep.email,
                    kpi=kpi.id,
                    minimum=minimum,
                    goal=kpi.goal,
                    latest=weeks[latest_week] if latest_week else None,
                    latest_week=latest_week,
                    trend=trend,
                    weeks_below=0 if is_stale else streak,
                    stale=is_stale,
                    source=src.source if src else "",
                    as_of=src.as_of if src else None,
                )
            )
        out[rep.email] = rep_out
    return out


def weeks_below_by_rep(
    policy: Policy, rows: Iterable[KpiRow], up_to: date, stale: frozenset[str] = frozenset()
) -> dict[str, int]:
    """Each rep's longest current below-standard streak across all KPIs, up to `up_to`
    (a KPI whose figure is missing because its source is stale counts no weeks)."""
    table = standings(policy, rows, up_to, stale=stale)
    return {rep: max((s.weeks_below for s in sts), default=0) for rep, sts in table.items()}
