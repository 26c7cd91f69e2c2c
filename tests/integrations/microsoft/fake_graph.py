"""A loopback fake of the parts of Microsoft Graph v1.0 coachd uses, for tests and benchmarks.

coachd's real client code (requests) talks HTTP to it. It keeps mailboxes in memory, logs
every request ($batch parts included), checks each against what the Graph v1.0 reference
documents for that endpoint (method and path, the query options it accepts, the headers,
the body's fields and types), answers a violation with 400 and records it in `violations`,
and injects faults on demand.

    with FakeGraph(owner="manager@example.com") as fake:
        settings = MicrosoftSettings(credentials="none", api_endpoint=fake.endpoint)
        fake.inject("POST", r"/events$", 429, retry_after=1, times=2)
        assert [r.name for r in fake.requests] == [...]

Endpoints, as documented (https://learn.microsoft.com/graph/api/...):
- GET {user}/calendarView/delta: startDateTime and endDateTime on the first request only;
  $select/$expand/$filter/$orderby/$search refused; pages by `Prefer: odata.maxpagesize`;
  `@odata.nextLink` ($skiptoken) then `@odata.deltaLink` ($deltatoken); changes outside
  the window and deletions come back as `@removed`; an expired token is 410
  syncStateNotFound. Series masters are expanded into occurrences (daily/weekly patterns).
- GET {user}/events/{id} ($select, $expand=singleValueExtendedProperties($filter=id eq …)),
  GET {user}/events ($filter on a single-value extended property, $select),
  POST {user}/events (transactionId: a repeat returns the event made the first time),
  PATCH and DELETE {user}/events/{id}, POST {user}/events/{id}/decline (202),
  POST {user}/outlook/masterCategories (409 for a duplicate name),
  POST {user}/calendar/getSchedule (at most 20 schedules, a range under 62 days),
  POST {user}/sendMail (MIME: base64 with Content-Type text/plain; 202),
  POST /$batch (JSON batching, at most 20 requests, ids unique, relative URLs).
`{user}` is `me` (the owner) or `users/{address}`. Times go out in the zone named by
`Prefer: outlook.timezone` (Windows or IANA name), which every calendar request must carry.

Faults (`inject`): a status with an optional Retry-After, for the next n matching requests
($batch parts included); `drop=True` runs the request and then fails it (the answer was
lost); `delay=s` answers normally but s seconds late (past the client's timeout). The log
(`requests`: method, path, query, headers, body, name, status, in_batch) and `calls(name)`
show what coachd sent; `declines`, `sent_mail` and `master_categories` what it changed.
"""

from __future__ import annotations

import base64
import copy
import email
import email.policy
import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest
from tzlocal.windows_tz import win_tz

BATCH_LIMIT = 20
SCHEDULE_LIMIT = 20
SCHEDULE_DAYS = 62
SHOW_AS = {"free", "tentative", "busy", "oof", "workingElsewhere", "unknown"}
RESPONSES = {"none", "organizer", "tentativelyAccepted", "accepted", "declined", "notResponded"}
DELTA_FORBIDDEN = {"$select", "$expand", "$filter", "$orderby", "$search", "$top"}

# Writable event fields (event resource, v1.0) and the JSON type each must have.
EVENT_FIELDS: dict[str, type | tuple[type, ...]] = {
    "subject": str,
    "body": dict,
    "start": dict,
    "end": dict,
    "location": dict,
    "attendees": list,
    "showAs": str,
    "isAllDay": bool,
    "categories": list,
    "transactionId": str,
    "singleValueExtendedProperties": list,
    "sensitivity": str,
    "importance": str,
    "isReminderOn": bool,
    "reminderMinutesBeforeStart": int,
    "recurrence": dict,
    "responseRequested": bool,
    "allowNewTimeProposals": bool,
}


def _zone(name: str) -> ZoneInfo:
    if name.strip().lower() in ("utc", "tzone://microsoft/utc"):
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(win_tz.get(name, name))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


def parse_dtz(v: Any, where: str) -> datetime:
    """A dateTimeTimeZone -> aware datetime (ValueError naming `where`)."""
    if not isinstance(v, Mapping) or not isinstance(v.get("dateTime"), str):
        raise ValueError(f"{where}: a dateTimeTimeZone with dateTime is required")
    if not isinstance(v.get("timeZone"), str):
        raise ValueError(f"{where}.timeZone is required")
    text = v["dateTime"]
    head, dot, frac = text.partition(".")
    dt = datetime.fromisoformat(head + (dot + frac[:6] if dot else ""))
    if dt.tzinfo is not None:
        raise ValueError(f"{where}.dateTime must carry no offset (the zone is in timeZone)")
    return dt.replace(tzinfo=_zone(v["timeZone"]))


def _iso(text: str) -> datetime:
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _wall(dt: datetime, tz: ZoneInfo) -> str:
    return dt.astimezone(tz).replace(tzinfo=None).isoformat(timespec="seconds") + ".0000000"


@dataclass
class Request:
    """One logged request (a $batch part is logged on its own with in_batch=True)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    name: str = ""
    status: int = 0
    in_batch: bool = False


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    times: int
    retry_after: float | None = None
    code: str = ""
    drop: bool = False  # run the request, then fail as if the answer was lost
    delay: float = 0.0  # answer this late (past the client's timeout: a lost answer)


class HttpFailure(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _err(status: int, code: str, message: str) -> HttpFailure:
    return HttpFailure(status, code, message)


@dataclass
class Mailbox:
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    tombstones: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    by_transaction: dict[str, str] = field(default_factory=dict)


class FakeGraph:
    """In-memory Graph for `owner` (the `me` mailbox) and any other mailbox by address."""

    def __init__(
        self, owner: str = "manager@example.com", *, page_size: int = 1000, token: str | None = None
    ) -> None:
        self.owner = owner.lower()
        self.page_size = page_size
        self.token = token
        self.mailboxes: dict[str, Mailbox] = {}
        self.requests: list[Request] = []
        self.violations: list[str] = []
        self.faults: list[Fault] = []
        self.master_categories: list[dict[str, Any]] = []
        self.sent_mail: list[EmailMessage] = []
        self.declines: list[tuple[str, dict[str, Any]]] = []
        self.schedule_errors: dict[str, str] = {}
        self._stamp = itertools.count(1)
        self.now_stamp = 0
        self._delta: dict[str, tuple[str, datetime, datetime, int]] = {}
        self._skip: dict[str, tuple[str, datetime, datetime, int, list[dict[str, Any]]]] = {}
        self._lock = threading.RLock()
        self._late = threading.local()
        self._server: ThreadingHTTPServer | None = None

    # --- life cycle --------------------------------------------------------------------------

    def start(self) -> FakeGraph:
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeGraph:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def root(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    @property
    def endpoint(self) -> str:
        return self.root + "v1.0/"

    # --- state for tests ---------------------------------------------------------------------

    def _box(self, mailbox: str) -> Mailbox:
        return self.mailboxes.setdefault(mailbox.lower(), Mailbox())

    def _tick(self) -> int:
        self.now_stamp = next(self._stamp)
        return self.now_stamp

    def _touch(self, ev: dict[str, Any]) -> None:
        ev["_stamp"] = self._tick()
        moment = datetime(2027, 1, 1, tzinfo=UTC) + timedelta(seconds=ev["_stamp"])
        ev["lastModifiedDateTime"] = moment.isoformat().replace("+00:00", "Z")
        ev["changeKey"] = uuid.uuid4().hex[:16]

    def add_event(self, mailbox: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Store an event as the server would (ids, defaults); returns the stored event."""
        with self._lock:
            return self._create(mailbox.lower(), dict(copy.deepcopy(body)))

    def events(self, mailbox: str | None = None) -> list[dict[str, Any]]:
        """Stored events (series masters unexpanded) of a mailbox, public fields only."""
        with self._lock:
            box = self._box(mailbox or self.owner)
            return [self._public(e) for e in box.events.values()]

    def event(self, event_id: str, mailbox: str | None = None) -> dict[str, Any] | None:
        with self._lock:
            ev = self._box(mailbox or self.owner).events.get(event_id)
            return copy.deepcopy(ev) if ev else None

    def update_event(self, mailbox: str, event_id: str, patch: Mapping[str, Any]) -> None:
        """Change an event as its owner would in Outlook."""
        with self._lock:
            ev = self._box(mailbox).events[event_id]
            ev.update(copy.deepcopy(dict(patch)))
            self._recompute(ev)
            self._touch(ev)

    def remove_event(self, mailbox: str, event_id: str) -> None:
        with self._lock:
            box = self._box(mailbox)
            ev = box.events.pop(event_id)
            box.tombstones[event_id] = (self._tick(), ev)

    def expire_delta_links(self) -> None:
        """Every deltaLink handed out stops working (410 syncStateNotFound)."""
        with self._lock:
            self._delta.clear()
            self._skip.clear()

    def inject(
        self,
        method: str,
        path_regex: str,
        status: int,
        *,
        times: int = 1,
        retry_after: float | None = None,
        code: str = "",
        drop: bool = False,
        delay: float = 0.0,
    ) -> None:
        """Fail the next `times` requests whose method and path (after /v1.0) match; with
        `delay`, answer them normally (status 0) but that many seconds late."""
        with self._lock:
            self.faults.append(
                Fault(method, re.compile(path_regex), status, times, retry_after, code, drop, delay)
            )

    def clear_log(self) -> None:
        with self._lock:
            self.requests.clear()

    def calls(self, name: str) -> list[Request]:
        return [r for r in self.requests if r.name == name]

    # --- the model ---------------------------------------------------------------------------

    def _recompute(self, ev: dict[str, Any]) -> None:
        ev["_start"] = parse_dtz(ev["start"], "start")
        ev["_end"] = parse_dtz(ev["end"], "end")

    def _create(self, mailbox: str, body: dict[str, Any]) -> dict[str, Any]:
        box = self._box(mailbox)
        org = body.get("organizer") or {"emailAddress": {"address": mailbox, "name": ""}}
        org_addr = str(org.get("emailAddress", {}).get("address", "")).lower()
        is_org = org_addr == mailbox
        ev: dict[str, Any] = {
            "id": "AAMk" + uuid.uuid4().hex,
            "iCalUId": "040000008200E0" + uuid.uuid4().hex.upper(),
            "subject": "",
            "type": "seriesMaster" if body.get("recurrence") else "singleInstance",
            "showAs": "busy",
            "isAllDay": False,
            "isCancelled": False,
            "isOrganizer": is_org,
            "organizer": org,
            "responseStatus": {
                "response": "organizer" if is_org else "notResponded",
                "time": "0001-01-01T00:00:00Z",
            },
            "attendees": [],
            "categories": [],
            "transactionId": None,
        }
        ev.update(body)
        for a in ev["attendees"]:
            a.setdefault("type", "required")
            a.setdefault("status", {"response": "none", "time": "0001-01-01T00:00:00Z"})
        self._recompute(ev)
        self._touch(ev)
        box.events[ev["id"]] = ev
        if ev.get("transactionId"):
            box.by_transaction[ev["transactionId"]] = ev["id"]
        return ev

    def _expand(self, master: dict[str, Any], window: tuple[datetime, datetime]) -> list[dict]:
        """The occurrences of a series master inside the window (daily or weekly)."""
        rec = master["recurrence"]
        pat, rng = rec.get("pattern", {}), rec.get("range", {})
        interval = int(pat.get("interval", 1))
        days = {d.lower() for d in pat.get("daysOfWeek", [])}
        names = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
        tz = master["_start"].tzinfo
        first = master["_start"]
        length = master["_end"] - master["_start"]
        end_date = date.fromisoformat(rng["endDate"]) if rng.get("type") == "endDate" else None
        count = int(rng.get("numberOfOccurrences", 0)) if rng.get("type") == "numbered" else 0
        out: list[dict[str, Any]] = []
        n = 0
        day = first.date()
        while n < 1000:
            if end_date and day > end_date:
                break
            weeks = (day - first.date()).days // 7
            if pat.get("type") == "daily":
                hit = (day - first.date()).days % interval == 0
            else:
                hit = names[day.weekday()] in days and weeks % interval == 0
            if hit:
                n += 1
                if count and n > count:
                    break
                start = datetime.combine(day, first.timetz().replace(tzinfo=None), tzinfo=tz)
                if start >= window[1]:
                    break
                if start + length > window[0]:
                    occ = {k: copy.deepcopy(v) for k, v in master.items() if k != "recurrence"}
                    occ.update(
                        id=f"{master['id']}_OCC{day:%Y%m%d}",
                        type="occurrence",
                        seriesMasterId=master["id"],
                        iCalUId=master["iCalUId"] + f"{day:%Y%m%d}",
                        _start=start,
                        _end=start + length,
                    )
                    out.append(occ)
            day += timedelta(days=1)
        return out

    def _instances(self, mailbox: str, window: tuple[datetime, datetime]) -> list[dict]:
        items: list[dict[str, Any]] = []
        for ev in self._box(mailbox).events.values():
            if ev.get("type") == "seriesMaster":
                items.extend(self._expand(ev, window))
            else:
                items.append(ev)
        return items

    def _find(self, mailbox: str, event_id: str) -> dict[str, Any]:
        box = self._box(mailbox)
        if event_id in box.events:
            return box.events[event_id]
        master_id, _, day = event_id.partition("_OCC")
        master = box.events.get(master_id)
        if master is not None and day:
            d = date.fromisoformat(f"{day[:4]}-{day[4:6]}-{day[6:]}")
            lo = datetime.combine(d, datetime.min.time(), tzinfo=master["_start"].tzinfo)
            for occ in self._expand(master, (lo, lo + timedelta(days=1))):
                if occ["id"] == event_id:
                    return occ
        raise _err(404, "ErrorItemNotFound", "The specified object was not found in the store.")

    def _public(self, ev: Mapping[str, Any]) -> dict[str, Any]:
        return {k: copy.deepcopy(v) for k, v in ev.items() if not k.startswith("_")}

    def _render(
        self, ev: Mapping[str, Any], tz: ZoneInfo, tz_name: str, expand: str | None = None
    ) -> dict[str, Any]:
        out = self._public(ev)
        props = out.pop("singleValueExtendedProperties", None)
        if ev.get("isAllDay"):
            out["start"] = {
                "dateTime": f"{ev['_start'].date()}T00:00:00.0000000",
                "timeZone": tz_name,
            }
            out["end"] = {"dateTime": f"{ev['_end'].date()}T00:00:00.0000000", "timeZone": tz_name}
        else:
            out["start"] = {"dateTime": _wall(ev["_start"], tz), "timeZone": tz_name}
            out["end"] = {"dateTime": _wall(ev["_end"], tz), "timeZone": tz_name}
        if expand is not None:
            out["singleValueExtendedProperties"] = [
                p for p in props or [] if str(p.get("id", "")).lower() == expand.lower()
            ]
        return out

    # --- HTTP --------------------------------------------------------------------------------

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for f in self.faults:
            if f.times > 0 and f.method == method and f.pattern.search(path):
                f.times -= 1
                return f
        return None

    def handle(
        self, method: str, raw_path: str, headers: Mapping[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """One HTTP request -> (status, headers, body), late when a fault says so."""
        self._late.delay = 0.0
        answer = self._handle(method, raw_path, headers, raw)
        if self._late.delay:
            time.sleep(self._late.delay)
        return answer

    def _handle(
        self, method: str, raw_path: str, headers: Mapping[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(raw_path)
        h = {k.lower(): v for k, v in headers.items()}
        with self._lock:
            if not parts.path.startswith("/v1.0/"):
                return self._json(404, _error_body("NotFound", f"no such path {parts.path}"))
            path = "/" + parts.path[len("/v1.0/") :]
            query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            if self.token is not None and h.get("authorization") != f"Bearer {self.token}":
                self.requests.append(Request(method, path, query, h, None, "auth", 401))
                return self._json(
                    401, _error_body("InvalidAuthenticationToken", "Access token is empty.")
                )
            json_body = method in ("POST", "PATCH") and not path.endswith(("/$batch", "/sendMail"))
            if json_body and not h.get("content-type", "").startswith("application/json"):
                self.violations.append(f"{method} {path}: Content-Type is not application/json")
            if path == "/$batch":
                return self._batch(method, path, query, h, raw)
            status, out_headers, body = self._one(method, path, query, h, raw, in_batch=False)
            if status == 204 or body is None:
                return status, out_headers, b""
            data = json.dumps(body).encode("utf-8")
            out_headers["Content-Type"] = "application/json"
            return status, out_headers, data

    def _json(self, status: int, body: Any) -> tuple[int, dict[str, str], bytes]:
        return status, {"Content-Type": "application/json"}, json.dumps(body).encode("utf-8")

    def _one(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        raw: bytes | Any,
        *,
        in_batch: bool,
    ) -> tuple[int, dict[str, str], Any]:
        body: Any = raw
        ctype = headers.get("content-type", "")
        if isinstance(raw, bytes | bytearray):
            body = None
            if raw and ctype.startswith("application/json"):
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
            elif raw:
                body = bytes(raw)
        req = Request(method, path, query, headers, body, in_batch=in_batch)
        self.requests.append(req)
        fault = self._take_fault(method, path)
        try:
            route, params = self._route(method, path)
            req.name = route
            if fault is not None and fault.delay:
                self._late.delay = fault.delay  # handle() sleeps once the lock is released
                fault = None
            if fault is not None and not fault.drop:
                raise _err(fault.status, fault.code or "TooManyRequests", "injected fault")
            try:
                result = getattr(self, "_ep_" + route.replace(".", "_"))(
                    params, query, headers, body
                )
            except (KeyError, TypeError, ValueError, AttributeError) as e:
                # A request shape the fake did not foresee: a 500 and a recorded violation.
                self.violations.append(f"{method} {path}: fake crashed: {type(e).__name__}: {e}")
                raise _err(500, "InternalServerError", f"{type(e).__name__}: {e}") from None
            status, out = result if isinstance(result, tuple) else (200, result)
            if fault is not None:  # drop: the request ran, its answer is lost
                raise _err(fault.status, fault.code or "ServiceUnavailable", "answer lost")
        except HttpFailure as e:
            req.status = e.status
            hdrs: dict[str, str] = {}
            if fault is not None and fault.retry_after is not None:
                hdrs["Retry-After"] = str(int(fault.retry_after))
            if e.status == 400 and e.code == "BadRequest":
                self.violations.append(f"{method} {path}: {e.message}")
            return e.status, hdrs, _error_body(e.code, e.message)
        req.status = status
        return status, {}, out

    _ROUTES: tuple[tuple[str, str, str], ...] = (
        ("GET", r"/(?P<user>me|users/[^/]+)/calendarView/delta", "delta"),
        ("GET", r"/(?P<user>me|users/[^/]+)/events/(?P<id>[^/]+)", "events.get"),
        ("GET", r"/(?P<user>me|users/[^/]+)/events", "events.list"),
        ("POST", r"/(?P<user>me|users/[^/]+)/events", "events.create"),
        ("PATCH", r"/(?P<user>me|users/[^/]+)/events/(?P<id>[^/]+)", "events.update"),
        ("DELETE", r"/(?P<user>me|users/[^/]+)/events/(?P<id>[^/]+)", "events.delete"),
        ("POST", r"/(?P<user>me|users/[^/]+)/events/(?P<id>[^/]+)/decline", "events.decline"),
        ("POST", r"/(?P<user>me|users/[^/]+)/outlook/masterCategories", "masterCategories.create"),
        ("POST", r"/(?P<user>me|users/[^/]+)/calendar/getSchedule", "getSchedule"),
        ("POST", r"/(?P<user>me|users/[^/]+)/sendMail", "sendMail"),
    )

    def _route(self, method: str, path: str) -> tuple[str, dict[str, str]]:
        for m, pattern, name in self._ROUTES:
            match = re.fullmatch(pattern, path)
            if m == method and match:
                params = {k: unquote(v) for k, v in match.groupdict().items()}
                user = params["user"]
                params["mailbox"] = self.owner if user == "me" else user[len("users/") :].lower()
                return name, params
        raise _err(400, "BadRequest", f"no {method} {path} in Graph v1.0 as used here")

    # --- checks ------------------------------------------------------------------------------

    def _bad(self, message: str) -> HttpFailure:
        return _err(400, "BadRequest", message)

    def _allow_query(self, query: Mapping[str, str], allowed: set[str], name: str) -> None:
        extra = set(query) - allowed
        if extra:
            raise self._bad(f"{name}: query options not supported here: {sorted(extra)}")

    def _prefer(self, headers: Mapping[str, str], name: str) -> tuple[ZoneInfo, str, int | None]:
        """The outlook.timezone (required: coachd sets it explicitly) and odata.maxpagesize."""
        text = headers.get("prefer", "")
        tz_name: str | None = None
        size: int | None = None
        for item in [p.strip() for p in text.split(",") if p.strip()]:
            key, eq, value = item.partition("=")
            if not eq:
                raise self._bad(f"{name}: malformed Prefer item {item!r}")
            if key.strip() == "outlook.timezone":
                tz_name = value.strip().strip('"')
            elif key.strip() == "odata.maxpagesize":
                if not value.strip().isdigit():
                    raise self._bad(f"{name}: odata.maxpagesize must be an integer")
                size = int(value)
            else:
                raise self._bad(f"{name}: unknown preference {key!r}")
        if tz_name is None:
            raise self._bad(f'{name}: no Prefer: outlook.timezone="..." header')
        try:
            return _zone(tz_name), tz_name, size
        except ValueError as e:
            raise self._bad(f"{name}: Prefer outlook.timezone: {e}") from None

    def _check_event_body(self, body: Any, name: str, *, create: bool) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise self._bad(f"{name}: the body must be a JSON object")
        for k, v in body.items():
            if k not in EVENT_FIELDS:
                raise self._bad(f"{name}: {k!r} is not a writable event property")
            if not isinstance(v, EVENT_FIELDS[k]) or (
                isinstance(v, bool) and EVENT_FIELDS[k] is int
            ):
                raise self._bad(f"{name}: {k} has the wrong type")
        if create and not ("start" in body and "end" in body):
            raise self._bad(f"{name}: start and end are required")
        for k in ("start", "end"):
            if k in body:
                try:
                    parse_dtz(body[k], k)
                except ValueError as e:
                    raise self._bad(f"{name}: {e}") from None
        if "showAs" in body and body["showAs"] not in SHOW_AS:
            raise self._bad(f"{name}: showAs {body['showAs']!r} is not a freeBusyStatus")
        for a in body.get("attendees", []):
            ok = isinstance(a, dict) and isinstance(a.get("emailAddress"), dict)
            if not ok or not isinstance(a["emailAddress"].get("address"), str):
                raise self._bad(f"{name}: an attendee needs emailAddress.address")
            if a.get("type", "required") not in ("required", "optional", "resource"):
                raise self._bad(f"{name}: attendee type {a.get('type')!r}")
        for p in body.get("singleValueExtendedProperties", []):
            if not (isinstance(p, dict) and set(p) == {"id", "value"}):
                raise self._bad(f"{name}: an extended property is exactly {{id, value}}")
            if not re.fullmatch(r"String \{[0-9a-fA-F-]{36}\} Name \S+", str(p["id"])):
                raise self._bad(
                    f"{name}: extended property id {p['id']!r} is not 'String {{guid}} Name x'"
                )
            if not isinstance(p["value"], str):
                raise self._bad(f"{name}: extended property values are strings")
        if "body" in body and body["body"].get("contentType") not in ("text", "html"):
            raise self._bad(f"{name}: body.contentType must be text or html")
        return body

    # --- endpoints ---------------------------------------------------------------------------

    def _ep_delta(self, p: dict[str, str], q: dict[str, str], h: dict[str, str], body: Any) -> Any:
        tz, tz_name, size = self._prefer(h, "delta")
        mailbox = p["mailbox"]
        page = min(size or self.page_size, self.page_size)
        forbidden = DELTA_FORBIDDEN & set(q)
        if forbidden:
            raise self._bad(f"delta on calendarView does not support {sorted(forbidden)}")
        if "$skiptoken" in q:
            self._allow_query(q, {"$skiptoken"}, "delta")
            if q["$skiptoken"] not in self._skip:
                raise _err(410, "syncStateNotFound", "The sync state was not found.")
            _, start, end, stamp, rest = self._skip.pop(q["$skiptoken"])
            return self._delta_page(mailbox, start, end, stamp, rest, page)
        if "$deltatoken" in q:
            self._allow_query(q, {"$deltatoken"}, "delta")
            if q["$deltatoken"] not in self._delta:
                raise _err(410, "syncStateNotFound", "The sync state was not found.")
            box_name, start, end, since = self._delta[q["$deltatoken"]]
            if box_name != mailbox:
                raise self._bad("delta: a deltaLink of another mailbox")
            changes = self._changes(mailbox, start, end, since, tz, tz_name)
            return self._delta_page(mailbox, start, end, self.now_stamp, changes, page)
        self._allow_query(q, {"startDateTime", "endDateTime"}, "delta")
        if "startDateTime" not in q or "endDateTime" not in q:
            raise self._bad("delta: startDateTime and endDateTime are required")
        try:
            start, end = _iso(q["startDateTime"]), _iso(q["endDateTime"])
        except ValueError:
            raise self._bad("delta: startDateTime/endDateTime are not ISO 8601") from None
        items = [
            self._render(e, tz, tz_name)
            for e in self._instances(mailbox, (start, end))
            if e["_start"] < end and e["_end"] > start
        ]
        return self._delta_page(mailbox, start, end, self.now_stamp, items, page)

    def _changes(
        self, mailbox: str, start: datetime, end: datetime, since: int, tz: ZoneInfo, tz_name: str
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for e in self._instances(mailbox, (start, end)):
            if e["_stamp"] > since:
                out.append(self._render(e, tz, tz_name))
        # Changed events that left the window, and deletions, come back as @removed.
        inside = {e["id"] for e in self._instances(mailbox, (start, end))}
        for e in self._box(mailbox).events.values():
            if e["_stamp"] > since and e.get("type") != "seriesMaster" and e["id"] not in inside:
                out.append({"id": e["id"], "@removed": {"reason": "deleted"}})
        for gid, (stamp, ev) in self._box(mailbox).tombstones.items():
            if stamp > since:
                ids = [gid]
                if ev.get("type") == "seriesMaster":
                    ids = [o["id"] for o in self._expand(ev, (start, end))]
                out.extend({"id": i, "@removed": {"reason": "deleted"}} for i in ids)
        return out

    def _delta_page(
        self,
        mailbox: str,
        start: datetime,
        end: datetime,
        stamp: int,
        items: list[dict[str, Any]],
        page: int,
    ) -> Any:
        user = "me" if mailbox == self.owner else f"users/{mailbox}"
        base = f"{self.endpoint}{user}/calendarView/delta"
        now, rest = items[:page], items[page:]
        out: dict[str, Any] = {
            "@odata.context": f"{self.endpoint}$metadata#Collection(event)",
            "value": now,
        }
        if rest:
            tok = uuid.uuid4().hex
            self._skip[tok] = (mailbox, start, end, stamp, rest)
            out["@odata.nextLink"] = f"{base}?$skiptoken={tok}"
        else:
            tok = uuid.uuid4().hex
            self._delta[tok] = (mailbox, start, end, stamp)
            out["@odata.deltaLink"] = f"{base}?$deltatoken={tok}"
        return out

    def _ep_events_get(
        self, p: dict[str, str], q: dict[str, str], h: dict[str, str], body: Any
    ) -> Any:
        self._allow_query(q, {"$select", "$expand"}, "events.get")
        tz, tz_name = self._zone_of(h)
        expand = None
        if "$expand" in q:
            m = re.fullmatch(
                r"singleValueExtendedProperties\(\$filter=id eq '([^']+)'\)", q["$expand"]
            )
            if not m:
                raise self._bad(f"events.get: unsupported $expand {q['$expand']!r}")
            expand = m.group(1)
        ev = self._render(self._find(p["mailbox"], p["id"]), tz, tz_name, expand)
        if "$select" in q:
            keep = {s.strip() for s in q["$select"].split(",")} | {"id"}
            unknown = (
                keep
                - set(EVENT_FIELDS)
                - {
                    "id",
                    "responseStatus",
                    "isCancelled",
                    "isOrganizer",
                    "organizer",
                    "type",
                    "seriesMasterId",
                    "iCalUId",
                    "lastModifiedDateTime",
                }
            )
            if unknown:
                raise self._bad(f"events.get: $select of unknown properties {sorted(unknown)}")
            ev = {k: v for k, v in ev.items() if k in keep or k == "singleValueExtendedProperties"}
        return ev

    def _zone_of(self, h: Mapping[str, str]) -> tuple[ZoneInfo, str]:
        m = re.search(r'outlook\.timezone="([^"]+)"', h.get("prefer", ""))
        name = m.group(1) if m else "UTC"
        try:
            return _zone(name), name
        except ValueError as e:
            raise self._bad(str(e)) from None

    def _ep_events_list(
        self, p: dict[str, str], q: dict[str, str], h: dict[str, str], body: Any
    ) -> Any:
        self._allow_query(q, {"$filter", "$select", "$top"}, "events.list")
        m = re.fullmatch(
            r"singleValueExtendedProperties/Any\(ep: ep/id eq '([^']+)'"
            r" and ep/value eq '([^']*)'\)",
            q.get("$filter", ""),
        )
        if not m:
            raise self._bad(f"events.list: unsupported $filter {q.get('$filter')!r}")
        pid, value = m.group(1).lower(), m.group(2)
        hits = [
            {"id": e["id"]}
            for e in self._box(p["mailbox"]).events.values()
            if any(
                str(x.get("id", "")).lower() == pid and x.get("value") == value
                for x in e.get("singleValueExtendedProperties", [])
            )
        ]
        return {"value": hits}

    def _ep_events_create(
        self, p: dict[str, str], q: dict[str, str], h: dict[str, str], body: Any
    ) -> Any:
        self._allow_query(q, set(), "events.create")
        body = self._check_event_body(body, "events.create", create=True)
        box = self._box(p["mailbox"])
        tz, tz_name = self._zone_of(h)
        tx = body.get("transactionId")
        if tx and tx in box.by_transaction and box.by_transaction[tx] in box.events:
            # A repeated transactionId: the event made the first time, not a second one.
            return 201, self._render(box.events[box.by_transaction[tx]], tz, tz_name)
        ev = self._create(p["mailbox"], copy.deepcopy(body))
        return 201, self._render(ev, tz, tz_name)

    def _ep_events_update(
        self, p: dict[str, str], q: dict[str, str], h: dict[str, str], body: Any
    ) -> Any:
        self._allow_query(q, set(), "events.update")
        body = self._check_event_body(body, "events.update", create=False)
        if "transactionId" in body:
            raise self._bad("events.update: transactionId cannot change after creation")
        ev = self._find(p["mailbox"], p["id"])
        if ev.get("type") == "occurrence":
            raise self._bad("events.update: the fake does not store exceptions")
        ev.update(copy.deepcopy(body))
        self._recompute(ev)
        self._touch(ev)
        tz, tz_name = self._zone_of(h)
        return self._render(ev, tz, tz_name)

    def _ep_events_delete(
        self, p: dict[str, str], q: dict[str, str], h: dict[str, str], body: Any
    ) -> Any:
        self._allow_query(q, set(), "events.delete")
        box = self._box(p["mailbox"])
        if p["id"] not in box.events:
            raise _err(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        self.remove_event(p["mailbox"], p["id"])
        return 204, None

    def _ep_events_decline(
        self, p: dict[str, str], q: dict[str, str], h: dict[str, str], body: Any
    ) -> Any:
        self._allow_query(q, set(), "events.decline")
        if not isinstance(body, dict) or set(body) - {"comment", "sendResponse", "proposedNewTime"}:
            raise self._bad("decline: the body holds comment, sendResponse, proposedNewTime")
        if "comment" in body and not isinstance(body["comment"], str):
            raise self._bad("decline: comment is a string")
        if "sendResponse" in body and not isinstance(body["sendResponse"], bool):
            raise self._bad("decline: sendResponse is a boolean")
        ev = self._find(p["mailbox"], p["id"])
        if ev.get("isOrganizer"):
            raise _err(
                400,
                "ErrorInvalidRequest",
                "Your request can't be completed. You can't respond to a meeting you organized.",
            )
        self.declines.append((p["id"], dict(body)))
        target = self._box(p["mailbox"]).events.get(ev.get("seriesMasterId") or ev["id"], ev)
        target["responseStatus"] = {"response": "declined", "time": "2027-01-01T00:00:00Z"}
        self._touch(target)
        return 202, None

    def _ep_masterCategories_create(
        self, p: dict[str, str], q: dict[str, str], h: dict[str, str], body: Any
    ) -> Any:
        if not isinstance(body, dict) or set(body) - {"displayName", "color"}:
            raise self._bad("masterCategories: the body holds displayName and color")
        if not isinstance(body.get("displayName"), str):
            raise self._bad("masterCategories: displayName is required")
        if body.get("color") is not None and not re.fullmatch(r"none|preset\d{1,2}", body["color"]):
            raise self._bad(f"masterCategories: color {body['color']!r}")
        if any(c["displayName"] == body["displayName"] for c in self.master_categories):
            raise _err(409, "ErrorDuplicateCategory", "A category with that name exists.")
        cat = {"id": uuid.uuid4().hex, **body}
        self.master_categories.append(cat)
        return 201, cat

    def _ep_getSchedule(
        self, p: dict[str, str], q: dict[str, str], h: dict[str, str], body: Any
    ) -> Any:
        self._allow_query(q, set(), "getSchedule")
        tz, tz_name = self._zone_of(h)
        if not isinstance(body, dict) or set(body) - {
            "schedules",
            "startTime",
            "endTime",
            "availabilityViewInterval",
        }:
            raise self._bad("getSchedule: unknown body fields")
        people = body.get("schedules")
        if (
            not isinstance(people, list)
            or not people
            or not all(isinstance(x, str) for x in people)
        ):
            raise self._bad("getSchedule: schedules is a list of addresses")
        if len(people) > SCHEDULE_LIMIT:
            raise self._bad(f"getSchedule: at most {SCHEDULE_LIMIT} schedules")
        try:
            start, end = (
                parse_dtz(body.get("startTime"), "startTime"),
                parse_dtz(body.get("endTime"), "endTime"),
            )
        except ValueError as e:
            raise self._bad(f"getSchedule: {e}") from None
        if not end - start < timedelta(days=SCHEDULE_DAYS):
            raise self._bad(f"getSchedule: the range must be under {SCHEDULE_DAYS} days")
        interval = body.get("availabilityViewInterval", 30)
        if not isinstance(interval, int) or not 5 <= interval <= 1440:
            raise self._bad("getSchedule: availabilityViewInterval is 5..1440 minutes")
        out = []
        for person in people:
            if person.lower() in self.schedule_errors:
                out.append(
                    {
                        "scheduleId": person,
                        "availabilityView": "",
                        "error": {
                            "message": self.schedule_errors[person.lower()],
                            "responseCode": "ErrorMailRecipientNotFound",
                        },
                    }
                )
                continue
            items = []
            for e in sorted(
                self._instances(person.lower(), (start, end)), key=lambda e: e["_start"]
            ):
                if e["_start"] < end and e["_end"] > start and not e.get("isCancelled"):
                    status = str(e.get("showAs", "busy"))
                    items.append(
                        {
                            "isPrivate": False,
                            "status": status[0].upper() + status[1:],
                            "start": {"dateTime": _wall(e["_start"], tz), "timeZone": tz_name},
                            "end": {"dateTime": _wall(e["_end"], tz), "timeZone": tz_name},
                        }
                    )
            out.append({"scheduleId": person, "availabilityView": "", "scheduleItems": items})
        return {"value": out}

    def _ep_sendMail(
        self, p: dict[str, str], q: dict[str, str], h: dict[str, str], body: Any
    ) -> Any:
        self._allow_query(q, set(), "sendMail")
        if not h.get("content-type", "").startswith("text/plain") or not isinstance(body, bytes):
            raise self._bad("sendMail (MIME): Content-Type text/plain with base64 MIME content")
        try:
            raw = base64.b64decode(body, validate=True)
        except ValueError:
            raise self._bad("sendMail: the MIME content is not base64") from None
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        if not msg["To"] and not msg["Cc"] and not msg["Bcc"]:
            raise self._bad("sendMail: the message has no recipients")
        self.sent_mail.append(msg)
        return 202, None

    def _batch(
        self, method: str, path: str, query: dict[str, str], h: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        req = Request(method, path, query, h, None, "$batch")
        self.requests.append(req)
        fault = self._take_fault(method, path)
        if fault is not None:
            req.status = fault.status
            hdrs = {"Retry-After": str(int(fault.retry_after))} if fault.retry_after else {}
            status, _, data = self._json(
                fault.status, _error_body(fault.code or "TooManyRequests", "injected")
            )
            return status, {**hdrs, "Content-Type": "application/json"}, data

        def bad(msg: str) -> tuple[int, dict[str, str], bytes]:
            self.violations.append(f"$batch: {msg}")
            req.status = 400
            return self._json(400, _error_body("BadRequest", msg))

        if method != "POST" or not h.get("content-type", "").startswith("application/json"):
            return bad("POST with Content-Type application/json")
        try:
            body = json.loads(raw)
        except ValueError:
            return bad("the body is not JSON")
        reqs = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(reqs, list) or not reqs:
            return bad("requests must be a non-empty list")
        if len(reqs) > BATCH_LIMIT:
            return bad(f"at most {BATCH_LIMIT} requests in one batch (got {len(reqs)})")
        ids = [r.get("id") if isinstance(r, dict) else None for r in reqs]
        if len(set(ids)) != len(ids) or not all(isinstance(i, str) and i for i in ids):
            return bad("every request needs a unique string id")
        responses = []
        for r in reqs:
            if set(r) - {"id", "method", "url", "headers", "body", "dependsOn"}:
                return bad(f"request {r['id']}: unknown fields")
            url = r.get("url")
            if not isinstance(url, str) or not url.startswith("/") or url.startswith("/v1.0"):
                return bad(f"request {r['id']}: url must be relative to the version root")
            headers = {k.lower(): v for k, v in (r.get("headers") or {}).items()}
            if "body" in r and not headers.get("content-type"):
                return bad(f"request {r['id']}: a body needs a Content-Type header")
            parts = urlsplit(url)
            q = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            status, hdrs, out = self._one(
                str(r.get("method", "")).upper(),
                parts.path,
                q,
                headers,
                r.get("body"),
                in_batch=True,
            )
            one: dict[str, Any] = {"id": r["id"], "status": status, "headers": hdrs}
            if out is not None:
                one["body"] = out
            responses.append(one)
        req.status = 200
        return self._json(200, {"responses": responses})


def _error_body(code: str, message: str) -> dict[str, Any]:
    return {
        "error": {"code": code, "message": message, "innerError": {"request-id": uuid.uuid4().hex}}
    }


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGraph
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # the fake keeps its own log
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        status, headers, body = self.fake.handle(self.command, self.path, dict(self.headers), raw)
        try:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up waiting (a delay fault)

    do_GET = do_POST = do_PATCH = do_DELETE = _serve


@pytest.fixture
def fake_graph() -> Iterator[FakeGraph]:
    with FakeGraph() as fake:
        yield fake
        assert not fake.violations, fake.violations
