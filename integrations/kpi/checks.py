"""Config checks that span `kpi_source` and `kpis`: each source feeds known KPIs, names differ."""

from __future__ import annotations

import difflib

from planner.kpi_derive import input_ids
from planner.kpi_sources import HubSpotSource, SalesforceSource, source_names
from planner.policy import Policy

Path_ = tuple[str | int, ...]


def source_checks(policy: Policy) -> list[tuple[Path_, str]]:
    """(key path, message) for every KPI a source names that the policy does not define,
    and for two sources going by the same name."""
    out: list[tuple[Path_, str]] = []
    derived = {k.id for k in policy.kpis if k.derived}
    for i, k in enumerate(policy.kpis):
        if k.derived is None:
            continue
        for key in ("numerator", "denominator", "less"):
            name = getattr(k.derived, key)
            if name in derived:
                out.append(
                    (("kpis", i, "derived", key), f"{name!r} is a derived KPI; use source figures")
                )
    ids = sorted({k.id for k in policy.kpis} | input_ids(policy))
    seen: set[str] = set()
    for i, (src, name) in enumerate(
        zip(policy.kpi_source, source_names(policy.kpi_source), strict=True)
    ):
        if name in seen:
            out.append((("kpi_source", i, "name"), f"source name {name!r} is used twice"))
        seen.add(name)
        named: list[tuple[Path_, str]] = [
            (("kpi_source", i, "kpis", j), k) for j, k in enumerate(src.kpis)
        ]
        if isinstance(src, SalesforceSource):
            named += [(("kpi_source", i, "queries", k), k) for k in src.queries]
            named += [(("kpi_source", i, "reports", k), k) for k in src.reports]
        if isinstance(src, HubSpotSource):
            named += [(("kpi_source", i, "searches", k), k) for k in src.searches]
        for path, kpi_id in named:
            if kpi_id not in ids:
                close = difflib.get_close_matches(kpi_id, ids, n=1, cutoff=0.6)
                hint = (
                    f"did you mean {close[0]!r}?" if close else f"KPIs: {', '.join(ids) or 'none'}"
                )
                out.append((path, f"no KPI with id {kpi_id!r} ({hint})"))
    return out
