"""Microsoft credentials through MSAL: the device-code flow, the token cache file, app-only.

One manager (`credentials: device_code`): `coachd auth microsoft` prints a short code and
the address where to enter it (any browser, any device: nothing runs a browser or listens on
the server, so it works over SSH). MSAL's token cache, holding the refresh token, lands in
`calendar.microsoft.token_cache`; each later token is refreshed silently from it.

An organisation (`client_secret` or `certificate`): the app signs in as itself with the
client-credentials grant and acts for `manager.email` (`/users/{address}`); an application
access policy in Exchange Online limits which mailboxes it may touch (see the README).

The cache file is a password: JSON (MSAL's own format, never pickle), mode 0600 in a 0700
folder whatever the umask, written atomically (temp + fsync + rename) only when MSAL says
it changed, refused when group- or world-readable, and never logged.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from integrations.errors import TransientError, UserError
from integrations.fsutil import atomic_write
from integrations.microsoft.client import DEFAULT_ENDPOINT, DEFAULT_TIMEOUT, GraphClient
from integrations.microsoft.timezones import windows_name
from planner.policy import MicrosoftSettings

log = logging.getLogger(__name__)

GRAPH = "https://graph.microsoft.com/"
# Delegated permissions for one manager. getSchedule is covered by Calendars.ReadWrite.
SCOPE_CALENDARS = GRAPH + "Calendars.ReadWrite"
SCOPE_MAIL_SEND = GRAPH + "Mail.Send"
# App-only tokens carry the application permissions an admin granted to the app.
SCOPE_APP = GRAPH + ".default"


def delegated_scopes(send_mail: bool) -> list[str]:
    """The delegated scopes: calendars, plus Mail.Send when email goes out through Graph."""
    return [SCOPE_CALENDARS, SCOPE_MAIL_SEND] if send_mail else [SCOPE_CALENDARS]


def authority(settings: MicrosoftSettings) -> str:
    """`https://login.microsoftonline.com/<tenant>` (or another cloud's host)."""
    return f"{settings.authority_host.rstrip('/')}/{settings.tenant}"


def check_private(path: Path) -> None:
    """Refuse a secret file that the group or others can read or write."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise UserError(
            f"{path} is readable by other users (mode {mode:04o}); it holds Microsoft "
            f"sign-in tokens: run `chmod 600 {path}`"
        )


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` with mode 0600 atomically, in a folder only the owner enters."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path.parent, 0o700)  # mkdir's mode is masked by the umask, and skipped if it exists
    atomic_write(path, data, mode=0o600)


def load_cache(path: Path) -> Any:
    """MSAL's token cache from `path` (empty when the file does not exist yet)."""
    import msal

    cache = msal.SerializableTokenCache()
    if path.is_file():
        check_private(path)
        try:
            cache.deserialize(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise UserError(
                f"{path}: not a usable token cache ({type(e).__name__}); "
                "run `coachd auth microsoft` again"
            ) from None
    return cache


def save_cache(path: Path, cache: Any) -> None:
    """Store the cache if MSAL changed it (a new sign-in or a refreshed token)."""
    if cache.has_state_changed:
        write_private(path, cache.serialize().encode("utf-8"))
        cache.has_state_changed = False
        log.info("stored the Microsoft token cache in %s", path)


def _network_error(e: Exception) -> bool:
    import requests

    return isinstance(e, requests.ConnectionError | requests.Timeout | OSError)


def public_app(settings: MicrosoftSettings, cache: Any, http_client: Any = None) -> Any:
    import msal

    extra = {"http_client": http_client} if http_client is not None else {}
    return msal.PublicClientApplication(
        settings.client_id,
        authority=authority(settings),
        token_cache=cache,
        instance_discovery=False,
        **extra,
    )


def run_device_flow(
    settings: MicrosoftSettings,
    cache_path: Path,
    scopes: list[str],
    *,
    show: Callable[[str], None],
    http_client: Any = None,
) -> str:
    """Sign the manager in with the device-code flow and store the cache; returns the
    account's user name. `show` prints MSAL's message (the address and the code)."""
    if settings.credentials != "device_code":
        raise UserError(
            f"calendar.microsoft.credentials is {settings.credentials!r}; `coachd auth "
            "microsoft` is for device_code (app-only credentials need no sign-in)"
        )
    cache = load_cache(cache_path)
    try:
        app = public_app(settings, cache, http_client)
        flow = app.initiate_device_flow(scopes=scopes)
        if "user_code" not in flow:
            raise UserError(
                f"Microsoft refused to start the sign-in: {flow.get('error_description') or flow}"
            )
        show(str(flow["message"]))
        result = app.acquire_token_by_device_flow(flow)
    except UserError:
        raise
    except Exception as e:
        if _network_error(e):
            raise TransientError(f"cannot reach Microsoft to sign in: {e}") from None
        raise
    if "access_token" not in result:
        raise UserError(f"sign-in failed: {result.get('error_description') or result.get('error')}")
    save_cache(cache_path, cache)
    claims = result.get("id_token_claims") or {}
    return str(claims.get("preferred_username") or "")


class TokenSource:
    """Bearer tokens for Graph from MSAL: silently from the cache (device_code) or by the
    client-credentials grant (client_secret, certificate). MSAL keeps tokens until they
    near expiry, so most calls make no request at all."""

    def __init__(
        self,
        settings: MicrosoftSettings,
        *,
        manager: str,
        base_dir: Path,
        scopes: list[str] | None = None,
        http_client: Any = None,
    ) -> None:
        self.settings = settings
        self.manager = manager.lower()
        self.cache_path = base_dir / settings.token_cache
        self.base_dir = base_dir
        self.scopes = scopes
        self.http_client = http_client
        self._app: Any = None
        self._cache: Any = None

    def _credential(self) -> Any:
        s = self.settings
        if s.credentials == "client_secret":
            return s.client_secret
        assert s.certificate and s.certificate_thumbprint
        pem = self.base_dir / s.certificate
        if not pem.is_file():
            raise UserError(f"{pem}: no certificate file (calendar.microsoft.certificate)")
        check_private(pem)
        return {
            "private_key": pem.read_text(encoding="utf-8"),
            "thumbprint": s.certificate_thumbprint,
        }

    def _build(self) -> Any:
        import msal

        extra = {"http_client": self.http_client} if self.http_client is not None else {}
        if self.settings.credentials == "device_code":
            self._cache = load_cache(self.cache_path)
            return public_app(self.settings, self._cache, self.http_client)
        return msal.ConfidentialClientApplication(
            self.settings.client_id,
            client_credential=self._credential(),
            authority=authority(self.settings),
            instance_discovery=False,
            **extra,
        )

    def __call__(self) -> str:
        if self.settings.credentials == "device_code" and not self.cache_path.is_file():
            raise UserError(
                f"{self.cache_path}: no Microsoft sign-in yet; run `coachd auth microsoft`"
            )
        try:
            if self._app is None:
                self._app = self._build()
            if self.settings.credentials == "device_code":
                result = self._silent()
            else:
                result = self._app.acquire_token_for_client(scopes=[SCOPE_APP])
        except (UserError, TransientError):
            raise
        except Exception as e:
            if _network_error(e):
                raise TransientError(f"cannot reach Microsoft for a token: {e}") from None
            raise
        if not result or "access_token" not in result:
            why = (result or {}).get("error_description") or (result or {}).get("error")
            hint = (
                "run `coachd auth microsoft` again"
                if self.settings.credentials == "device_code"
                else "check the app's client_id, secret or certificate and its permissions"
            )
            raise UserError(f"Microsoft gave no token ({why or 'no account signed in'}); {hint}")
        return str(result["access_token"])

    def _silent(self) -> Any:
        accounts = self._app.get_accounts()
        mine = [a for a in accounts if str(a.get("username", "")).lower() == self.manager]
        pick = mine or (accounts if len(accounts) == 1 else [])
        if not pick:
            return None
        result = self._app.acquire_token_silent(self.scopes or [SCOPE_CALENDARS], account=pick[0])
        save_cache(self.cache_path, self._cache)
        return result


def client_for(
    settings: MicrosoftSettings,
    *,
    manager: str,
    tz: ZoneInfo,
    base_dir: Path,
    timeout: float = DEFAULT_TIMEOUT,
    read_timeout: float | None = None,
    scopes: list[str] | None = None,
) -> GraphClient:
    """A GraphClient for the settings: `/me` for a signed-in manager, `/users/<address>`
    for app-only credentials (and for the loopback test server)."""
    token: Callable[[], str] | None = None
    if settings.credentials != "none":
        token = TokenSource(settings, manager=manager, base_dir=base_dir, scopes=scopes)
    return GraphClient(
        endpoint=settings.api_endpoint or DEFAULT_ENDPOINT,
        token=token,
        mailbox="me" if settings.credentials == "device_code" else manager.lower(),
        timezone=windows_name(tz),
        timeout=timeout,
        read_timeout=read_timeout,
    )
