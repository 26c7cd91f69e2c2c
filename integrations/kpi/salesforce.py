"""KPI source: Salesforce, through simple-salesforce's REST client.

Per KPI either a SOQL query or a report. A query's `{week_start}`, `{week_end}` (the week's
Monday and Sunday, date literals) and `{rep_email}` are filled by simple-salesforce's
`format_soql`, which quotes and escapes each value as a SOQL literal: a value can never
change the query (the schema refuses any other placeholder, a format spec, or a quoted
placeholder). The figure is the sum of the one selected field over every record, pages
followed through `nextRecordsUrl`; a null aggregate (no matching rows) is 0; `SELECT
COUNT()` gives `totalSize`. A report (a summary report grouped by the owner's email) is run
once per week with its standard date filter set to the week; each rep's figure is the first
aggregate of their grouping.

Before any figure, each rep is looked up as an active User by email; a rep with none gets a
warning and no figures (not zeros). A value that is not a number is skipped with a warning
naming the source, week, rep and KPI. HTTP errors go through the one retry policy
(integrations.google.retry): 429/5xx retried with backoff, 401/403/404 not.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta, tzinfo
from pathlib import Path
from typing import Any

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError
from simple_salesforce.format import format_soql

from integrations.errors import RemoteError
from integrations.google import retry
from integrations.google.retry import Backoff, HttpStatusError
from integrations.kpi.salesforce_auth import fetch_token
from integrations.kpi_csv import KpiRead
from planner.kpi_sources import SalesforceSource
from planner.model import KpiRow

log = logging.getLogger(__name__)

USER_QUERY = "SELECT Id FROM User WHERE Email = {rep_email} AND IsActive = true LIMIT 1"
MAX_PAGES = 200  # a runaway nextRecordsUrl chain stops here with a warning


class SalesforceKpiSource:
    """Reads the configured queries and reports for the weeks asked (see the module doc)."""

    def __init__(
        self,
        cfg: SalesforceSource,
        name: str,
        *,
        base_dir: Path,
        reps: Sequence[str],
        backoff: Backoff | None = None,
        session: requests.Session | None = None,
        env: Mapping[str, str] = os.environ,
        timeout: float = 30.0,
        wall: Callable[[], float] | None = None,
    ) -> None:
        self.cfg = cfg
        self.name = name
        self.base_dir = base_dir
        self.reps = list(reps)
        self.backoff = backoff or Backoff()
        self.session = session or requests.Session()
        self.env = env
        self.timeout = timeout
        self.wall = wall

    def read_weeks(self, weeks: Sequence[date], tz: tzinfo) -> KpiRead:
        """Every rep's figures for `weeks` (Mondays). Raises UserError/RemoteError/
        TransientError when Salesforce cannot be read at all."""
        kw: dict[str, Any] = {} if self.wall is None else {"wall": self.wall}
        token = fetch_token(
            self.cfg,
            self.session,
            self.base_dir,
            env=self.env,
            backoff=self.backoff,
            timeout=self.timeout,
            **kw,
        )
        sf = Salesforce(
            instance_url=token.instance_url,
            session_id=token.access_token,
            session=self.session,
            version=self.cfg.api_version,
        )
        out = KpiRead(rows=[])
        reps = [r for r in self.reps if self._has_user(sf, r, out)]
        for week in weeks:
            params = {"week_start": week, "week_end": week + timedelta(days=6)}
            for rep in reps:
                for kpi, template in self.cfg.queries.items():
                    soql = format_soql(template, rep_email=rep, **params)
                    value = self._query_value(sf, soql, f"{week} {rep} {kpi}", out)
                    if value is not None:
                        out.rows.append(KpiRow(week, rep, kpi, value))
            for kpi, report_id in self.cfg.reports.items():
                found = self._report(sf, report_id, week, f"{week} {kpi}", out)
                for rep in reps:
                    if rep.lower() in found:
                        out.rows.append(KpiRow(week, rep, kpi, found[rep.lower()]))
        return out

    def _call(self, fn: Callable[[], Any], what: str) -> Any:
        def attempt() -> Any:
            try:
                return fn()
            except SalesforceError as e:
                raise HttpStatusError(e.status, _sf_message(e.content)) from e
            except requests.exceptions.JSONDecodeError as e:
                raise RemoteError(f"salesforce {what}: the answer is not JSON") from e

        return retry.call(attempt, f"salesforce {what}", self.backoff)

    def _has_user(self, sf: Salesforce, rep: str, out: KpiRead) -> bool:
        soql = format_soql(USER_QUERY, rep_email=rep)
        got = self._call(lambda: sf.query(soql, timeout=self.timeout), "query User")
        if isinstance(got, dict) and got.get("totalSize", 0) and got.get("records"):
            return True
        out.warnings.append(
            f"salesforce {self.name}: rep {rep}: no active Salesforce user with that email; "
            "no figures from this source"
        )
        return False

    def _query_value(self, sf: Salesforce, soql: str, where: str, out: KpiRead) -> float | None:
        """The figure of one query (summed over all pages), or None with a warning."""
        page = self._call(lambda: sf.query(soql, timeout=self.timeout), "query")
        total = 0.0
        pages = 0
        while True:
            if not isinstance(page, dict) or not isinstance(page.get("records"), list):
                out.warnings.append(f"salesforce {self.name}: {where}: skipped: malformed answer")
                return None
            records = page["records"]
            if not records and pages == 0 and page.get("done", True):
                size = page.get("totalSize", 0)
                return float(size) if isinstance(size, int) and size >= 0 else 0.0
            for rec in records:
                fields = (
                    {k: v for k, v in rec.items() if k != "attributes"}
                    if isinstance(rec, dict)
                    else {}
                )
                if len(fields) != 1:
                    out.warnings.append(
                        f"salesforce {self.name}: {where}: skipped: a record has "
                        f"{len(fields)} fields; the query must select exactly one"
                    )
                    return None
                (value,) = fields.values()
                number = _number(value)
                if number is None:
                    out.warnings.append(
                        f"salesforce {self.name}: {where}: skipped: value "
                        f"{str(value)[:40]!r} is not a number"
                    )
                    return None
                total += number
            pages += 1
            nxt = page.get("nextRecordsUrl")
            if page.get("done", True) or not isinstance(nxt, str):
                return total
            if pages >= MAX_PAGES or not nxt.startswith("/services/data/"):
                out.warnings.append(
                    f"salesforce {self.name}: {where}: skipped: bad or endless pagination"
                )
                return None
            page = self._call(
                lambda n=nxt: sf.query_more(n, identifier_is_url=True, timeout=self.timeout),  # type: ignore[misc]
                "queryMore",
            )

    def _report(
        self, sf: Salesforce, report_id: str, week: date, where: str, out: KpiRead
    ) -> dict[str, float]:
        """{owner email (lower case): figure} from one run of a summary report."""
        body = {
            "reportMetadata": {
                "standardDateFilter": {
                    "column": self.cfg.report_date_column,
                    "durationValue": "CUSTOM",
                    "startDate": week.isoformat(),
                    "endDate": (week + timedelta(days=6)).isoformat(),
                }
            }
        }
        got = self._call(
            lambda: sf.restful(
                f"analytics/reports/{report_id}",
                method="POST",
                json=body,
                params={"includeDetails": "false"},
                timeout=self.timeout,
            ),
            "report",
        )
        try:
            groupings = got["groupingsDown"]["groupings"]
            facts = got["factMap"]
        except (KeyError, TypeError):
            out.warnings.append(f"salesforce {self.name}: report {where}: skipped: malformed")
            return {}
        found: dict[str, float] = {}
        for g in groupings if isinstance(groupings, list) else []:
            if not isinstance(g, dict):
                continue
            email = str(g.get("value") or g.get("label") or "").strip().lower()
            try:
                raw = facts[f"{g['key']}!T"]["aggregates"][0]["value"]
            except (KeyError, IndexError, TypeError):
                raw = None
            number = _number(raw)
            if number is None or not email:
                out.warnings.append(
                    f"salesforce {self.name}: report {where}: grouping "
                    f"{email[:60]!r}: skipped: no numeric aggregate"
                )
                continue
            found[email] = number
        return found


def _number(value: Any) -> float | None:
    """A numeric field as float; None (null aggregate) is 0; anything else is not a number."""
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        f = float(value)
        return f if math.isfinite(f) else None
    return None


def _sf_message(content: Any) -> str:
    """`errorCode: message` from a Salesforce REST error body (a list of errors)."""
    if isinstance(content, list) and content and isinstance(content[0], dict):
        err = content[0]
        return f"{str(err.get('errorCode', ''))[:60]}: {str(err.get('message', ''))[:200]}"
    return str(content)[:200]
