"""A loopback fake of Salesforce (HTTPS, self-signed): the OAuth token endpoint, REST
`query` / `queryMore` and the analytics report endpoint, for tests.

The token endpoint checks a JWT bearer grant: decodes the assertion and verifies its RS256
signature with the test's public key, and checks iss/sub/aud/exp; or a password grant's
fields. `query` answers from `answer(soql)` (a callable the test sets) and checks every
received SOQL against `expect(soql)`; a violation is recorded in `violations`. Pages: an
answer with more than `page_size` records is split, followed via nextRecordsUrl. Bearer
tokens are checked on every data request. `fail(status, times)` queues error answers.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt

from tests.loopback import JsonHandler, serve_https, stop

API = "/services/data/v59.0"
TOKEN = "00Dfake!access-token"


@dataclass
class FakeSalesforce:
    cert: tuple[Path, Path]
    public_key: str
    consumer_key: str = "3MVG9fake"
    username: str = "coachd@acme.example"
    secret: str = "s3cret"
    password: str = "pw+token"
    users: set[str] = field(default_factory=set)
    answer: Callable[[str], dict[str, Any]] = lambda soql: {"records": []}
    report: Callable[[str, dict[str, Any]], dict[str, Any]] = lambda rid, body: {}
    page_size: int = 2000
    soql: list[str] = field(default_factory=list)
    grants: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    _fail: list[tuple[int, str]] = field(default_factory=list)
    _pages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def fail(self, status: int, times: int = 1, path: str = "") -> None:
        self._fail.extend([(status, path)] * times)

    def __enter__(self) -> FakeSalesforce:
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        self._lock = threading.Lock()
        self._server = serve_https(Handler, self.cert)
        return self

    def __exit__(self, *exc: object) -> None:
        stop(self._server)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    # --- endpoints ---

    def token(self, form: dict[str, str]) -> tuple[int, Any]:
        self.grants.append(form)
        if form.get("grant_type") == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            try:
                claims = jwt.decode(
                    form.get("assertion", ""),
                    self.public_key,
                    algorithms=["RS256"],
                    audience=self.url,
                    options={"require": ["iss", "sub", "aud", "exp"]},
                )
            except jwt.PyJWTError as e:
                return 400, {"error": "invalid_grant", "error_description": f"bad assertion: {e}"}
            if claims["iss"] != self.consumer_key or claims["sub"] != self.username:
                return 400, {"error": "invalid_grant", "error_description": "user hasn't approved"}
            if not 0 < claims["exp"] - time.time() <= 300:
                return 400, {"error": "invalid_grant", "error_description": "expired"}
        elif form.get("grant_type") == "password":
            want = {
                "client_id": self.consumer_key,
                "client_secret": self.secret,
                "username": self.username,
                "password": self.password,
            }
            if any(form.get(k) != v for k, v in want.items()):
                return 400, {
                    "error": "invalid_grant",
                    "error_description": "authentication failure",
                }
        else:
            return 400, {"error": "unsupported_grant_type", "error_description": "grant type"}
        return 200, {"access_token": TOKEN, "instance_url": self.url, "token_type": "Bearer"}

    def query(self, soql: str) -> tuple[int, Any]:
        with self._lock:
            self.soql.append(soql)
        if soql.startswith("SELECT Id FROM User WHERE Email = "):
            email = soql_literal(soql[len("SELECT Id FROM User WHERE Email = ") :])
            if (
                soql
                != f"SELECT Id FROM User WHERE Email = {quote(email)} AND IsActive = true LIMIT 1"
            ):
                self.violations.append(f"user query reshaped: {soql}")
            found = email in self.users
            return 200, {
                "totalSize": int(found),
                "done": True,
                "records": [{"attributes": {"type": "User"}, "Id": "005x"}] if found else [],
            }
        got = self.answer(soql)
        records = got.get("records", [])
        if "raw" in got:
            return 200, got["raw"]
        pages = [records[i : i + self.page_size] for i in range(0, len(records), self.page_size)]
        return 200, self._page(pages or [[]], len(records), 0, str(len(self.soql)))

    def _page(self, pages: list[list[Any]], total: int, i: int, qid: str) -> dict[str, Any]:
        done = i + 1 >= len(pages)
        out: dict[str, Any] = {"totalSize": total, "done": done, "records": pages[i]}
        if not done:
            locator = f"01g{qid}-{(i + 1) * self.page_size}"
            self._pages[locator] = [{"pages": pages, "total": total, "i": i + 1, "qid": qid}]
            out["nextRecordsUrl"] = f"{API}/query/{locator}"
        return out

    def query_more(self, locator: str) -> tuple[int, Any]:
        st = self._pages.get(locator)
        if not st:
            return 400, [{"errorCode": "INVALID_QUERY_LOCATOR", "message": "bad locator"}]
        s = st[0]
        return 200, self._page(s["pages"], s["total"], s["i"], s["qid"])


# --- SOQL literal helpers (the fake's own, to check what the client sent) ---

_ESC = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}


def soql_literal(text: str) -> str:
    """The value of the quoted SOQL string literal at the start of `text` (escapes decoded)."""
    if not text.startswith("'"):
        raise ValueError(f"not a string literal: {text[:40]!r}")
    out = []
    i = 1
    while i < len(text):
        c = text[i]
        if c == "\\":
            out.append(_ESC[text[i + 1]])
            i += 2
            continue
        if c == "'":
            return "".join(out)
        out.append(c)
        i += 1
    raise ValueError("unterminated literal")


def quote(value: str) -> str:
    """The one correct SOQL literal for `value`."""
    inv = {v: k for k, v in _ESC.items()}
    return "'" + "".join("\\" + inv[c] if c in inv else c for c in value) + "'"


class _Handler(JsonHandler):
    fake: FakeSalesforce

    def _send(self, status: int, body: Any) -> None:
        self.send_json(status, body)

    def _handle(self, method: str) -> None:
        f = self.fake
        parts = urlsplit(self.path)
        raw = self.body()
        f.paths.append(f"{method} {parts.path}")
        if f._fail and (not f._fail[0][1] or f._fail[0][1] in parts.path):
            status, _ = f._fail.pop(0)
            self._send(status, [{"errorCode": f"E{status}", "message": f"failure {status}"}])
            return
        if parts.path == "/services/oauth2/token" and method == "POST":
            form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            self._send(*f.token(form))
            return
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._send(401, [{"errorCode": "INVALID_SESSION_ID", "message": "Session expired"}])
            return
        if parts.path == f"{API}/query/" and method == "GET":
            q = parse_qs(parts.query).get("q", [""])[0]
            self._send(*f.query(q))
            return
        if parts.path.startswith(f"{API}/query/") and method == "GET":
            self._send(*f.query_more(parts.path[len(f"{API}/query/") :]))
            return
        if parts.path.startswith(f"{API}/analytics/reports/") and method == "POST":
            body = json.loads(raw or b"{}")
            self._send(200, f.report(parts.path.rsplit("/", 1)[1], body))
            return
        self._send(404, [{"errorCode": "NOT_FOUND", "message": parts.path}])

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")
