"""The salesforce KPI source: real simple-salesforce (and PyJWT) against a loopback fake."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from integrations.config_file import load_policy
from integrations.errors import ConfigError, RemoteError, TransientError, UserError
from integrations.google.retry import Backoff
from integrations.google.sync import MemoryKV
from integrations.kpi.read import Configured, read_all
from integrations.kpi.salesforce import SalesforceKpiSource
from planner.kpi_sources import SalesforceSource
from tests.integrations.kpi.fake_salesforce import FakeSalesforce, quote, soql_literal
from tests.loopback import make_cert

TZ = ZoneInfo("America/Chicago")
WEEK = date(2026, 11, 23)
CLOSED_WON = (
    "SELECT SUM(Amount) total FROM Opportunity WHERE IsWon = true AND "
    "CloseDate >= {week_start} AND CloseDate <= {week_end} AND Owner.Email = {rep_email}"
)
CALLS = (
    "SELECT Id, CallDurationInSeconds FROM Task WHERE ActivityDate >= {week_start} AND "
    "ActivityDate <= {week_end} AND Owner.Email = {rep_email}"
)
NO_WAIT = Backoff(sleep=lambda s: None, rand=lambda: 0.0, max_attempts=3)
HOSTILE = "eve'+OR+Name!='x'--@example.com"


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path = tmp_path / "sf.key"
    path.write_bytes(pem)
    path.chmod(0o600)
    pub = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return path, pub.decode()


@pytest.fixture
def fake(tmp_path: Path, keys: tuple[Path, str]) -> Iterator[FakeSalesforce]:
    cert = make_cert(tmp_path)
    with FakeSalesforce(cert=cert, public_key=keys[1]) as f:
        f.users = {"alex@example.com", HOSTILE}
        yield f


def source(fake: FakeSalesforce, **over: Any) -> SalesforceSource:
    data: dict[str, Any] = {
        "type": "salesforce",
        "login_url": fake.url,
        "consumer_key": fake.consumer_key,
        "username": fake.username,
        "private_key_file": "sf.key",
        "queries": {"closed_won": CLOSED_WON},
    }
    data.update(over)
    return SalesforceSource.model_validate(data)


def reader(
    fake: FakeSalesforce, tmp_path: Path, reps: list[str], **over: Any
) -> SalesforceKpiSource:
    session = requests.Session()
    session.verify = str(fake.cert[0])  # trust the loopback fake's own certificate
    session.trust_env = False  # a CA bundle from the environment would override it
    env = over.pop("env", {})
    return SalesforceKpiSource(
        source(fake, **over),
        "crm",
        base_dir=tmp_path,
        reps=reps,
        backoff=NO_WAIT,
        session=session,
        env=env,
    )


def expected(template: str, rep: str, week: date) -> str:
    return (
        template.replace("{week_start}", week.isoformat())
        .replace("{week_end}", (week + timedelta(days=6)).isoformat())
        .replace("{rep_email}", quote(rep))
    )


def sums(values: dict[tuple[str, str], Any]) -> Any:
    """An answer(soql) giving SUM(Amount) per (rep, week start) found in the SOQL."""

    def answer(soql: str) -> dict[str, Any]:
        rep = soql_literal(soql.split("Owner.Email = ", 1)[1])
        week = re.search(r"CloseDate >= (\d{4}-\d\d-\d\d)", soql)
        assert week is not None
        v = values.get((rep, week.group(1)))
        return {"records": [{"attributes": {"type": "AggregateResult"}, "total": v}]}

    return answer


def test_jwt_grant_signed_and_query_bound(fake: FakeSalesforce, tmp_path: Path) -> None:
    fake.answer = sums({("alex@example.com", "2026-11-23"): 41000.0})
    got = reader(fake, tmp_path, ["alex@example.com"]).read_weeks([WEEK], TZ)
    assert [(r.week, r.rep, r.kpi, r.value) for r in got.rows] == [
        (WEEK, "alex@example.com", "closed_won", 41000.0)
    ]
    assert fake.grants[0]["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert fake.soql[-1] == expected(CLOSED_WON, "alex@example.com", WEEK)
    assert fake.violations == [] and got.warnings == []


def test_an_injection_attempt_in_a_reps_email_stays_one_literal(
    fake: FakeSalesforce, tmp_path: Path
) -> None:
    fake.answer = sums({(HOSTILE, "2026-11-23"): 5.0})
    got = reader(fake, tmp_path, [HOSTILE]).read_weeks([WEEK], TZ)
    sent = fake.soql[-1]
    assert sent == expected(CLOSED_WON, HOSTILE, WEEK)
    assert soql_literal(sent.split("Owner.Email = ", 1)[1]) == HOSTILE
    assert sent.endswith(quote(HOSTILE))  # nothing after the literal: the query's shape holds
    assert [r.value for r in got.rows] == [5.0]
    assert fake.violations == []


def test_a_rep_with_no_crm_user_gets_a_warning_and_no_figures(
    fake: FakeSalesforce, tmp_path: Path
) -> None:
    fake.answer = sums({("alex@example.com", "2026-11-23"): 1.0})
    got = reader(fake, tmp_path, ["alex@example.com", "bo@example.com"]).read_weeks([WEEK], TZ)
    assert [r.rep for r in got.rows] == ["alex@example.com"]
    assert any("bo@example.com: no active Salesforce user" in w for w in got.warnings)
    assert not any("bo@example.com" in q for q in fake.soql if "Opportunity" in q)


def test_pages_are_followed_and_summed(fake: FakeSalesforce, tmp_path: Path) -> None:
    fake.page_size = 2

    def answer(soql: str) -> dict[str, Any]:
        extra = {"Id": "00T"} if soql.startswith("SELECT Id,") else {}
        return {
            "records": [
                {"attributes": {"type": "Task"}, **extra, "CallDurationInSeconds": n}
                for n in range(5)
            ]
        }

    fake.answer = answer
    got = reader(fake, tmp_path, ["alex@example.com"], queries={"calls": CALLS}).read_weeks(
        [WEEK], TZ
    )
    # two fields selected: refused, named
    assert got.rows == [] and "must select exactly one" in got.warnings[0]
    one = CALLS.replace("SELECT Id, CallDurationInSeconds", "SELECT CallDurationInSeconds")
    got = reader(fake, tmp_path, ["alex@example.com"], queries={"calls": one}).read_weeks(
        [WEEK], TZ
    )
    assert [r.value for r in got.rows] == [10.0]
    assert sum("/query/01g" in p for p in fake.paths) >= 2  # queryMore via nextRecordsUrl


def test_count_null_and_malformed_values(fake: FakeSalesforce, tmp_path: Path) -> None:
    answers = iter(
        [
            {"raw": {"totalSize": 7, "done": True, "records": []}},  # SELECT COUNT()
            {"records": [{"attributes": {}, "total": None}]},  # SUM over no rows
            {"records": [{"attributes": {}, "total": "12abc"}]},
            {"raw": {"totalSize": 1, "done": True}},  # no records list
        ]
    )
    fake.answer = lambda soql: next(answers)
    weeks = [WEEK - timedelta(weeks=i) for i in range(3, -1, -1)]
    got = reader(fake, tmp_path, ["alex@example.com"]).read_weeks(weeks, TZ)
    assert [(r.week, r.value) for r in got.rows] == [(weeks[0], 7.0), (weeks[1], 0.0)]
    assert "value '12abc' is not a number" in got.warnings[0]
    assert str(weeks[2]) in got.warnings[0] and "malformed answer" in got.warnings[1]


@pytest.mark.parametrize("status", [401, 403, 404])
def test_permanent_errors_are_not_retried(
    fake: FakeSalesforce, tmp_path: Path, status: int
) -> None:
    fake.fail(status, times=1, path="/query/")
    with pytest.raises(RemoteError, match=f"HTTP {status}"):
        reader(fake, tmp_path, ["alex@example.com"]).read_weeks([WEEK], TZ)
    assert sum("/query/" in p for p in fake.paths) == 1


def test_429_and_5xx_are_retried_then_given_up(fake: FakeSalesforce, tmp_path: Path) -> None:
    fake.answer = sums({("alex@example.com", "2026-11-23"): 3.0})
    fake.fail(429, times=1, path="/query/")
    fake.fail(503, times=1, path="/query/")
    got = reader(fake, tmp_path, ["alex@example.com"]).read_weeks([WEEK], TZ)
    assert [r.value for r in got.rows] == [3.0]
    fake.fail(500, times=3, path="/query/")
    with pytest.raises(TransientError, match="gave up after 3 attempts"):
        reader(fake, tmp_path, ["alex@example.com"]).read_weeks([WEEK], TZ)


def test_a_key_file_others_can_read_is_refused(
    fake: FakeSalesforce, tmp_path: Path, keys: tuple[Path, str]
) -> None:
    keys[0].chmod(0o644)
    with pytest.raises(UserError, match=r"mode 0644.*chmod 600"):
        reader(fake, tmp_path, ["alex@example.com"]).read_weeks([WEEK], TZ)
    assert fake.grants == []


def test_a_wrong_key_is_refused_by_the_token_endpoint(
    fake: FakeSalesforce, tmp_path: Path, keys: tuple[Path, str]
) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    keys[0].write_bytes(
        other.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(UserError, match="invalid_grant: bad assertion: Signature"):
        reader(fake, tmp_path, ["alex@example.com"]).read_weeks([WEEK], TZ)


def test_username_password_flow_reads_secrets_from_the_environment(
    fake: FakeSalesforce, tmp_path: Path
) -> None:
    fake.answer = sums({("alex@example.com", "2026-11-23"): 2.0})
    over: dict[str, Any] = {
        "auth": "password",
        "private_key_file": None,
        "consumer_secret_env": "SF_SECRET",
        "password_env": "SF_PASSWORD",
    }
    with pytest.raises(UserError, match="SF_SECRET is not set"):
        reader(fake, tmp_path, ["alex@example.com"], **over).read_weeks([WEEK], TZ)
    env = {"SF_SECRET": fake.secret, "SF_PASSWORD": fake.password}
    got = reader(fake, tmp_path, ["alex@example.com"], env=env, **over).read_weeks([WEEK], TZ)
    assert [r.value for r in got.rows] == [2.0]
    assert fake.grants[-1]["grant_type"] == "password"


def test_a_report_is_run_with_the_weeks_date_filter(fake: FakeSalesforce, tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []

    def report(rid: str, body: dict[str, Any]) -> dict[str, Any]:
        seen.append(body)
        return {
            "groupingsDown": {
                "groupings": [
                    {"key": "0", "value": "ALEX@example.com", "label": "Alex"},
                    {"key": "1", "value": "nobody@example.com"},
                    {"key": "2", "value": "bo@example.com"},
                ]
            },
            "factMap": {
                "0!T": {"aggregates": [{"value": 12}]},
                "1!T": {"aggregates": [{"value": 1}]},
                "2!T": {"aggregates": [{"value": "n/a"}]},
            },
        }

    fake.report = report
    fake.users.add("bo@example.com")
    got = reader(
        fake,
        tmp_path,
        ["alex@example.com", "bo@example.com"],
        queries={},
        reports={"meetings": "00O5e000001AbCdEAF"},
    ).read_weeks([WEEK], TZ)
    assert [(r.rep, r.kpi, r.value) for r in got.rows] == [("alex@example.com", "meetings", 12.0)]
    assert seen[0]["reportMetadata"]["standardDateFilter"] == {
        "column": "CLOSE_DATE",
        "durationValue": "CUSTOM",
        "startDate": "2026-11-23",
        "endDate": "2026-11-29",
    }
    assert "POST /services/data/v59.0/analytics/reports/00O5e000001AbCdEAF" in fake.paths
    assert any("'bo@example.com': skipped" in w for w in got.warnings)


def test_closed_weeks_are_read_once_the_current_week_every_refresh(
    fake: FakeSalesforce, tmp_path: Path
) -> None:
    fake.answer = sums({})
    r = reader(fake, tmp_path, ["alex@example.com"])
    cfg = source(fake, weeks=3)
    src = Configured("crm", cfg, lambda: r, TZ)
    kv = MemoryKV()
    now = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)  # a Wednesday; weeks of 16, 23 and 30 Nov
    read_all([src], kv, now)
    weeks = lambda: [m.group(1) for q in fake.soql if (m := re.search(r">= (\S+)", q))]  # noqa: E731
    assert sorted(weeks()) == ["2026-11-16", "2026-11-23", "2026-11-30"]
    fake.soql.clear()
    read_all([src], kv, now + timedelta(minutes=59))
    assert weeks() == []  # within refresh: nothing queried
    read_all([src], kv, now + timedelta(hours=2))
    assert weeks() == ["2026-11-30"]  # only the current week
    fake.soql.clear()
    monday = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)  # Mon 1 am in Chicago: 30 Nov closed
    read_all([src], kv, monday)
    assert sorted(weeks()) == ["2026-11-30", "2026-12-07"]  # last week once more, final
    fake.soql.clear()
    merged = read_all([src], kv, monday + timedelta(hours=3))
    assert weeks() == ["2026-12-07"]
    assert merged.statuses[0].stale is False
    fake.fail(503, times=10)
    merged = read_all([src], kv, monday + timedelta(hours=5))
    assert merged.statuses[0].stale and "HTTP 503" in merged.statuses[0].problem
    assert merged.statuses[0].as_of == monday + timedelta(hours=3)


BASE = """\
manager:
  name: Dana Reyes
  email: dana@example.com
  timezone: America/Chicago
team:
  - name: Alex Kim
    email: alex@example.com
kpis:
  - {id: closed_won, name: Closed won, minimum: 10000, goal: 20000}
kpi_source:
  - type: salesforce
    consumer_key: 3MVG9abc
    username: coachd@acme.example
    private_key_file: sf.key
    queries:
"""


def config_errors(tmp_path: Path, queries: str) -> list[str]:
    p = tmp_path / "config.yaml"
    p.write_text(BASE + textwrap.indent(queries, "      "), encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_policy(p, environ={})
    return [e.split("config.yaml", 1)[1] for e in exc.value.errors]


def test_config_accepts_a_salesforce_source(tmp_path: Path) -> None:
    p = tmp_path / "config.yaml"
    p.write_text(BASE + f'      closed_won: "{CLOSED_WON}"\n', encoding="utf-8")
    src = load_policy(p, environ={}).policy.kpi_source[0]
    assert isinstance(src, SalesforceSource) and src.weeks == 8 and src.auth == "jwt"


def test_config_refuses_unsafe_placeholders(tmp_path: Path) -> None:
    quoted = "closed_won: \"SELECT COUNT() FROM Task WHERE Owner.Email = '{rep_email}'\"\n"
    assert config_errors(tmp_path, quoted) == [
        ":16: kpi_source[0].queries.closed_won: placeholder {rep_email} must not be quoted: "
        "coachd quotes and escapes the value"
    ]
    literal = 'closed_won: "SELECT COUNT() FROM Task WHERE Owner.Email = {rep_email:literal}"\n'
    assert "takes no format spec" in config_errors(tmp_path, literal)[0]
    unknown = 'closed_won: "SELECT COUNT() FROM Task WHERE Subject = {subject}"\n'
    assert "unknown placeholder {subject}" in config_errors(tmp_path, unknown)[0]
    typo = f'closed_wno: "{CLOSED_WON}"\n'
    assert config_errors(tmp_path, typo) == [
        ":16: kpi_source[0].queries.closed_wno: no KPI with id 'closed_wno' "
        "(did you mean 'closed_won'?)"
    ]


def test_coachd_kpis_reads_salesforce_end_to_end(
    fake: FakeSalesforce,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The whole wiring: config → open_sources → weekly read → derived → `coachd kpis`,
    with a monthly quota (November: 60000 a month is 14000 a week)."""
    from daemon import main

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(fake.cert[0]))  # trust the fake, as deployed
    fake.answer = sums({("alex@example.com", "2026-11-23"): 41000.0})
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        textwrap.dedent(
            f"""\
            manager: {{name: Dana Reyes, email: dana@example.com, timezone: America/Chicago}}
            team:
              - name: Alex Kim
                email: alex@example.com
                figures: {{quota: {{amount: 60000, per: month}}}}
              - {{name: Bo Li, email: bo@example.com}}
            kpis:
              - {{id: closed_won, name: Closed won, minimum: 10000, goal: 20000}}
              - id: attainment
                name: Quota attainment
                minimum: 80
                goal: 100
                derived: {{numerator: closed_won, denominator: quota, scale: 100}}
            kpi_source:
              - type: salesforce
                name: crm
                login_url: {fake.url}
                consumer_key: {fake.consumer_key}
                username: {fake.username}
                private_key_file: sf.key
                weeks: 2
                queries:
                  closed_won: "{CLOSED_WON}"
            """
        ),
        encoding="utf-8",
    )
    at = "2026-12-02T18:00:00+00:00"
    assert main(["kpis", "--json", "--config", str(cfg), "--at", at]) == 0
    report = json_out(capsys)
    assert report["sources"][0]["name"] == "crm" and not report["sources"][0]["stale"]
    got = {(f["rep"], f["kpi"]): (f["value"], f["status"], f["source"]) for f in report["figures"]}
    assert got[("alex@example.com", "closed_won")] == (41000.0, "meets", "crm")
    value, status, src = got[("alex@example.com", "attainment")]
    assert (round(value, 3), status, src) == (292.857, "meets", "derived(crm)")
    assert got[("bo@example.com", "closed_won")] == (None, "none", None)
    assert any("bo@example.com: no active Salesforce user" in w for w in report["warnings"])
    assert fake.violations == []


def json_out(capsys: pytest.CaptureFixture[str]) -> Any:
    import json

    return json.loads(capsys.readouterr().out)
