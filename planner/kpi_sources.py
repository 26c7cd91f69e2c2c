"""Where weekly KPI figures come from: `kpi_source`, a list of sources in precedence order.

The first source in the list that has a figure for a (week, rep, kpi) wins; a source with
`kpis:` feeds only those KPIs. A single mapping (the old `kpi_source: {path: kpis.csv}`)
is still accepted and means a one-source list. `max_age` (optional) is how old a source's
last good read may be before it counts as stale; `refresh` is how often a remote source is
re-read (a CSV file is re-read every tick). A CRM source (salesforce, hubspot) is read week by
week for the last `weeks` weeks: a closed week once after it closed, the current week at most
every `refresh`.
"""

from __future__ import annotations

import string
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    model_validator,
)

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


SOQL_PARAMS = ("week_start", "week_end", "rep_email")


def _soql_template(q: str) -> str:
    """A SOQL query whose only placeholders are {week_start}, {week_end} and {rep_email},
    bare (no format spec, no quotes around them): coachd fills them with quoted, escaped
    literals, so a value can never change the query's shape."""
    try:
        parts = list(string.Formatter().parse(q))
    except ValueError as e:
        raise ValueError(f"bad placeholder ({e}); write a literal brace as {{{{ or }}}}") from e
    for before, name, spec, conv in parts:
        if name is None:
            continue
        if name not in SOQL_PARAMS:
            raise ValueError(
                f"unknown placeholder {{{name}}}; use "
                + ", ".join("{" + p + "}" for p in SOQL_PARAMS)
            )
        if spec or conv:
            raise ValueError(f"placeholder {{{name}}} takes no format spec or conversion")
        if before.rstrip().endswith(("'", '"')):
            raise ValueError(
                f"placeholder {{{name}}} must not be quoted: coachd quotes and escapes the value"
            )
    if not q.lstrip().upper().startswith("SELECT "):
        raise ValueError("must be a SOQL SELECT query")
    return q


SoqlTemplate = Annotated[str, Field(min_length=1, max_length=4000), AfterValidator(_soql_template)]
EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=100)]
HttpsUrl = Annotated[str, Field(pattern=r"^https://[^\s/?#]+/?$", max_length=200)]


class _CrmSource(_Source):
    weeks: int = Field(default=8, ge=1, le=104)  # how many weeks back (this one included)


class SalesforceSource(_CrmSource):
    """Salesforce: per KPI a SOQL query (`queries`) or a report (`reports`, id of a summary
    report grouped by the owner's email). Auth: `jwt` (OAuth JWT bearer flow: connected app
    `consumer_key`, integration `username`, `private_key_file` mode 0600) or `password`
    (OAuth username-password flow; secrets from the environment variables named)."""

    type: Literal["salesforce"]
    login_url: HttpsUrl = "https://login.salesforce.com"
    auth: Literal["jwt", "password"] = "jwt"
    consumer_key: str = Field(min_length=1, max_length=300)
    username: str = Field(min_length=3, max_length=200)
    private_key_file: str | None = Field(default=None, min_length=1)
    consumer_secret_env: EnvName | None = None
    password_env: EnvName | None = None
    api_version: str = Field(default="59.0", pattern=r"^[0-9]{2,3}\.0$")
    queries: dict[KpiId, SoqlTemplate] = Field(default_factory=dict)
    reports: dict[KpiId, Annotated[str, Field(pattern=r"^[A-Za-z0-9]{15,18}$")]] = Field(
        default_factory=dict
    )
    report_date_column: str = Field(default="CLOSE_DATE", pattern=r"^[A-Za-z0-9_.]+$")

    @model_validator(mode="after")
    def _check(self) -> SalesforceSource:
        if self.auth == "jwt" and not self.private_key_file:
            raise ValueError(
                "auth: jwt needs private_key_file (the connected app's key, mode 0600)"
            )
        if self.auth == "password" and not (self.consumer_secret_env and self.password_env):
            raise ValueError(
                "auth: password needs consumer_secret_env and password_env (names of "
                "environment variables holding the secret and password+security token)"
            )
        if not self.queries and not self.reports:
            raise ValueError("needs queries or reports (a SOQL query or report id per KPI)")
        both = sorted(set(self.queries) & set(self.reports))
        if both:
            raise ValueError(f"KPI {both[0]!r} has both a query and a report; keep one")
        return self


class HubSpotSearch(BaseModel):
    """One KPI as a CRM v3 search: objects of `object` owned by the rep whose `date_property`
    falls in the week, matching `where` (property: value, equality); the figure is how many
    there are, or the sum of `sum` over them."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    object: Literal["deals", "calls", "meetings", "emails", "tasks", "contacts"]
    date_property: str = Field(pattern=r"^[a-z0-9_]+$", max_length=100)
    where: dict[Annotated[str, Field(pattern=r"^[a-z0-9_]+$")], str] = Field(
        default_factory=dict, max_length=5
    )
    sum: str | None = Field(default=None, pattern=r"^[a-z0-9_]+$", max_length=100)


class HubSpotSource(_CrmSource):
    """HubSpot: per KPI a CRM v3 search by owner (looked up by the rep's email) and week,
    with a private-app token read from the environment variable `token_env`."""

    type: Literal["hubspot"]
    token_env: EnvName = "HUBSPOT_TOKEN"
    host: HttpsUrl = "https://api.hubapi.com"
    searches: dict[KpiId, HubSpotSearch] = Field(min_length=1)


AnySource = CsvSource | SheetsSource | SalesforceSource | HubSpotSource
KpiSource = Annotated[AnySource, Field(discriminator="type")]


def _as_list(v: Any) -> Any:
    """A single mapping is a one-source list; a source without `type` is a CSV."""
    items = [v] if isinstance(v, dict) else v
    if isinstance(items, list):
        return [
            dict(i, type="csv") if isinstance(i, dict) and "type" not in i else i for i in items
        ]
    return items


KpiSources = Annotated[list[KpiSource], BeforeValidator(_as_list), Field(min_length=1)]


class PeriodFigure(BaseModel):
    """A per-rep constant for a longer period (`team[].figures`, e.g. a monthly quota):
    `{amount: 100000, per: month}`. Derived KPIs, which are weekly, use the week's share:
    each day of the week counts amount / (days in its month, quarter or year)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    amount: float = Field(ge=0, allow_inf_nan=False)
    per: Literal["week", "month", "quarter", "year"]


def source_names(sources: list[AnySource]) -> list[str]:
    """The name each source goes by in summaries and `coachd kpis`: its `name`, else its
    type, numbered by position (`csv2`) when that type appears more than once."""
    types = [s.type for s in sources]
    return [
        s.name or (s.type if types.count(s.type) == 1 else f"{s.type}{i + 1}")
        for i, s in enumerate(sources)
    ]


def feeds(src: AnySource, kpi_id: str) -> bool:
    """Whether a source feeds a KPI (a source without `kpis:` feeds them all; a CRM source
    only those it has a query, report or search for)."""
    if src.kpis and kpi_id not in src.kpis:
        return False
    if isinstance(src, SalesforceSource):
        return kpi_id in src.queries or kpi_id in src.reports
    if isinstance(src, HubSpotSource):
        return kpi_id in src.searches
    return True


def crm_kpis(src: AnySource) -> list[str]:
    """The KPI ids a CRM source has a query, report or search for (empty for a file/sheet)."""
    if isinstance(src, SalesforceSource):
        return [*src.queries, *src.reports]
    if isinstance(src, HubSpotSource):
        return list(src.searches)
    return []
