"""A loopback fake of the Google Calendar v3 and Gmail v1 APIs, for tests and benchmarks.

Real google-api-python-client code talks HTTP to it. It keeps state in memory, logs every
request (batch sub-requests included), validates every request's query parameters and JSON
body fields against the discovery documents bundled with google-api-python-client (an
unknown parameter or field is a 400, and is recorded in `violations`), and injects faults on
demand.

Use:

    with FakeGoogle(owner="manager@example.com") as fake:
        settings = GoogleSettings(credentials="none", api_endpoint=fake.endpoint)
        ...
        fake.inject("POST", r"/events$", 429, retry_after=1, times=3)
        assert [r.method for r in fake.requests] == [...]

Reuse: tests in this folder get the `fake_google` fixture from conftest.py. Elsewhere,
`from tests.integrations.google.fake_server import FakeGoogle` (run from the repo root with
`python -m pytest`) or put this folder on sys.path (bench scripts) and `import fake_server`;
`FakeGoogle` needs no pytest. `google_support.make_calendar(fake, kv, backoff)` builds a
GoogleCalendar pointed at it. Attributes: `endpoint`, `root`, `requests` (list of Request:
method, path, query, body, status, method_name, in_batch, authorization), `calls(name)`,
`events(calendar_id)`, `event(id)`, `add_event/update_event/remove_event`,
`expire_sync_tokens()`, `inject(...)`, `freebusy_errors`, `sent_mail`, `token_grants`,
`violations`, `page_size`.

Implemented: events.list (pageToken/maxResults pagination, singleEvents accepted, timeMin/
timeMax, syncToken + nextSyncToken, 410 for an expired token), events.get/insert (409 on a
duplicate id, deleted ones included)/patch (objects merged, arrays replaced)/delete,
freebusy.query (at most 50 calendars, ranges under 90 days, per-calendar errors), the batch
endpoint (multipart/mixed, at most 50 parts) and gmail users.messages.send (the decoded raw
message lands in `sent_mail`). Recurring series are not expanded: add instances directly
(with `recurringEventId`); a patch of a series' attendees reaches its instances except the
moved ones (whose `start` differs from their `originalStartTime`), as on Google.
"""

from __future__ import annotations

import base64
import copy
import email
import email.policy
import itertools
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import googleapiclient
import pytest

from tests.loopback import free_port

DOCS = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"
BASE32HEX = re.compile(r"^[a-v0-9]{5,1024}$")
FREEBUSY_MAX_CALENDARS = 50
FREEBUSY_MAX_SPAN = timedelta(days=90)
BATCH_MAX = 50


# --- discovery validation -------------------------------------------------------------------


class Discovery:
    """Routes requests to discovery methods and checks parameters and bodies against them."""

    def __init__(self, doc: Mapping[str, Any], prefix: str) -> None:
        self.doc = doc
        self.schemas: Mapping[str, Any] = doc["schemas"]
        self.global_params: Mapping[str, Any] = doc.get("parameters", {})
        self.routes: list[tuple[str, re.Pattern[str], list[str], str, Mapping[str, Any]]] = []
        self._collect(doc.get("resources", {}), prefix, "")

    def _collect(self, resources: Mapping[str, Any], prefix: str, parent: str) -> None:
        for rname, res in resources.items():
            for mname, m in res.get("methods", {}).items():
                names: list[str] = []

                def repl(match: re.Match[str], names: list[str] = names) -> str:
                    names.append(match.group(1).lstrip("+"))
                    return "([^/]+)"

                pattern = re.sub(
                    r"\{([^}]+)\}",
                    repl,
                    re.escape(prefix + m["path"]).replace(r"\{", "{").replace(r"\}", "}"),
                )
                self.routes.append(
                    (
                        m["httpMethod"],
                        re.compile("^" + pattern + "$"),
                        names,
                        f"{parent}{rname}.{mname}",
                        m,
                    )
                )
            self._collect(res.get("resources", {}), prefix, f"{parent}{rname}.")

    def route(self, method: str, path: str) -> tuple[str, Mapping[str, Any], dict[str, str]] | None:
        # Literal routes first, so `events/import` never matches `events/{eventId}`.
        for http_method, rx, names, name, m in sorted(
            self.routes, key=lambda r: r[1].pattern.count("([^/]+)")
        ):
            if http_method != method:
                continue
            hit = rx.match(path)
            if hit:
                return name, m, {n: unquote(v) for n, v in zip(names, hit.groups(), strict=True)}
        return None

    def check_query(self, m: Mapping[str, Any], query: Mapping[str, list[str]]) -> list[str]:
        problems = []
        params = m.get("parameters", {})
        for name, values in query.items():
            spec = params.get(name) or self.global_params.get(name)
            if spec is None:
                problems.append(f"unknown query parameter {name!r}")
                continue
            if spec.get("location") == "path":
                problems.append(f"path parameter {name!r} sent in the query")
                continue
            if len(values) > 1 and not spec.get("repeated"):
                problems.append(f"parameter {name!r} repeated")
            for v in values:
                problems.extend(self._check_scalar(spec, v, name))
        for name, spec in params.items():
            if spec.get("required") and spec.get("location") == "query" and name not in query:
                problems.append(f"required parameter {name!r} missing")
        return problems

    @staticmethod
    def _check_scalar(spec: Mapping[str, Any], v: str, name: str) -> list[str]:
        t = spec.get("type")
        if t == "boolean" and v not in ("true", "false"):
            return [f"parameter {name!r} must be true/false (got {v!r})"]
        if t == "integer":
            try:
                n = int(v)
            except ValueError:
                return [f"parameter {name!r} must be an integer (got {v!r})"]
            if "minimum" in spec and n < int(spec["minimum"]):
                return [f"parameter {name!r} below its minimum"]
            if "maximum" in spec and n > int(spec["maximum"]):
                return [f"parameter {name!r} above its maximum"]
        if "enum" in spec and v not in spec["enum"]:
            return [f"parameter {name!r} must be one of {spec['enum']} (got {v!r})"]
        return []

    def check_body(self, m: Mapping[str, Any], body: Any) -> list[str]:
        req = m.get("request")
        if req is None:
            return [] if body is None else ["this method takes no request body"]
        if body is None:
            return ["request body missing"]
        return self._check_value({"$ref": req["$ref"]}, body, "body")

    def _check_value(self, schema: Mapping[str, Any], value: Any, where: str) -> list[str]:
        if "$ref" in schema:
            schema = self.schemas[schema["$ref"]]
        t = schema.get("type")
        if t == "object":
            if not isinstance(value, dict):
                return [f"{where} must be an object"]
            problems = []
            props = schema.get("properties", {})
            extra = schema.get("additionalProperties")
            for k, v in value.items():
                if k in props:
                    problems.extend(self._check_value(props[k], v, f"{where}.{k}"))
                elif extra is not None:
                    problems.extend(self._check_value(extra, v, f"{where}.{k}"))
                else:
                    problems.append(f"unknown field {where}.{k}")
            return problems
        if t == "array":
            if not isinstance(value, list):
                return [f"{where} must be an array"]
            out = []
            for i, v in enumerate(value):
                out.extend(self._check_value(schema.get("items", {}), v, f"{where}[{i}]"))
            return out
        if t == "string" and not isinstance(value, str):
            return [f"{where} must be a string"]
        if t == "boolean" and not isinstance(value, bool):
            return [f"{where} must be a boolean"]
        if t == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
            return [f"{where} must be an integer"]
        if "enum" in schema and value not in schema["enum"]:
            return [f"{where} must be one of {schema['enum']}"]
        return []


_CALENDAR = Discovery(json.loads((DOCS / "calendar.v3.json").read_text()), "/calendar/v3/")
_GMAIL = Discovery(json.loads((DOCS / "gmail.v1.json").read_text()), "/")


# --- the log and faults ---------------------------------------------------------------------


@dataclass
class Request:
    """One request the fake answered. `in_batch` marks a sub-request of a batch."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    status: int = 0
    method_name: str = ""  # the discovery method id, e.g. "events.insert"
    in_batch: bool = False
    authorization: str | None = None


@dataclass
class Fault:
    """An injected answer for requests matching method and path (regex, `search`).

    status: answer with this error status (and `reason`, `retry_after`) without processing.
    commit_then_sleep: process the request, then sleep this long before answering (a
    timeout after the server stored the change).
    """

    method: str
    path: re.Pattern[str]
    status: int | None = None
    reason: str | None = None
    retry_after: float | None = None
    commit_then_sleep: float | None = None
    times: int = 1
    skip: int = 0


class HttpFailure(Exception):
    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message


_DEFAULT_REASONS = {
    400: "badRequest",
    401: "authError",
    403: "forbidden",
    404: "notFound",
    409: "duplicate",
    410: "fullSyncRequired",
    429: "rateLimitExceeded",
    500: "backendError",
    503: "backendError",
}


def _error_body(status: int, reason: str, message: str) -> dict[str, Any]:
    domain = "usageLimits" if "RateLimit" in reason or reason == "rateLimitExceeded" else "global"
    return {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"domain": domain, "reason": reason, "message": message}],
        }
    }


def _parse_rfc3339(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _bounds(ev: Mapping[str, Any]) -> tuple[datetime, datetime]:
    def one(v: Mapping[str, Any]) -> datetime:
        if "dateTime" in v:
            return _parse_rfc3339(v["dateTime"])
        # The fake treats all-day events as UTC days: enough for filtering.
        return datetime.combine(date.fromisoformat(v["date"]), datetime.min.time(), UTC)

    return one(ev["start"]), one(ev["end"])


def _merge(target: dict[str, Any], patch: Mapping[str, Any]) -> None:
    """Patch semantics: objects are merged key by key, arrays and scalars replaced."""
    for k, v in patch.items():
        if isinstance(v, Mapping) and isinstance(target.get(k), dict):
            _merge(target[k], v)
        else:
            target[k] = copy.deepcopy(v)


# --- the fake -------------------------------------------------------------------------------


class FakeGoogle:
    """In-memory Calendar + Gmail server on 127.0.0.1. Thread-safe; start()/stop() or `with`.

    `owner` is the account the credentials belong to: "primary" means their calendar, and
    freebusy answers for every calendar the fake holds (others are empty, unless listed in
    `freebusy_errors`, which maps a calendar id to an error reason).
    """

    def __init__(
        self, owner: str = "manager@example.com", *, page_size: int = 250, latency: float = 0.0
    ) -> None:
        self.owner = owner
        self.page_size = page_size  # the server's own page cap, to force pagination in tests
        self.latency = latency  # seconds added to every HTTP answer (a batch waits once)
        self.requests: list[Request] = []
        self.violations: list[str] = []
        self.sent_mail: list[EmailMessage] = []
        self.freebusy_errors: dict[str, str] = {}
        self.token_grants: list[str] = []
        self.token_assertions: list[dict[str, Any]] = []
        self._cals: dict[str, dict[str, dict[str, Any]]] = {}
        self._changed: dict[str, dict[str, int]] = {}  # calendar -> event id -> change seq
        self._seq = itertools.count(1)
        self._now_seq = 0
        self._min_token_seq = 0
        self._faults: list[Fault] = []
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> FakeGoogle:
        self.port = free_port()
        fake = self

        class Handler(_Handler):
            server_fake = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeGoogle:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def root(self) -> str:
        """The server root, e.g. `http://127.0.0.1:PORT/` (token_uri is `root + "token"`)."""
        return f"http://127.0.0.1:{self.port}/"

    @property
    def endpoint(self) -> str:
        """The `calendar.google.api_endpoint` that points the client here."""
        return f"http://127.0.0.1:{self.port}/calendar/v3/"

    # --- test helpers -----------------------------------------------------------------------

    def _cal(self, calendar_id: str) -> dict[str, dict[str, Any]]:
        cid = self.owner if calendar_id == "primary" else calendar_id
        self._changed.setdefault(cid, {})
        return self._cals.setdefault(cid, {})

    def _touch(self, calendar_id: str, event_id: str) -> None:
        cid = self.owner if calendar_id == "primary" else calendar_id
        seq = next(self._seq)
        self._now_seq = seq
        self._changed.setdefault(cid, {})[event_id] = seq

    def events(
        self, calendar_id: str = "primary", *, include_cancelled: bool = False
    ) -> list[dict[str, Any]]:
        """A copy of the calendar's events (without cancelled ones unless asked)."""
        with self._lock:
            return [
                copy.deepcopy(e)
                for e in self._cal(calendar_id).values()
                if include_cancelled or e.get("status") != "cancelled"
            ]

    def event(self, event_id: str, calendar_id: str = "primary") -> dict[str, Any] | None:
        with self._lock:
            e = self._cal(calendar_id).get(event_id)
            return copy.deepcopy(e) if e else None

    def add_event(self, calendar_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Store an event as another person's client would (no validation; an id is made
        up when missing). Returns the stored resource."""
        with self._lock:
            ev = self._complete(calendar_id, dict(copy.deepcopy(body)))
            self._cal(calendar_id)[ev["id"]] = ev
            self._touch(calendar_id, ev["id"])
            return copy.deepcopy(ev)

    def update_event(self, calendar_id: str, event_id: str, patch: Mapping[str, Any]) -> None:
        """Change an event as its organizer would (a sync-visible change)."""
        with self._lock:
            ev = self._cal(calendar_id)[event_id]
            _merge(ev, patch)
            ev["sequence"] = ev.get("sequence", 0) + 1
            ev["updated"] = _stamp()
            self._touch(calendar_id, event_id)

    def remove_event(self, calendar_id: str, event_id: str) -> None:
        """Cancel an event as another client would."""
        with self._lock:
            self._cal(calendar_id)[event_id]["status"] = "cancelled"
            self._touch(calendar_id, event_id)

    def expire_sync_tokens(self) -> None:
        """Make every sync token issued so far answer 410 GONE."""
        with self._lock:
            self._min_token_seq = self._now_seq + 1

    def inject(
        self,
        method: str,
        path_regex: str,
        status: int | None = None,
        *,
        reason: str | None = None,
        retry_after: float | None = None,
        commit_then_sleep: float | None = None,
        times: int = 1,
        skip: int = 0,
    ) -> None:
        """Queue a fault for `times` requests matching method and path regex (`search`),
        after letting `skip` matching requests through. Batch sub-requests match too."""
        with self._lock:
            self._faults.append(
                Fault(
                    method.upper(),
                    re.compile(path_regex),
                    status,
                    reason,
                    retry_after,
                    commit_then_sleep,
                    times,
                    skip,
                )
            )

    def clear_log(self) -> None:
        with self._lock:
            self.requests.clear()

    def calls(self, method_name: str) -> list[Request]:
        """Logged requests for one discovery method id, e.g. "events.insert"."""
        return [r for r in self.requests if r.method_name == method_name]

    # --- request processing -----------------------------------------------------------------

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for f in self._faults:
                if f.method == method and f.path.search(path):
                    if f.skip > 0:
                        f.skip -= 1
                        return None
                    f.times -= 1
                    if f.times <= 0:
                        self._faults.remove(f)
                    return f
        return None

    def handle(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str],
        raw: bytes,
        *,
        in_batch: bool = False,
    ) -> tuple[int, dict[str, str], bytes, float]:
        """Answer one request: (status, headers, body, seconds to sleep before answering)."""
        parts = urlsplit(target)
        path = parts.path
        query = parse_qs(parts.query, keep_blank_values=True)
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        rec = Request(
            method, path, query, body, in_batch=in_batch, authorization=headers.get("authorization")
        )
        hit = (_GMAIL if path.startswith("/gmail/") else _CALENDAR).route(method, path)
        rec.method_name = hit[0] if hit else ""
        with self._lock:
            self.requests.append(rec)
        fault = self._take_fault(method, path)
        sleep = 0.0
        if fault is not None and fault.status is not None:
            reason = fault.reason or _DEFAULT_REASONS.get(fault.status, "error")
            extra = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after else {}
            rec.status = fault.status
            return (
                fault.status,
                extra,
                json.dumps(_error_body(fault.status, reason, f"injected {reason}")).encode(),
                0.0,
            )
        if fault is not None and fault.commit_then_sleep:
            sleep = fault.commit_then_sleep
        try:
            if path == "/token" and method == "POST":
                return 200, {"Content-Type": "application/json"}, self._token(raw), sleep
            if path.startswith("/batch/"):
                if in_batch:
                    raise HttpFailure(400, "badRequest", "nested batch")
                status, hdrs, out, inner_sleep = self._batch(headers, raw)
                rec.status = status
                return status, hdrs, out, max(sleep, inner_sleep)
            result = self._dispatch(method, path, query, body, rec)
        except HttpFailure as e:
            rec.status = e.status
            return (
                e.status,
                {},
                json.dumps(_error_body(e.status, e.reason, e.message)).encode(),
                sleep,
            )
        rec.status = 204 if result is None else 200
        if result is None:
            return 204, {}, b"", sleep
        return (
            200,
            {"Content-Type": "application/json; charset=UTF-8"},
            json.dumps(result).encode(),
            sleep,
        )

    def _dispatch(
        self, method: str, path: str, query: dict[str, list[str]], body: Any, rec: Request
    ) -> Any:
        api = _GMAIL if path.startswith("/gmail/") else _CALENDAR
        hit = api.route(method, path)
        if hit is None:
            raise HttpFailure(404, "notFound", f"no such method: {method} {path}")
        name, m, params = hit
        rec.method_name = name
        problems = api.check_query(m, query) + api.check_body(m, body)
        if problems:
            with self._lock:
                self.violations.extend(f"{name}: {p}" for p in problems)
            raise HttpFailure(400, "invalid", "; ".join(problems))
        q = {k: v[0] for k, v in query.items()}
        with self._lock:
            handler = getattr(self, "_" + name.replace(".", "_"), None)
            if handler is None:
                raise HttpFailure(501, "notImplemented", f"the fake does not implement {name}")
            return handler(params, q, body)

    # --- calendar methods -------------------------------------------------------------------

    def _complete(self, calendar_id: str, ev: dict[str, Any]) -> dict[str, Any]:
        cid = self.owner if calendar_id == "primary" else calendar_id
        ev.setdefault("id", uuid.uuid4().hex[:26].replace("w", "v"))
        ev.setdefault("kind", "calendar#event")
        ev.setdefault("status", "confirmed")
        ev.setdefault("iCalUID", f"{ev['id']}@google.com")
        ev.setdefault("organizer", {"email": cid, "self": True})
        ev.setdefault("creator", {"email": cid})
        ev.setdefault("sequence", 0)
        ev.setdefault("created", _stamp())
        ev["updated"] = _stamp()
        ev["etag"] = f'"{uuid.uuid4().int % 10**16}"'
        for a in ev.get("attendees", []):
            a.setdefault("responseStatus", "needsAction")
            if a.get("email", "").lower() == cid.lower():
                a["self"] = True
        return ev

    def _events_list(self, p: dict[str, str], q: dict[str, str], body: Any) -> Any:
        cid = p["calendarId"]
        cal = self._cal(cid)
        changed = self._changed[self.owner if cid == "primary" else cid]
        size = min(int(q.get("maxResults", 250)), self.page_size)
        token = q.get("syncToken")
        if token is not None:
            for bad in (
                "timeMin",
                "timeMax",
                "orderBy",
                "q",
                "iCalUID",
                "updatedMin",
                "privateExtendedProperty",
                "sharedExtendedProperty",
            ):
                if bad in q:
                    self.violations.append(f"events.list: {bad} with syncToken")
                    raise HttpFailure(400, "invalid", f"{bad} is not allowed with syncToken")
            m = re.fullmatch(r"sync-(\d+)", token)
            if not m or int(m.group(1)) < self._min_token_seq:
                raise HttpFailure(410, "fullSyncRequired", "Sync token is no longer valid")
            since = int(m.group(1))
            ids = sorted((i for i, s in changed.items() if s > since), key=changed.__getitem__)
            items = [cal[i] for i in ids]
            if q.get("singleEvents") == "true":
                # Expanded views show instances; a series master appears only when cancelled.
                items = [e for e in items if "recurrence" not in e or e["status"] == "cancelled"]
        else:
            lo = _parse_rfc3339(q["timeMin"]) if "timeMin" in q else None
            hi = _parse_rfc3339(q["timeMax"]) if "timeMax" in q else None
            items = []
            for ev in cal.values():
                if ev.get("status") == "cancelled" and q.get("showDeleted") != "true":
                    continue
                if q.get("singleEvents") == "true" and "recurrence" in ev:
                    continue  # the fake does not expand series: tests add the instances
                try:
                    s, e = _bounds(ev)
                except (KeyError, ValueError):
                    items.append(ev)  # a malformed test item: let the client judge it
                    continue
                if (lo is None or e > lo) and (hi is None or s < hi):
                    items.append(ev)
            items.sort(key=lambda ev: (str(ev.get("start")), ev["id"]))
        # A page token remembers the offset and the sync point of the first page.
        page = q.get("pageToken")
        if page:
            m2 = re.fullmatch(r"page-(\d+)-(\d+)", page)
            if not m2:
                raise HttpFailure(400, "invalid", "bad pageToken")
            offset, at_seq = int(m2.group(1)), int(m2.group(2))
        else:
            offset, at_seq = 0, self._now_seq
        out: dict[str, Any] = {
            "kind": "calendar#events",
            "timeZone": "UTC",
            "items": [copy.deepcopy(e) for e in items[offset : offset + size]],
        }
        if offset + size < len(items):
            out["nextPageToken"] = f"page-{offset + size}-{at_seq}"
        else:
            out["nextSyncToken"] = f"sync-{at_seq}"
        return out

    def _events_get(self, p: dict[str, str], q: dict[str, str], body: Any) -> Any:
        ev = self._cal(p["calendarId"]).get(p["eventId"])
        if ev is None:
            raise HttpFailure(404, "notFound", "Not Found")
        return copy.deepcopy(ev)

    def _events_insert(self, p: dict[str, str], q: dict[str, str], body: Any) -> Any:
        cal = self._cal(p["calendarId"])
        eid = body.get("id")
        if eid is not None and not BASE32HEX.match(eid):
            raise HttpFailure(400, "invalid", "Invalid resource id value.")
        if eid is not None and eid in cal:
            raise HttpFailure(409, "duplicate", "The requested identifier already exists.")
        ev = self._complete(p["calendarId"], copy.deepcopy(body))
        cal[ev["id"]] = ev
        self._touch(p["calendarId"], ev["id"])
        return copy.deepcopy(ev)

    def _events_patch(self, p: dict[str, str], q: dict[str, str], body: Any) -> Any:
        ev = self._cal(p["calendarId"]).get(p["eventId"])
        if ev is None or ev.get("status") == "cancelled":
            raise HttpFailure(404, "notFound", "Not Found")
        if "start" in body or "end" in body:
            ev["sequence"] = ev.get("sequence", 0) + 1  # a time change is a new revision
        _merge(ev, body)
        ev["updated"] = _stamp()
        ev["etag"] = f'"{uuid.uuid4().int % 10**16}"'
        self._touch(p["calendarId"], p["eventId"])
        if "recurrence" in ev and "attendees" in body:
            self._propagate_to_instances(p["calendarId"], ev)
        return copy.deepcopy(ev)

    def _propagate_to_instances(self, calendar_id: str, series: dict[str, Any]) -> None:
        """As Google does: a series' new guest list (and answers) reaches every instance
        that was not changed on its own; a moved instance (start != originalStartTime) is
        an exception and keeps its own."""
        for inst in self._cal(calendar_id).values():
            if inst.get("recurringEventId") != series["id"] or inst.get("status") == "cancelled":
                continue
            original = inst.get("originalStartTime")
            if original is not None and original != inst.get("start"):
                continue
            inst["attendees"] = copy.deepcopy(series["attendees"])
            inst["updated"] = _stamp()
            inst["etag"] = f'"{uuid.uuid4().int % 10**16}"'
            self._touch(calendar_id, inst["id"])

    def _events_delete(self, p: dict[str, str], q: dict[str, str], body: Any) -> Any:
        ev = self._cal(p["calendarId"]).get(p["eventId"])
        if ev is None:
            raise HttpFailure(404, "notFound", "Not Found")
        if ev.get("status") == "cancelled":
            raise HttpFailure(410, "deleted", "Resource has been deleted")
        ev["status"] = "cancelled"
        self._touch(p["calendarId"], p["eventId"])
        return None

    def _freebusy_query(self, p: dict[str, str], q: dict[str, str], body: Any) -> Any:
        lo, hi = _parse_rfc3339(body["timeMin"]), _parse_rfc3339(body["timeMax"])
        if hi - lo > FREEBUSY_MAX_SPAN:
            raise HttpFailure(400, "timeRangeTooLong", "The requested time range is too long.")
        items = body.get("items", [])
        if len(items) > FREEBUSY_MAX_CALENDARS:
            raise HttpFailure(400, "tooManyCalendarsRequested", "Too many calendars requested.")
        cals: dict[str, Any] = {}
        for it in items:
            cid = it["id"]
            if cid in self.freebusy_errors:
                cals[cid] = {
                    "busy": [],
                    "errors": [{"domain": "calendar", "reason": self.freebusy_errors[cid]}],
                }
                continue
            busy = []
            for ev in self._cals.get(cid, {}).values():
                if ev.get("status") == "cancelled" or ev.get("transparency") == "transparent":
                    continue
                s, e = _bounds(ev)
                if e > lo and s < hi:
                    busy.append({"start": _z(max(s, lo)), "end": _z(min(e, hi))})
            cals[cid] = {"busy": sorted(busy, key=lambda b: b["start"])}
        return {
            "kind": "calendar#freeBusy",
            "timeMin": body["timeMin"],
            "timeMax": body["timeMax"],
            "calendars": cals,
        }

    def _users_messages_send(self, p: dict[str, str], q: dict[str, str], body: Any) -> Any:
        raw = base64.urlsafe_b64decode(body["raw"] + "=" * (-len(body["raw"]) % 4))
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        self.sent_mail.append(msg)
        mid = uuid.uuid4().hex[:16]
        return {"id": mid, "threadId": mid, "labelIds": ["SENT"]}

    # --- OAuth token endpoint -------------------------------------------------------------

    def _token(self, raw: bytes) -> bytes:
        """A minimal OAuth token endpoint (`token_uri` = `<root>token`): every refresh or
        code exchange gets a new access token; `token_grants` logs the grant types."""
        form = parse_qs(raw.decode())
        with self._lock:
            self.token_grants.append(form.get("grant_type", ["?"])[0])
            if "assertion" in form:  # a service account's signed JWT: keep its claims
                payload = form["assertion"][0].split(".")[1]
                self.token_assertions.append(
                    json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
                )
            n = len(self.token_grants)
        out = {"access_token": f"access-{n}", "expires_in": 3600, "token_type": "Bearer"}
        if form.get("grant_type") == ["authorization_code"]:
            out["refresh_token"] = "refresh-1"
        return json.dumps(out).encode()

    # --- batch ------------------------------------------------------------------------------

    def _batch(
        self, headers: Mapping[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], bytes, float]:
        ctype = headers.get("content-type", "")
        if not ctype.startswith("multipart/mixed"):
            raise HttpFailure(400, "badContent", "a batch must be multipart/mixed")
        mime = email.message_from_bytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + raw)
        parts = mime.get_payload()
        if not isinstance(parts, list) or not parts:
            raise HttpFailure(400, "badContent", "empty batch")
        if len(parts) > BATCH_MAX:
            with self._lock:
                self.violations.append(f"batch of {len(parts)} parts (max {BATCH_MAX})")
            raise HttpFailure(400, "tooManyParts", f"at most {BATCH_MAX} requests per batch")
        boundary = "batch_" + uuid.uuid4().hex
        out: list[str] = []
        longest = 0.0
        for part in parts:
            cid = part["Content-ID"] or ""
            text = part.get_payload()
            assert isinstance(text, str)
            head, _, inner_body = text.replace("\r\n", "\n").partition("\n\n")
            lines = head.split("\n")
            method, target, _proto = lines[0].split(" ", 2)
            inner_headers = {}
            for line in lines[1:]:
                k, _, v = line.partition(":")
                inner_headers[k.strip().lower()] = v.strip()
            status, hdrs, body, sleep = self.handle(
                method, target, inner_headers, inner_body.encode(), in_batch=True
            )
            longest = max(longest, sleep)
            reason = "OK" if status < 300 else "Error"
            hlines = "".join(f"{k}: {v}\r\n" for k, v in hdrs.items())
            if body and "Content-Type" not in hdrs:
                hlines += "Content-Type: application/json; charset=UTF-8\r\n"
            resp_id = cid.replace("<", "<response-", 1) if cid else "<response-x + 0>"
            out.append(
                f"--{boundary}\r\nContent-Type: application/http\r\nContent-ID: {resp_id}\r\n\r\n"
                f"HTTP/1.1 {status} {reason}\r\n{hlines}Content-Length: {len(body)}\r\n\r\n"
                f"{body.decode()}\r\n"
            )
        out.append(f"--{boundary}--\r\n")
        ctype_out = f"multipart/mixed; boundary={boundary}"
        return 200, {"Content-Type": ctype_out}, "".join(out).encode(), longest


def _stamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _z(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_fake: FakeGoogle

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without NODELAY, Nagle plus delayed
        # ACKs add ~40 ms to every loopback request.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the fake keeps its own log
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, hdrs, body, sleep = self.server_fake.handle(self.command, self.path, headers, raw)
        sleep += self.server_fake.latency
        if sleep:
            time.sleep(sleep)
        try:
            self.send_response(status)
            for k, v in hdrs.items():
                self.send_header(k, v)
            if "Content-Type" not in hdrs and body:
                self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): the change is committed anyway

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve


@pytest.fixture
def fake_google() -> Iterator[FakeGoogle]:
    """A running FakeGoogle; the test fails if any request broke the discovery document."""
    with FakeGoogle() as fake:
        yield fake
        assert not fake.violations, f"requests violated the discovery document: {fake.violations}"
