"""The hubspot KPI source: the official hubspot-api-client against a loopback fake."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from integrations.errors import RemoteError, TransientError, UserError
from integrations.google.retry import Backoff
from integrations.kpi.hubspot import HubSpotKpiSource
from planner.kpi_sources import HubSpotSource
from tests.integrations.kpi.fake_hubspot import TOKEN, FakeHubSpot
from tests.loopback import make_cert

TZ = ZoneInfo("America/Chicago")
WEEK = date(2026, 11, 23)
MONDAY = datetime(2026, 11, 23, tzinfo=TZ)
NO_WAIT = Backoff(sleep=lambda s: None, rand=lambda: 0.0, max_attempts=3)


def ms(at: datetime) -> str:
    return str(int(at.timestamp() * 1000))


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeHubSpot]:
    with FakeHubSpot(cert=make_cert(tmp_path)) as f:
        f.owners = {"alex@example.com": "101", "bo@example.com": "102"}
        yield f
        assert f.violations == []


SEARCHES = {
    "closed_won": {
        "object": "deals",
        "date_property": "closedate",
        "where": {"dealstage": "closedwon"},
        "sum": "amount",
    },
    "calls": {"object": "calls", "date_property": "hs_timestamp"},
}


def reader(fake: FakeHubSpot, reps: list[str], **over: Any) -> HubSpotKpiSource:
    cfg = HubSpotSource.model_validate(
        {"type": "hubspot", "host": fake.url, "token_env": "HS_TOKEN", "searches": SEARCHES} | over
    )
    env = {"HS_TOKEN": TOKEN}
    return HubSpotKpiSource(
        cfg, "hubspot", reps=reps, backoff=NO_WAIT, env=env, ca_cert=str(fake.cert[0])
    )


def deal(owner: str, at: datetime, amount: str, stage: str = "closedwon") -> dict[str, str]:
    return {"hubspot_owner_id": owner, "closedate": ms(at), "amount": amount, "dealstage": stage}


def test_sums_deals_over_pages_and_counts_calls_by_owner_and_week(fake: FakeHubSpot) -> None:
    fake.objects["deals"] = [
        *(deal("101", MONDAY + timedelta(hours=i), "100") for i in range(150)),
        deal("101", MONDAY - timedelta(milliseconds=1), "9999"),  # Sunday before: other week
        deal("101", MONDAY + timedelta(days=7), "9999"),  # next Monday 00:00: other week
        deal("101", MONDAY + timedelta(days=1), "9999", stage="closedlost"),
        deal("102", MONDAY + timedelta(days=1), "500"),
        deal("102", MONDAY + timedelta(days=1), ""),  # no amount: counts 0
    ]
    fake.objects["calls"] = [
        {"hubspot_owner_id": "101", "hs_timestamp": ms(MONDAY + timedelta(days=d))}
        for d in (0, 2, 6, 8)
    ]
    got = reader(fake, ["alex@example.com", "bo@example.com"]).read_weeks([WEEK], TZ)
    assert sorted((r.rep, r.kpi, r.value) for r in got.rows) == [
        ("alex@example.com", "calls", 3.0),
        ("alex@example.com", "closed_won", 15000.0),
        ("bo@example.com", "calls", 0.0),
        ("bo@example.com", "closed_won", 500.0),
    ]
    first = fake.bodies[0]
    assert first["filterGroups"][0]["filters"][:2] == [
        {"propertyName": "hubspot_owner_id", "operator": "EQ", "value": "101"},
        {
            "propertyName": "closedate",
            "operator": "BETWEEN",
            "value": ms(MONDAY),
            "highValue": str(int(ms(MONDAY + timedelta(days=7))) - 1),
        },
    ]
    assert first["properties"] == ["amount"] and first["limit"] == 100
    assert "after" not in first and fake.bodies[1]["after"] == "100"  # followed paging.next
    assert "POST /crm/v3/objects/calls/search" in fake.paths


def test_a_rep_with_no_owner_gets_a_warning_and_no_figures(fake: FakeHubSpot) -> None:
    got = reader(fake, ["alex@example.com", "cy@example.com"]).read_weeks([WEEK], TZ)
    assert {r.rep for r in got.rows} == {"alex@example.com"}
    assert got.warnings == [
        "hubspot hubspot: rep cy@example.com: no HubSpot owner with that email; "
        "no figures from this source"
    ]


def test_a_malformed_amount_is_skipped_with_a_warning(fake: FakeHubSpot) -> None:
    fake.objects["deals"] = [deal("101", MONDAY, "12,5 EUR")]
    got = reader(fake, ["alex@example.com"]).read_weeks([WEEK], TZ)
    assert [(r.kpi, r.value) for r in got.rows] == [("calls", 0.0)]
    assert "2026-11-23 alex@example.com closed_won: skipped: amount '12,5 EUR'" in got.warnings[0]


@pytest.mark.parametrize("status", [401, 403])
def test_refusals_are_not_retried(fake: FakeHubSpot, status: int) -> None:
    fake.fail(status)
    with pytest.raises(RemoteError, match=f"hubspot owners: HTTP {status}"):
        reader(fake, ["alex@example.com"]).read_weeks([WEEK], TZ)
    assert len(fake.paths) == 1


def test_429_and_5xx_are_retried_then_given_up(fake: FakeHubSpot) -> None:
    fake.fail(429)
    fake.fail(502)
    got = reader(fake, ["alex@example.com"]).read_weeks([WEEK], TZ)
    assert len(got.rows) == 2 and fake.paths[:3] == ["GET /crm/v3/owners/"] * 3
    fake.fail(503, times=3)
    with pytest.raises(TransientError, match=r"HTTP 503.*gave up after 3 attempts"):
        reader(fake, ["alex@example.com"]).read_weeks([WEEK], TZ)


def test_a_wrong_or_missing_token(fake: FakeHubSpot) -> None:
    r = reader(fake, ["alex@example.com"])
    r.env = {}
    with pytest.raises(UserError, match="HS_TOKEN"):
        r.read_weeks([WEEK], TZ)
    assert fake.paths == []
    r.env = {"HS_TOKEN": "pat-na1-wrong"}
    with pytest.raises(RemoteError, match="HTTP 401"):
        r.read_weeks([WEEK], TZ)


def test_a_hostile_email_stays_one_query_value(fake: FakeHubSpot) -> None:
    hostile = "eve@example.com&email=alex@example.com"
    got = reader(fake, [hostile]).read_weeks([WEEK], TZ)
    assert got.rows == []  # not Alex's figures
    assert "no HubSpot owner" in got.warnings[0]


def test_config_errors_name_the_line_and_key(tmp_path: Path) -> None:
    import textwrap

    from integrations.config_file import load_policy
    from integrations.errors import ConfigError

    p = tmp_path / "config.yaml"
    p.write_text(
        textwrap.dedent(
            """\
            manager: {name: Dana Reyes, email: dana@example.com, timezone: America/Chicago}
            team:
              - {name: Alex Kim, email: alex@example.com}
            kpis:
              - {id: calls, name: Calls, minimum: 50, goal: 75}
            kpi_source:
              - type: hubspot
                searches:
                  calls:
                    object: dealz
                    date_property: hs_timestamp
            """
        ),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as exc:
        load_policy(p, environ={})
    (err,) = exc.value.errors
    assert err.split("config.yaml", 1)[1] == (
        ":10: kpi_source[0].searches.calls.object: must be 'deals', 'calls', 'meetings', "
        "'emails', 'tasks' or 'contacts' (got 'dealz')"
    )
    p.write_text(p.read_text(encoding="utf-8").replace("dealz", "calls"), encoding="utf-8")
    src = load_policy(p, environ={}).policy.kpi_source[0]
    assert isinstance(src, HubSpotSource) and src.token_env == "HUBSPOT_TOKEN"
