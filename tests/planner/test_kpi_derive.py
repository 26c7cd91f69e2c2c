"""Derived KPIs: quota attainment, pipeline coverage and conversion from other figures."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from factories import make_policy
from pydantic import ValidationError

from planner.kpi import stale_kpis
from planner.kpi_derive import derive, input_ids
from planner.model import KpiRow, KpiSourceStatus

WEEK = date(2026, 11, 23)
T1 = datetime(2026, 11, 27, tzinfo=UTC)
T2 = datetime(2026, 11, 29, tzinfo=UTC)

POLICY = make_policy(
    {
        "team": [
            {"name": "Riley Rep", "email": "riley@acme.com", "figures": {"quota": 20000}},
            {"name": "Sam Seller", "email": "sam@acme.com"},
        ],
        "kpis": [
            {
                "id": "attainment",
                "name": "Quota attainment",
                "unit": "%",
                "minimum": 80,
                "goal": 100,
                "derived": {"numerator": "closed_won", "denominator": "quota", "scale": 100},
            },
            {
                "id": "coverage",
                "name": "Pipeline coverage",
                "unit": "x",
                "minimum": 3,
                "goal": 4,
                "derived": {
                    "numerator": "open_pipeline",
                    "denominator": "quota",
                    "less": "closed_won",
                },
            },
            {
                "id": "conversion",
                "name": "Meetings per conversation",
                "unit": "%",
                "minimum": 20,
                "goal": 30,
                "derived": {"numerator": "meetings", "denominator": "conversations", "scale": 100},
            },
        ],
        "kpi_source": [
            {
                "type": "google_sheets",
                "name": "crm",
                "spreadsheet_id": "s",
                "range": "A:D",
                "kpis": ["closed_won", "open_pipeline", "quota"],
            },
            {"type": "csv", "kpis": ["meetings", "conversations"]},
        ],
    }
)


def fig(rep: str, kpi: str, value: float, source: str = "crm", at: datetime = T1) -> KpiRow:
    return KpiRow(WEEK, rep, kpi, value, source=source, as_of=at)


def test_inputs_come_from_sources_or_the_reps_config_and_are_not_kpis_shown() -> None:
    assert input_ids(POLICY) == {
        "closed_won",
        "quota",
        "open_pipeline",
        "meetings",
        "conversations",
    }
    rows = [
        fig("riley@acme.com", "closed_won", 15000),
        fig("riley@acme.com", "open_pipeline", 10000, at=T2),
        fig("sam@acme.com", "closed_won", 9000),
        fig("sam@acme.com", "quota", 10000),
        fig("sam@acme.com", "open_pipeline", 5000),
        fig("sam@acme.com", "meetings", 3, source="csv"),
        fig("sam@acme.com", "conversations", 0, source="csv"),  # no rate from zero
    ]
    got = {
        (r.rep, r.kpi): r
        for r in derive(POLICY, rows)
        if r.kpi in {"attainment", "coverage", "conversion"}
    }
    assert got[("riley@acme.com", "attainment")].value == 75.0  # quota from config
    riley_cov = got[("riley@acme.com", "coverage")]
    assert riley_cov.value == 2.0 and riley_cov.as_of == T1 and riley_cov.source == "derived(crm)"
    assert got[("sam@acme.com", "attainment")].value == 90.0
    assert got[("sam@acme.com", "coverage")].value == 5.0
    assert ("sam@acme.com", "conversion") not in got
    assert ("riley@acme.com", "conversion") not in got  # inputs missing: no figure


def test_a_derived_kpi_is_stale_when_a_source_of_its_inputs_is() -> None:
    statuses = [KpiSourceStatus("crm", "google_sheets", T1, True, "HTTP 503")]
    assert stale_kpis(POLICY, statuses) == {"attainment", "coverage"}


def test_a_derived_input_must_be_a_plain_id() -> None:
    with pytest.raises(ValidationError):
        make_policy(
            {
                "kpis": [
                    {
                        "id": "a",
                        "name": "A",
                        "minimum": 1,
                        "goal": 2,
                        "derived": {"numerator": "Closed Won", "denominator": "q"},
                    }
                ]
            }
        )


def test_monthly_and_quarterly_quotas_give_each_week_its_days_share() -> None:
    from planner.kpi_derive import week_share
    from planner.kpi_sources import PeriodFigure

    monthly = PeriodFigure(amount=30000, per="month")
    assert week_share(monthly, date(2026, 11, 9)) == pytest.approx(7000)  # 30-day November
    # Mon 29 Dec 2025 .. Sun 4 Jan 2026: 3 days of December, 4 of January (31 days each)
    assert week_share(monthly, date(2025, 12, 29)) == pytest.approx(30000 * 7 / 31)
    # Mon 26 Jan .. Sun 1 Feb 2026: 6 January days (of 31), 1 February day (of 28)
    assert week_share(monthly, date(2026, 1, 26)) == pytest.approx(30000 * (6 / 31 + 1 / 28))
    quarterly = PeriodFigure(amount=91000, per="quarter")  # Q4 2026: 92 days
    assert week_share(quarterly, date(2026, 11, 23)) == pytest.approx(91000 * 7 / 92)
    assert week_share(PeriodFigure(amount=5, per="week"), WEEK) == 5
    assert week_share(1234.0, WEEK) == 1234.0


def test_attainment_against_a_monthly_quota() -> None:
    policy = make_policy(
        {
            "team": [
                {
                    "name": "Riley Rep",
                    "email": "riley@acme.com",
                    "figures": {"quota": {"amount": 60000, "per": "month"}},
                }
            ],
            "kpis": [
                {
                    "id": "attainment",
                    "name": "Quota attainment",
                    "minimum": 80,
                    "goal": 100,
                    "derived": {"numerator": "closed_won", "denominator": "quota", "scale": 100},
                }
            ],
        }
    )
    rows = derive(policy, [KpiRow(date(2026, 11, 9), "riley@acme.com", "closed_won", 7000)])
    got = [r for r in rows if r.kpi == "attainment"]
    assert [r.value for r in got] == [50.0]  # 7000 of November's 14000-a-week share


def test_a_period_figure_must_name_its_period() -> None:
    with pytest.raises(ValidationError, match="per"):
        make_policy(
            {
                "team": [
                    {
                        "name": "Riley Rep",
                        "email": "riley@acme.com",
                        "figures": {"quota": {"amount": 60000, "per": "fortnight"}},
                    }
                ]
            }
        )
