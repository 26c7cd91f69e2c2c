"""Salesforce sign-in for a server: the OAuth 2.0 JWT bearer flow, or username-password.

JWT bearer (the default): coachd signs a short-lived assertion (iss = the connected app's
consumer key, sub = the integration user, aud = the login URL) with the private key whose
certificate is uploaded to the connected app, and trades it at `/services/oauth2/token` for
an access token and the org's instance URL. The key file must be readable by its owner only
(mode 0600): a key others can read is refused, never used. Username-password (only when
`auth: password`) posts the consumer secret and the password + security token taken from
the environment variables the config names.

Token requests go through the one retry policy (integrations.google.retry): 429/5xx are
retried with backoff; a refused grant (400/401) is a UserError saying what to fix.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
import requests

from integrations.errors import RemoteError, UserError
from integrations.google import retry
from integrations.google.retry import Backoff, HttpStatusError
from planner.kpi_sources import SalesforceSource

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_TTL = 180  # seconds; Salesforce accepts at most 3 minutes


@dataclass(frozen=True)
class Token:
    access_token: str
    instance_url: str


def private_key(path: Path) -> str:
    """The PEM text of the key file; UserError when it is missing or readable by others."""
    try:
        st = path.stat()
    except OSError as e:
        raise UserError(f"salesforce private key {path}: {e.strerror or e}") from e
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise UserError(
            f"salesforce private key {path} is open to other users (mode "
            f"{stat.S_IMODE(st.st_mode):04o}); refusing to use it: run chmod 600 {path}"
        )
    try:
        return path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"salesforce private key {path}: cannot read it ({e})") from e


def assertion(cfg: SalesforceSource, key_pem: str, now: float) -> str:
    """The signed JWT (RS256) the token endpoint expects."""
    claims = {
        "iss": cfg.consumer_key,
        "sub": cfg.username,
        "aud": cfg.login_url.rstrip("/"),
        "exp": int(now) + ASSERTION_TTL,
    }
    try:
        return jwt.encode(claims, key_pem, algorithm="RS256")
    except (ValueError, TypeError, jwt.PyJWTError) as e:
        raise UserError(f"salesforce private key: not an RSA private key in PEM form ({e})") from e


def _env(env: Mapping[str, str], name: str | None, what: str) -> str:
    value = env.get(name or "", "")
    if not value:
        raise UserError(f"salesforce {what}: environment variable {name} is not set")
    return value


def grant_form(
    cfg: SalesforceSource,
    base_dir: Path,
    env: Mapping[str, str],
    wall: Callable[[], float] = time.time,
) -> dict[str, str]:
    """The token request's form fields for the configured flow. The JWT's expiry uses the
    wall clock (`wall`), never coachd's travelled clock: it is a protocol timestamp."""
    if cfg.auth == "jwt":
        assert cfg.private_key_file is not None  # the schema demands it for jwt
        key = private_key(base_dir / cfg.private_key_file)
        return {"grant_type": JWT_GRANT, "assertion": assertion(cfg, key, wall())}
    return {
        "grant_type": "password",
        "client_id": cfg.consumer_key,
        "client_secret": _env(env, cfg.consumer_secret_env, "consumer secret"),
        "username": cfg.username,
        "password": _env(env, cfg.password_env, "password"),
    }


def fetch_token(
    cfg: SalesforceSource,
    session: requests.Session,
    base_dir: Path,
    *,
    env: Mapping[str, str] = os.environ,
    backoff: Backoff,
    timeout: float,
    wall: Callable[[], float] = time.time,
) -> Token:
    """Sign in; the access token and the instance URL to send queries to."""
    url = cfg.login_url.rstrip("/") + "/services/oauth2/token"

    def post() -> Any:
        form = grant_form(cfg, base_dir, env, wall)  # a fresh assertion per attempt
        try:
            resp = session.post(url, data=form, timeout=timeout)
        except requests.RequestException as e:
            raise OSError(f"{type(e).__name__}: {e}") from e
        if resp.status_code in (400, 401, 403):
            raise UserError(f"salesforce sign-in ({cfg.auth}) refused: {_oauth_error(resp)}")
        if resp.status_code >= 300:
            raise HttpStatusError(resp.status_code, _oauth_error(resp), retry_after=_ra(resp))
        try:
            return resp.json()
        except ValueError as e:
            raise RemoteError(f"salesforce token: the answer is not JSON ({e})") from e

    body = retry.call(post, "salesforce token", backoff)
    token = body.get("access_token") if isinstance(body, dict) else None
    instance = body.get("instance_url") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token or not isinstance(instance, str):
        raise RemoteError("salesforce token: the answer has no access_token or instance_url")
    if urlsplit(instance).scheme != "https" or not urlsplit(instance).hostname:
        raise RemoteError(f"salesforce token: instance_url {instance[:80]!r} is not https")
    return Token(token, instance)


def _oauth_error(resp: requests.Response) -> str:
    try:
        data = resp.json()
    except ValueError:
        return f"HTTP {resp.status_code}: {resp.text[:120]}"
    if isinstance(data, dict):
        err = str(data.get("error", ""))[:60]
        desc = str(data.get("error_description", ""))[:200]
        return f"HTTP {resp.status_code} {err}: {desc}".rstrip(": ")
    return f"HTTP {resp.status_code}"


def _ra(resp: requests.Response) -> float | None:
    return retry.retry_after({k.lower(): v for k, v in resp.headers.items()})
