"""A loopback fake of the Microsoft identity platform (Entra ID) over TLS, for MSAL.

MSAL only talks to https authorities, so this serves a self-signed certificate for
127.0.0.1; the test hands MSAL a `requests.Session` that trusts it. Implemented, as
documented for the v2.0 endpoints: OpenID discovery
(`/{tenant}/v2.0/.well-known/openid-configuration`), the device authorization endpoint
(`/{tenant}/oauth2/v2.0/devicecode`) and the token endpoint (`/{tenant}/oauth2/v2.0/token`)
for the device_code (answering `authorization_pending` once first), refresh_token and
client_credentials grants. Every grant is logged in `grants`; a form that lacks a field
the grant needs is recorded in `violations`.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.loopback import JsonHandler, serve_https, stop

CLIENT_ID = "11111111-2222-3333-4444-555555555555"
TENANT = "contoso.example"
SECRET = "s3cret-value"
USER = "manager@example.com"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


class FakeLogin:
    """The identity platform for one tenant, one app and one user."""

    def __init__(self, cert: tuple[Path, Path], *, access_ttl: int = 3600) -> None:
        self.cert = cert
        self.access_ttl = access_ttl
        self.grants: list[dict[str, str]] = []
        self.device_requests: list[dict[str, str]] = []
        self.violations: list[str] = []
        self.pending = 1  # device-code polls answered authorization_pending before success
        self.issued: list[str] = []
        self._server: ThreadingHTTPServer | None = None

    def __enter__(self) -> FakeLogin:
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        self._server = serve_https(Handler, self.cert)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        stop(self._server)

    @property
    def host(self) -> str:
        assert self._server is not None
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    def handle(self, method: str, path: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        base = f"/{TENANT}"
        if method == "GET" and path == f"{base}/v2.0/.well-known/openid-configuration":
            return 200, {
                "issuer": f"{self.host}/{TENANT}/v2.0",
                "authorization_endpoint": f"{self.host}{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{self.host}{base}/oauth2/v2.0/token",
                "device_authorization_endpoint": f"{self.host}{base}/oauth2/v2.0/devicecode",
            }
        if form.get("client_id") != CLIENT_ID:
            self.violations.append(f"{path}: client_id {form.get('client_id')!r}")
            return 400, {"error": "unauthorized_client"}
        if method == "POST" and path == f"{base}/oauth2/v2.0/devicecode":
            self.device_requests.append(dict(form))
            if "scope" not in form:
                self.violations.append("devicecode: no scope")
            return 200, {
                "device_code": "dev-code-1",
                "user_code": "ABCD-EFGH",
                "verification_uri": "https://microsoft.com/devicelogin",
                "expires_in": 900,
                "interval": 0,
                "message": "To sign in, open https://microsoft.com/devicelogin and enter "
                "ABCD-EFGH.",
            }
        if method == "POST" and path == f"{base}/oauth2/v2.0/token":
            return self._token(form)
        return 404, {"error": "not_found"}

    def _token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        grant = form.get("grant_type", "")
        self.grants.append(dict(form))
        if grant == "urn:ietf:params:oauth:grant-type:device_code":
            if form.get("device_code") != "dev-code-1":
                return 400, {"error": "invalid_grant"}
            if self.pending > 0:
                self.pending -= 1
                return 400, {"error": "authorization_pending", "error_description": "pending"}
            return 200, self._user_tokens(form)
        if grant == "refresh_token":
            if form.get("refresh_token") != "refresh-1":
                return 400, {"error": "invalid_grant", "error_description": "AADSTS70008: expired"}
            return 200, self._user_tokens(form)
        if grant == "client_credentials":
            if form.get("client_secret") != SECRET and "client_assertion" not in form:
                return 401, {"error": "invalid_client", "error_description": "AADSTS7000215"}
            if form.get("scope") != "https://graph.microsoft.com/.default":
                self.violations.append(f"client_credentials scope {form.get('scope')!r}")
            token = f"app-{uuid.uuid4().hex[:8]}"
            self.issued.append(token)
            return 200, {
                "token_type": "Bearer",
                "expires_in": self.access_ttl,
                "access_token": token,
            }
        self.violations.append(f"token: unknown grant {grant!r}")
        return 400, {"error": "unsupported_grant_type"}

    def _user_tokens(self, form: dict[str, str]) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": f"{self.host}/{TENANT}/v2.0",
            "aud": CLIENT_ID,
            "sub": "subject-1",
            "oid": "oid-1",
            "tid": "tid-1",
            "preferred_username": USER,
            "iat": now,
            "exp": now + 3600,
        }
        token = f"user-{uuid.uuid4().hex[:8]}"
        self.issued.append(token)
        return {
            "token_type": "Bearer",
            "scope": form.get("scope", ""),
            "expires_in": self.access_ttl,
            "access_token": token,
            "refresh_token": "refresh-1",
            "id_token": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.",
            "client_info": _b64({"uid": "oid-1", "utid": "tid-1"}),
        }


class _Handler(JsonHandler):
    fake: FakeLogin

    def _serve(self) -> None:
        form = {k: v[0] for k, v in parse_qs(self.body().decode()).items()}
        self.send_json(*self.fake.handle(self.command, urlsplit(self.path).path, form))

    do_GET = do_POST = _serve
