"""KPI source: HubSpot CRM v3 search, through the official hubspot-api-client.

Per KPI a search (`searches.<kpi>`): objects of one type (deals, calls, meetings, ...) whose
`hubspot_owner_id` is the rep's owner id, whose `date_property` falls in the week (Monday
00:00 to Sunday 23:59:59.999 in the manager's time zone, as epoch milliseconds) and whose
`where` properties equal the values given. The figure is the search's `total`, or with
`sum:` the sum of that property over every result, pages followed through `paging.next.after`.

Each rep's owner is looked up by email first (`crm/v3/owners?email=`); a rep with no owner
gets a warning and no figures. The private-app token is read from the environment variable
`token_env` when the source is read (never stored). HTTP errors go through the one retry
policy (integrations.google.retry): 429/5xx retried with backoff, 401/403 not.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

import hubspot
from hubspot.crm.objects import Filter, FilterGroup, PublicObjectSearchRequest
from urllib3.exceptions import HTTPError as Urllib3Error

from integrations.errors import RemoteError, UserError
from integrations.google import retry
from integrations.google.retry import Backoff, HttpStatusError
from integrations.kpi_csv import KpiRead
from planner.kpi_sources import HubSpotSearch, HubSpotSource
from planner.model import KpiRow

log = logging.getLogger(__name__)

PAGE = 100  # the search endpoint's largest page
MAX_PAGES = 100  # HubSpot stops search paging at 10,000 results


class HubSpotKpiSource:
    """Reads the configured searches for the weeks asked (see the module doc)."""

    def __init__(
        self,
        cfg: HubSpotSource,
        name: str,
        *,
        reps: Sequence[str],
        backoff: Backoff | None = None,
        env: Mapping[str, str] = os.environ,
        ca_cert: str | None = None,
    ) -> None:
        self.cfg = cfg
        self.name = name
        self.reps = list(reps)
        self.backoff = backoff or Backoff()
        self.env = env
        self.ca_cert = ca_cert

    def _client(self) -> Any:
        token = self.env.get(self.cfg.token_env, "")
        if not token:
            raise UserError(
                f"hubspot {self.name}: environment variable {self.cfg.token_env} (the private "
                "app's access token) is not set"
            )
        extra: dict[str, Any] = {"ssl_ca_cert": self.ca_cert} if self.ca_cert else {}
        return hubspot.Client.create(
            access_token=token, host=self.cfg.host.rstrip("/"), retry=False, **extra
        )

    def read_weeks(self, weeks: Sequence[date], tz: tzinfo) -> KpiRead:
        """Every rep's figures for `weeks` (Mondays in `tz`). Raises UserError/RemoteError/
        TransientError when HubSpot cannot be read at all."""
        client = self._client()
        out = KpiRead(rows=[])
        for rep in self.reps:
            owner = self._owner(client, rep)
            if owner is None:
                out.warnings.append(
                    f"hubspot {self.name}: rep {rep}: no HubSpot owner with that email; "
                    "no figures from this source"
                )
                continue
            for week in weeks:
                start = datetime.combine(week, time(), tz)
                end = datetime.combine(week + timedelta(days=7), time(), tz)
                span = (int(start.timestamp() * 1000), int(end.timestamp() * 1000) - 1)
                for kpi, search in self.cfg.searches.items():
                    where = f"{week} {rep} {kpi}"
                    value = self._figure(client, search, owner, span, where, out)
                    if value is not None:
                        out.rows.append(KpiRow(week, rep, kpi, value))
        return out

    def _call(self, fn: Callable[[], Any], what: str) -> Any:
        def attempt() -> Any:
            try:
                return fn()
            except Urllib3Error as e:
                raise OSError(f"{type(e).__name__}: {e}") from e
            except Exception as e:
                status = getattr(e, "status", None)  # each API package has its own class
                is_api = any(c.__name__ == "ApiException" for c in type(e).__mro__)
                if is_api and isinstance(status, int):
                    raise HttpStatusError(
                        status, _message(getattr(e, "body", None)), retry_after=_ra(e)
                    ) from e
                raise

        return retry.call(attempt, f"hubspot {what}", self.backoff)

    def _owner(self, client: Any, email: str) -> str | None:
        page = self._call(
            lambda: client.crm.owners.owners_api.get_page(email=email, limit=1, archived=False),
            "owners",
        )
        for o in getattr(page, "results", None) or []:
            if str(getattr(o, "email", "")).lower() == email.lower() and getattr(o, "id", None):
                return str(o.id)
        return None

    def _figure(
        self,
        client: Any,
        search: HubSpotSearch,
        owner: str,
        span: tuple[int, int],
        where: str,
        out: KpiRead,
    ) -> float | None:
        filters = [
            Filter(property_name="hubspot_owner_id", operator="EQ", value=owner),
            Filter(
                property_name=search.date_property,
                operator="BETWEEN",
                value=str(span[0]),
                high_value=str(span[1]),
            ),
            *(Filter(property_name=k, operator="EQ", value=v) for k, v in search.where.items()),
        ]
        total = 0.0
        after: str | None = None
        for _ in range(MAX_PAGES):
            request = PublicObjectSearchRequest(
                filter_groups=[FilterGroup(filters=filters)],
                properties=[search.sum] if search.sum else [search.date_property],
                limit=PAGE if search.sum else 1,
                after=after,
            )
            page = self._call(
                lambda r=request: client.crm.objects.search_api.do_search(  # type: ignore[misc]
                    search.object, public_object_search_request=r
                ),
                f"{search.object} search",
            )
            if search.sum is None:
                count = getattr(page, "total", None)
                if not isinstance(count, int) or count < 0:
                    out.warnings.append(f"hubspot {self.name}: {where}: skipped: no total")
                    return None
                return float(count)
            for obj in getattr(page, "results", None) or []:
                props = getattr(obj, "properties", None) or {}
                raw = props.get(search.sum)
                number = _number(raw)
                if number is None:
                    out.warnings.append(
                        f"hubspot {self.name}: {where}: skipped: {search.sum} "
                        f"{str(raw)[:40]!r} is not a number"
                    )
                    return None
                total += number
            nxt = getattr(getattr(page, "paging", None), "next", None)
            after = getattr(nxt, "after", None)
            if not after:
                return total
        raise RemoteError(f"hubspot {self.name}: {where}: more than {MAX_PAGES} pages")


def _number(raw: Any) -> float | None:
    """A HubSpot property value (text) as a number: empty/None is 0 (no amount), else it
    must parse as a finite number."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return 0.0
    try:
        f = float(raw)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _message(body: Any) -> str:
    import json

    try:
        data = json.loads(body) if isinstance(body, str | bytes) else None
    except ValueError:
        data = None
    if isinstance(data, dict):
        return f"{str(data.get('category', ''))[:40]}: {str(data.get('message', ''))[:200]}"
    return str(body or "")[:200]


def _ra(e: Exception) -> float | None:
    headers = getattr(e, "headers", None) or {}
    try:
        lowered = {str(k).lower(): v for k, v in headers.items()}
    except AttributeError:
        return None
    return retry.retry_after(lowered)
