"""A loopback fake of HubSpot's CRM v3 owners list and object search (HTTPS, self-signed).

`owners` maps email to owner id; `objects[type]` is a list of {property: text} records
(HubSpot returns every property as text) with `hubspot_owner_id`. The search endpoint checks
the request body strictly (known keys only, filterGroups of EQ/BETWEEN filters, limit
1..200, `after` a paging cursor it issued) and applies the filters, so the answer is right
only if the request was; a malformed body is a 400 recorded in `violations`. The bearer
token is checked on every request. `fail(status, times)` queues error answers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.loopback import JsonHandler, serve_https, stop

TOKEN = "pat-na1-fake"
BODY_KEYS = {"filterGroups", "properties", "limit", "after", "sorts", "query"}


@dataclass
class FakeHubSpot:
    cert: tuple[Path, Path]
    owners: dict[str, str] = field(default_factory=dict)
    objects: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    _fail: list[int] = field(default_factory=list)

    def fail(self, status: int, times: int = 1) -> None:
        self._fail.extend([status] * times)

    def __enter__(self) -> FakeHubSpot:
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        self._server = serve_https(Handler, self.cert)
        return self

    def __exit__(self, *exc: object) -> None:
        stop(self._server)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    def owner_page(self, query: dict[str, list[str]]) -> tuple[int, Any]:
        if any(len(v) > 1 for v in query.values()):
            self.violations.append(f"a query parameter sent twice: {query}")
            return 400, {"status": "error", "category": "VALIDATION_ERROR"}
        email = query.get("email", [""])[0]
        found = [
            {"id": oid, "email": e, "type": "PERSON", "archived": False}
            for e, oid in self.owners.items()
            if e == email
        ]
        return 200, {"results": found}

    def search(self, kind: str, body: Any) -> tuple[int, Any]:
        self.bodies.append(body)
        problem = _check(body)
        if problem:
            self.violations.append(problem)
            return 400, {"status": "error", "category": "VALIDATION_ERROR", "message": problem}
        (group,) = body["filterGroups"]
        hits = [
            o for o in self.objects.get(kind, []) if all(_match(o, f) for f in group["filters"])
        ]
        start = int(body.get("after") or 0)
        page = hits[start : start + body["limit"]]
        out: dict[str, Any] = {
            "total": len(hits),
            "results": [
                {
                    "id": str(start + i),
                    "properties": {p: o.get(p) for p in body["properties"]},
                    "createdAt": "2026-11-23T10:00:00Z",
                    "updatedAt": "2026-11-23T10:00:00Z",
                    "archived": False,
                }
                for i, o in enumerate(page)
            ],
        }
        if start + body["limit"] < len(hits):
            nxt = str(start + body["limit"])
            out["paging"] = {"next": {"after": nxt, "link": f"?after={nxt}"}}
        return 200, out


def _check(body: Any) -> str:
    if not isinstance(body, dict) or set(body) - BODY_KEYS:
        return f"unknown keys in the search body: {sorted(set(body) - BODY_KEYS)}"
    limit = body.get("limit")
    if not isinstance(limit, int) or not 1 <= limit <= 200:
        return f"limit must be 1..200 (got {limit!r})"
    after = body.get("after")
    if after is not None and not (isinstance(after, str) and after.isdigit()):
        return f"after must be a cursor from paging.next (got {after!r})"
    groups = body.get("filterGroups")
    if not isinstance(groups, list) or len(groups) != 1:
        return "expected one filterGroup"
    for f in groups[0].get("filters", []):
        if f.get("operator") not in ("EQ", "BETWEEN") or not isinstance(f.get("value"), str):
            return f"bad filter {f}"
        if f["operator"] == "BETWEEN" and not isinstance(f.get("highValue"), str):
            return f"BETWEEN without highValue: {f}"
    if not isinstance(body.get("properties"), list):
        return "properties must be a list"
    return ""


def _match(obj: dict[str, str], f: dict[str, Any]) -> bool:
    have = obj.get(f["propertyName"])
    if have is None:
        return False
    if f["operator"] == "EQ":
        return have == f["value"]
    return int(f["value"]) <= int(have) <= int(f["highValue"])


class _Handler(JsonHandler):
    fake: FakeHubSpot

    def _send(self, status: int, body: Any) -> None:
        self.send_json(status, body, {"Retry-After": "0"} if status == 429 else None)

    def _handle(self, method: str) -> None:
        f = self.fake
        parts = urlsplit(self.path)
        raw = self.body()
        f.paths.append(f"{method} {parts.path}")
        if f._fail:
            status = f._fail.pop(0)
            self._send(status, {"status": "error", "category": f"E{status}", "message": "no"})
            return
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._send(401, {"status": "error", "category": "INVALID_AUTHENTICATION"})
            return
        if parts.path == "/crm/v3/owners/" and method == "GET":
            self._send(*f.owner_page(parse_qs(parts.query)))
            return
        segs = parts.path.split("/")
        if len(segs) == 6 and segs[1:4] == ["crm", "v3", "objects"] and segs[5] == "search":
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            self._send(*f.search(segs[4], body))
            return
        self._send(404, {"status": "error", "category": "OBJECT_NOT_FOUND"})

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")
