"""One HTTP session to Microsoft Graph: the base URL, the bearer token, the headers, the errors.

Nothing here touches the network or a file until the first request. Every request carries
`Prefer: outlook.timezone="<the manager's Windows zone>"`, so times come back in one known
zone rather than each event's own, and JSON bodies go out as `application/json`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests

from integrations.errors import UserError

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://graph.microsoft.com/v1.0/"
DEFAULT_TIMEOUT = 30.0  # a write (a $batch of up to 20) may take a while on Graph's side
READ_TIMEOUT = 10.0  # a read (a delta page, a getSchedule call) should not
_LOOPBACK = re.compile(r"^http://(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?/")


class GraphError(Exception):
    """A non-2xx answer from Graph: the status, Graph's error code and message, Retry-After."""

    def __init__(
        self, status: int, code: str, message: str, retry_after: float | None = None
    ) -> None:
        super().__init__(f"HTTP {status} {code}: {message}".strip(": "))
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after


def error_parts(body: Any) -> tuple[str, str]:
    """(code, message) of a Graph error body `{"error": {"code", "message"}}`."""
    if isinstance(body, (bytes, str)):
        try:
            body = json.loads(body) if body else None
        except ValueError:
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
            return "", text[:200]
    err = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(err, Mapping):
        return "", ""
    code, message = err.get("code"), err.get("message")
    return (code if isinstance(code, str) else ""), (message if isinstance(message, str) else "")


def retry_after_of(headers: Mapping[str, Any] | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds form), any capitalisation."""
    if not headers:
        return None
    for k, v in headers.items():
        if str(k).lower() == "retry-after":
            try:
                return float(v)
            except (TypeError, ValueError):
                return None
    return None


def error_from(status: int, body: Any, headers: Mapping[str, Any] | None) -> GraphError:
    code, message = error_parts(body)
    return GraphError(status, code, message, retry_after_of(headers))


@dataclass
class GraphClient:
    """Requests to one Graph endpoint as one mailbox.

    `token` returns a bearer token (MSAL, see `auth`); None sends no Authorization header,
    which is allowed only towards a loopback test server. `mailbox` is the user whose
    calendar and mail are used: `me` for a signed-in manager, else their address (app-only).
    """

    endpoint: str = DEFAULT_ENDPOINT
    token: Callable[[], str] | None = None
    mailbox: str = "me"
    timezone: str = "UTC"
    timeout: float = DEFAULT_TIMEOUT
    read_timeout: float | None = None  # requests sent with read=True; None: `timeout`
    session_factory: Callable[[], requests.Session] = requests.Session
    _session: requests.Session | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.endpoint.endswith("/"):
            self.endpoint += "/"

    @property
    def user_path(self) -> str:
        """`me` or `users/<address>`: the root of the mailbox's resources."""
        return "me" if self.mailbox == "me" else f"users/{quote(self.mailbox, safe='@.')}"

    def url(self, path: str) -> str:
        """An absolute URL: absolute links (nextLink, deltaLink) pass through unchanged."""
        if path.startswith(("http://", "https://")):
            return path
        return self.endpoint + path.lstrip("/")

    def headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """Authorization, Accept and the time-zone preference for every request."""
        h = {"Accept": "application/json", "Prefer": f'outlook.timezone="{self.timezone}"'}
        if self.token is not None:
            h["Authorization"] = f"Bearer {self.token()}"
        elif not _LOOPBACK.match(self.endpoint):
            raise UserError(
                "calendar.microsoft.credentials: none needs a loopback "
                "calendar.microsoft.api_endpoint (http://127.0.0.1:PORT/...)"
            )
        for k, v in (extra or {}).items():
            if k == "Prefer":  # several preferences travel comma-separated in one header
                h["Prefer"] = f"{h['Prefer']}, {v}"
            else:
                h[k] = v
        return h

    def session(self) -> requests.Session:
        if self._session is None:
            self._session = self.session_factory()
        return self._session

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        read: bool = False,
    ) -> Any:
        """Send one request; the decoded JSON (None for an empty body), or GraphError.
        A `read` (which changes nothing) waits at most `read_timeout` for the answer."""
        h = self.headers(headers)
        kwargs: dict[str, Any] = {}
        if body is not None:
            h["Content-Type"] = "application/json"
            kwargs["data"] = json.dumps(body).encode("utf-8")
        elif data is not None:
            kwargs["data"] = data
        timeout = self.read_timeout if read and self.read_timeout is not None else self.timeout
        resp = self.session().request(
            method, self.url(path), params=params, headers=h, timeout=timeout, **kwargs
        )
        if not 200 <= resp.status_code < 300:
            raise error_from(resp.status_code, resp.content, resp.headers)
        if not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            raise GraphError(resp.status_code, "badJson", "the answer is not JSON") from None
