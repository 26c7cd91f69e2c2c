"""`coachd kpis`: the merged KPI table for one week, each figure with its source and age.

Reads every source the way a tick does (dry: the read cache is not written) so a manager
sees exactly what coachd believes, including which sources are stale.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta
from typing import Any

from integrations.config_file import LoadedConfig
from integrations.errors import UserError
from integrations.kpi.open import open_sources
from integrations.kpi.read import read_all
from integrations.store.state import StateStore
from integrations.tick.app import OverlayKV, state_path
from planner.kpi import meets, minimum_for, stale_kpis
from planner.kpi_derive import derive
from planner.timeutil import iso_week, week_monday

_ISO_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def parse_week(text: str) -> date:
    """The Monday of `2026-W47` or of the week holding a date `2026-11-18`."""
    t = text.strip()
    m = _ISO_WEEK.match(t)
    try:
        if m:
            return date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
        return week_monday(date.fromisoformat(t))
    except ValueError:
        raise UserError(
            f"--week {text[:40]!r}: write an ISO week like 2026-W47 or a date like 2026-11-18"
        ) from None


def kpi_report(loaded: LoadedConfig, now: datetime, week: date | None) -> dict[str, Any]:
    """{week, sources: [...], figures: [...]} for `week` (default: the last complete week)."""
    p = loaded.policy
    tz = p.manager.tz
    monday = week or week_monday(now.astimezone(tz).date()) - timedelta(weeks=1)
    with StateStore.open(state_path(loaded), readonly=True, now=now) as store:
        merged = read_all(open_sources(loaded), OverlayKV(store), now)
    stale = stale_kpis(p, merged.statuses)
    found = {(r.rep, r.kpi): r for r in derive(p, merged.rows) if r.week == monday}
    figures = []
    for rep in p.team:
        for kpi in p.kpis:
            row = found.get((rep.email, kpi.id))
            minimum = minimum_for(kpi, rep)
            if row is None:
                status = "stale" if kpi.id in stale else "none"
            else:
                status = "meets" if meets(kpi, row.value, minimum) else "below"
            figures.append(
                {
                    "rep": rep.email,
                    "kpi": kpi.id,
                    "value": row.value if row else None,
                    "minimum": minimum,
                    "status": status,
                    "source": row.source if row else None,
                    "as_of": row.as_of.isoformat() if row and row.as_of else None,
                }
            )
    return {
        "week": iso_week(monday),
        "week_start": monday.isoformat(),
        "sources": [
            {
                "name": s.name,
                "kind": s.kind,
                "as_of": s.as_of.isoformat() if s.as_of else None,
                "stale": s.stale,
                "problem": s.problem,
            }
            for s in merged.statuses
        ],
        "figures": figures,
        "warnings": merged.warnings,
    }


def format_report(report: dict[str, Any]) -> str:
    """The report as a fixed-width table, sources first."""
    lines = [f"KPIs for {report['week']} (week of {report['week_start']})", "", "Sources:"]
    for s in report["sources"]:
        state = f"STALE: {s['problem'] or 'never read'}" if s["stale"] else "ok"
        lines.append(f"  {s['name']:<16} {s['kind']:<14} as of {s['as_of'] or '-':<26} {state}")
    lines += ["", f"  {'rep':<32} {'kpi':<24} {'value':>12}  {'status':<7} source"]
    for f in report["figures"]:
        v = f["value"]
        shown = "-" if v is None or not math.isfinite(v) else f"{v:,.10g}"
        lines.append(
            f"  {f['rep'][:32]:<32} {f['kpi'][:24]:<24} {shown:>12}  {f['status']:<7} "
            f"{f['source'] or '-'}"
        )
    for w in report["warnings"]:
        lines.append(f"warning: {w}")
    return "\n".join(lines)
