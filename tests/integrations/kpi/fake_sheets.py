"""A loopback fake of Google Sheets API v4 `spreadsheets.values.get`, for tests.

Real google-api-python-client code talks HTTP to it. Every request's path and query
parameters are checked against the Sheets v4 discovery document shipped with the client
(an unknown or malformed parameter is a 400 recorded in `violations`). Cells are returned
as the UNFORMATTED_VALUE render would: numbers stay numbers, trailing empty cells are
dropped. `fail(status, times=..., reason=..., retry_after=...)` queues error answers.

    with FakeSheets() as fake:
        fake.sheets["sheet1"] = [["week", "rep", "kpi", "value"], ["2026-11-23", ...]]
        settings = GoogleSettings(credentials="none", api_endpoint=fake.root)
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.integrations.google.fake_server import DOCS, Discovery
from tests.loopback import free_port

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


@dataclass
class Seen:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    params: dict[str, str]
    status: int


@dataclass
class Failure:
    status: int
    times: int
    reason: str = ""
    retry_after: float | None = None


@dataclass
class FakeSheets:
    """The server; `sheets` maps spreadsheet id to its rows (lists of cells)."""

    sheets: dict[str, list[list[Any]]] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    _failures: list[Failure] = field(default_factory=list)

    def __post_init__(self) -> None:
        doc = json.loads((DOCS / "sheets.v4.json").read_text(encoding="utf-8"))
        self.discovery = Discovery(doc, "/")
        self.port = free_port()
        self.root = f"http://127.0.0.1:{self.port}/"
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeSheets:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail(
        self, status: int, *, times: int = 1, reason: str = "", retry_after: float | None = None
    ) -> None:
        with self._lock:
            self._failures.append(Failure(status, times, reason, retry_after))

    def _answer(self, method: str, raw_path: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        parts = urlsplit(raw_path)
        query = parse_qs(parts.query, keep_blank_values=True)
        hit = self.discovery.route(method, parts.path)
        seen = Seen(method, parts.path, query, {}, 200)
        with self._lock:
            self.requests.append(seen)
            if hit is None:
                self.violations.append(f"{method} {parts.path}: no such method")
                seen.status = 404
                return 404, _error(404, "", "no such method"), {}
            name, spec, params = hit
            seen.params = params
            problems = self.discovery.check_query(spec, query)
            if problems:
                self.violations.extend(f"{name}: {p}" for p in problems)
                seen.status = 400
                return 400, _error(400, "badRequest", "; ".join(problems)), {}
            if self._failures:
                f = self._failures[0]
                f.times -= 1
                if f.times <= 0:
                    self._failures.pop(0)
                seen.status = f.status
                headers = {"Retry-After": str(f.retry_after)} if f.retry_after is not None else {}
                return f.status, _error(f.status, f.reason, "injected"), headers
            if name != "spreadsheets.values.get":
                seen.status = 501
                return 501, _error(501, "", f"{name} is not faked"), {}
            sid = params["spreadsheetId"]
            if sid not in self.sheets:
                seen.status = 404
                return 404, _error(404, "notFound", "Requested entity was not found."), {}
            rows = [_trim(r) for r in self.sheets[sid]]
            while rows and not rows[-1]:
                rows.pop()
            body: dict[str, Any] = {"range": params["range"], "majorDimension": "ROWS"}
            if rows:
                body["values"] = rows
            return 200, body, {}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body, headers = fake._answer("GET", self.path)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler


def _trim(row: list[Any]) -> list[Any]:
    out = list(row)
    while out and out[-1] in ("", None):
        out.pop()
    return out


def _error(status: int, reason: str, message: str) -> dict[str, Any]:
    err: dict[str, Any] = {
        "code": status,
        "message": message,
        "status": STATUS_NAMES.get(status, ""),
    }
    if reason:
        err["errors"] = [{"reason": reason, "message": message, "domain": "global"}]
    return {"error": err}
