"""A stale KPI source: figures shown "as of", the source named, nobody below because of it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from factories import NOW, make_policy, make_snapshot

from planner.contexts import summary_context
from planner.kpi import stale_kpis, standings, weeks_below_by_rep
from planner.model import KpiRow, KpiSourceStatus

LAST_WEEK = date(2026, 11, 23)  # the last complete week at NOW
READ_AT = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)

POLICY = make_policy(
    {
        "kpis": [
            {"id": "calls", "name": "Calls", "minimum": 50, "goal": 75},
            {"id": "quota", "name": "Quota", "unit": "%", "minimum": 80, "goal": 100},
        ],
        "kpi_source": [
            {
                "type": "google_sheets",
                "name": "crm",
                "spreadsheet_id": "s",
                "range": "A:D",
                "kpis": ["quota"],
            },
            {"type": "csv", "path": "kpis.csv"},
        ],
    }
)


def rows() -> list[KpiRow]:
    """Riley was below on quota in the weeks the sheet last had; calls are current."""
    out = []
    for i in range(1, 4):  # 16 Nov, 9 Nov, 2 Nov: the sheet stopped after 16 Nov
        out.append(
            KpiRow(
                LAST_WEEK - timedelta(weeks=i),
                "riley@acme.com",
                "quota",
                40.0,
                source="crm",
                as_of=READ_AT,
            )
        )
    for i in range(0, 4):
        for rep in ("riley@acme.com", "sam@acme.com"):
            out.append(KpiRow(LAST_WEEK - timedelta(weeks=i), rep, "calls", 60.0, source="csv"))
    return out


def statuses(stale: bool) -> tuple[KpiSourceStatus, ...]:
    return (
        KpiSourceStatus("crm", "google_sheets", READ_AT, stale, "HTTP 503" if stale else ""),
        KpiSourceStatus("csv", "csv", None, False),
    )


def test_a_missing_week_from_a_stale_source_is_not_below_standard() -> None:
    stale = stale_kpis(POLICY, statuses(True))
    assert stale == {"quota"}
    table = standings(POLICY, rows(), LAST_WEEK, stale=stale)
    quota = next(s for s in table["riley@acme.com"] if s.kpi == "quota")
    assert quota.stale and quota.weeks_below == 0 and not quota.below
    assert quota.latest_week == LAST_WEEK - timedelta(weeks=1) and quota.source == "crm"
    assert weeks_below_by_rep(POLICY, rows(), LAST_WEEK, stale=stale)["riley@acme.com"] == 0


def test_the_same_gap_from_a_fresh_source_keeps_the_old_rule() -> None:
    fresh = stale_kpis(POLICY, statuses(False))
    assert fresh == frozenset()
    assert weeks_below_by_rep(POLICY, rows(), LAST_WEEK, stale=fresh)["riley@acme.com"] == 3


def test_the_summary_names_the_stale_source_and_shows_figures_as_of() -> None:
    snap = make_snapshot(kpis=tuple(rows()), kpi_sources=statuses(True))
    ctx = summary_context(POLICY, snap, NOW, [])
    assert [s["name"] for s in ctx["stale_sources"]] == ["crm"]
    assert ctx["stale_sources"][0]["problem"] == "HTTP 503"
    assert ctx["below"] == []
    riley = next(r for r in ctx["rows"] if r["rep"]["email"] == "riley@acme.com")
    quota = next(c for c in riley["cells"] if c["id"] == "quota")
    assert quota["status"] == "stale" and quota["source"] == "crm"
