"""Building the Google service objects, lazily: nothing here touches the network or a file
until the first request needs it.

One `Connection` per backend instance holds the credentials, one httplib2 transport with a
timeout, and the Calendar and Gmail services built from the discovery documents bundled
with google-api-python-client (`static_discovery=True`: no discovery fetch at run time).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from integrations.errors import UserError
from integrations.google import auth

log = logging.getLogger(__name__)

DEFAULT_ROOT = "https://www.googleapis.com/"
GMAIL_DEFAULT_ROOT = "https://gmail.googleapis.com/"
SHEETS_DEFAULT_ROOT = "https://sheets.googleapis.com/"
CALENDAR_SERVICE_PATH = "calendar/v3/"
CALENDAR_BATCH_PATH = "batch/calendar/v3"
DEFAULT_TIMEOUT = 30.0  # a write (a batch of up to 50) may take a while on Google's side
READ_TIMEOUT = 10.0  # a read (a page of events, a free/busy query) should not
_LOOPBACK = re.compile(r"^http://(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?/")


def api_root(endpoint: str) -> str:
    """The server root of a Calendar endpoint: `http://h:p/calendar/v3/` -> `http://h:p/`.

    An endpoint that does not end in `calendar/v3/` is taken as the root of a proxy that
    serves every Google path under it (scheme and host only).
    """
    e = endpoint if endpoint.endswith("/") else endpoint + "/"
    if e.endswith("/" + CALENDAR_SERVICE_PATH):
        return e[: -len(CALENDAR_SERVICE_PATH)]
    parts = urlsplit(e)
    return f"{parts.scheme}://{parts.netloc}/"


@dataclass
class Connection:
    """Credentials, transport and services for one Google account.

    `credentials` is `oauth` (token file from `coachd auth google`), `service_account` (a key
    with domain-wide delegation, acting as `subject`) or `none` (loopback test servers only;
    the policy validator enforces the loopback endpoint).
    """

    credentials: Literal["oauth", "service_account", "none"]
    scopes: Sequence[str]
    token_file: Path | None = None
    service_account_key: Path | None = None
    subject: str | None = None
    endpoint: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    http_factory: Callable[[float], Any] | None = None
    read_timeout: float | None = None  # reads (events.list, freebusy); None: `timeout`
    _creds: Any = field(default=None, init=False, repr=False)
    _http: Any = field(default=None, init=False, repr=False)
    _read_http: Any = field(default=None, init=False, repr=False)
    _services: dict[str, Any] = field(default_factory=dict, init=False, repr=False)
    _saved_token: str | None = field(default=None, init=False, repr=False)

    # --- endpoints ------------------------------------------------------------------------

    @property
    def calendar_endpoint(self) -> str:
        return self.endpoint or DEFAULT_ROOT + CALENDAR_SERVICE_PATH

    @property
    def batch_uri(self) -> str:
        """Where Calendar batches go. `new_batch_http_request()` ignores api_endpoint, so the
        URI is derived here from the configured endpoint."""
        return api_root(self.calendar_endpoint) + CALENDAR_BATCH_PATH

    @property
    def gmail_endpoint(self) -> str:
        return api_root(self.endpoint) if self.endpoint else GMAIL_DEFAULT_ROOT

    # --- transport ------------------------------------------------------------------------

    def http(self) -> Any:
        """The (authorized) httplib2 transport, built on first use; `timeout` per request."""
        if self._http is None:
            self._http = self._transport(self.timeout)
        return self._http

    def read_http(self) -> Any:
        """A transport with the shorter `read_timeout`, for reads (the same credentials)."""
        if self.read_timeout is None or self.read_timeout == self.timeout:
            return self.http()
        if self._read_http is None:
            self._read_http = self._transport(self.read_timeout)
        return self._read_http

    def _transport(self, timeout: float) -> Any:
        import httplib2

        base = (self.http_factory or (lambda t: httplib2.Http(timeout=t)))(timeout)
        if self.credentials == "none":
            # Unauthenticated requests only ever go to a loopback test server; the policy
            # validator says so too, but a caller may build settings by hand.
            if not _LOOPBACK.match(self.endpoint or ""):
                raise UserError(
                    "calendar.google.credentials: none needs a loopback "
                    "calendar.google.api_endpoint (http://127.0.0.1:PORT/...)"
                )
            return base
        import google_auth_httplib2  # type: ignore[import-untyped]

        return google_auth_httplib2.AuthorizedHttp(self._load_creds(), http=base)

    def _load_creds(self) -> Any:
        if self._creds is None:
            if self.credentials == "oauth":
                if self.token_file is None:
                    raise UserError("calendar.google.token_file is not set")
                self._creds = auth.load_token(self.token_file, self.scopes)
                self._saved_token = self._creds.token
            elif self.credentials == "service_account":
                if self.service_account_key is None:
                    raise UserError(
                        "calendar.google.service_account_key is not set "
                        "(credentials: service_account needs the key file)"
                    )
                self._creds = auth.load_service_account(
                    self.service_account_key, self.scopes, self.subject
                )
        return self._creds

    def persist(self) -> None:
        """Save the OAuth token again if the transport refreshed it since the last save."""
        if self.credentials != "oauth" or self._creds is None or self.token_file is None:
            return
        if self._creds.token != self._saved_token:
            auth.save_token(self.token_file, self._creds)
            self._saved_token = self._creds.token

    # --- services -------------------------------------------------------------------------

    def _build(self, name: str, version: str, endpoint: str) -> Any:
        key = f"{name}/{version}"
        if key not in self._services:
            from googleapiclient.discovery import build

            self._services[key] = build(
                name,
                version,
                http=self.http(),
                static_discovery=True,
                cache_discovery=False,
                client_options={"api_endpoint": endpoint},
            )
        return self._services[key]

    def calendar(self) -> Any:
        """The Calendar v3 service."""
        return self._build("calendar", "v3", self.calendar_endpoint)

    def gmail(self) -> Any:
        """The Gmail v1 service."""
        return self._build("gmail", "v1", self.gmail_endpoint)

    def sheets(self) -> Any:
        """The Sheets v4 service (same root as Gmail: the configured proxy or Google's)."""
        return self._build(
            "sheets", "v4", api_root(self.endpoint) if self.endpoint else SHEETS_DEFAULT_ROOT
        )

    def new_batch(self, callback: Callable[[str, Any, Exception | None], None]) -> Any:
        """An empty Calendar batch aimed at the configured endpoint."""
        from googleapiclient.http import BatchHttpRequest

        return BatchHttpRequest(callback=callback, batch_uri=self.batch_uri)
