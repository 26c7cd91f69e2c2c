"""Google credentials: the installed-app OAuth flow, the token file, and service accounts.

Setting up a single manager (OAuth):
1. Google Cloud console: create a project, enable the Google Calendar API (and the Gmail API
   when `email.transport: gmail`), configure the OAuth consent screen (add the manager as a
   test user while the app is in testing), then Credentials -> Create OAuth client ID ->
   application type "Desktop app"; download the JSON to `calendar.google.client_secrets`.
2. `coachd auth google [--port 8765]` prints a consent URL and waits on localhost:PORT. On a
   headless server, first run `ssh -L 8765:localhost:8765 server` from the laptop, then open
   the URL in the laptop's browser; Google redirects to localhost:8765, which the tunnel
   carries to coachd. The token lands in `calendar.google.token_file` (mode 0600).
Organization (service account with domain-wide delegation):
1. Create a service account, create a JSON key, store it with `chmod 600` at
   `calendar.google.service_account_key`, set `credentials: service_account`.
2. Admin console -> Security -> API controls -> Domain-wide delegation: add the service
   account's client ID with the scopes from `scopes_for` (calendar.events,
   calendar.freebusy, and gmail.send when mail goes through Gmail). coachd acts as
   `manager.email` (`with_subject`); no interactive step is needed.

The token file holds a refresh token, so it is treated like a password: JSON (never pickle),
mode 0600 in a 0700 folder whatever the umask, written atomically (temp + fsync + rename),
refused when group- or world-readable, and never logged.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from integrations.errors import TransientError, UserError
from integrations.fsutil import atomic_write
from planner.policy import Policy

log = logging.getLogger(__name__)

SCOPE_EVENTS = "https://www.googleapis.com/auth/calendar.events"
# freebusy.query is not covered by calendar.events: it needs its own scope.
SCOPE_FREEBUSY = "https://www.googleapis.com/auth/calendar.freebusy"
SCOPE_GMAIL_SEND = "https://www.googleapis.com/auth/gmail.send"
SCOPE_SHEETS_READONLY = "https://www.googleapis.com/auth/spreadsheets.readonly"


def scopes_for(policy: Policy) -> list[str]:
    """The OAuth scopes this policy needs: calendar events and free/busy, plus gmail.send
    when email goes out through Gmail, plus spreadsheets.readonly only when a KPI source is
    a Google Sheet."""
    scopes = [SCOPE_EVENTS, SCOPE_FREEBUSY]
    if policy.email.transport == "gmail":
        scopes.append(SCOPE_GMAIL_SEND)
    if any(s.type == "google_sheets" for s in policy.kpi_source):
        scopes.append(SCOPE_SHEETS_READONLY)
    return scopes


def run_oauth_flow(
    client_secrets: Path,
    token_file: Path,
    scopes: Sequence[str],
    *,
    port: int,
    open_browser: bool = False,
) -> Any:
    """Run the installed-app flow and store the token; returns the credentials.

    Listens on localhost:`port` and prints the consent URL (the out-of-band flow no longer
    exists). On a headless server, forward the port first: `ssh -L PORT:localhost:PORT host`,
    then open the printed URL in the local browser.
    """
    from google_auth_oauthlib.flow import InstalledAppFlow

    if not client_secrets.is_file():
        raise UserError(
            f"{client_secrets}: no OAuth client file; create a 'Desktop app' OAuth client in "
            "the Google Cloud console and download its JSON to this path"
        )
    try:
        flow = InstalledAppFlow.from_client_secrets_file(str(client_secrets), scopes=list(scopes))
    except (ValueError, KeyError) as e:
        raise UserError(f"{client_secrets}: not an OAuth client secrets file ({e})") from None
    creds = flow.run_local_server(
        host="localhost",
        port=port,
        open_browser=open_browser,
        authorization_prompt_message=(
            "Open this URL in a browser (over `ssh -L {port}:localhost:{port}` on a headless "
            "server) and allow access:\n{url}"
        ).replace("{port}", str(port)),
        success_message="coachd is authorized. You may close this window.",
    )
    save_token(token_file, creds)
    return creds


def _write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` with mode 0600 atomically, in a folder only the owner enters."""
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    # mkdir's mode is masked by the umask and ignored for an existing folder: set it outright.
    os.chmod(folder, 0o700)
    atomic_write(path, data, mode=0o600)


def save_token(token_file: Path, creds: Any) -> None:
    """Store OAuth user credentials as JSON (`creds.to_json()`), mode 0600, atomically."""
    _write_private(token_file, creds.to_json().encode("utf-8"))
    log.info("stored the Google token in %s", token_file)


def check_private(path: Path) -> None:
    """Refuse a secret file that the group or others can read or write."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise UserError(
            f"{path} is readable by other users (mode {mode:04o}); it holds a Google token: "
            f"run `chmod 600 {path}`"
        )


def load_token(token_file: Path, scopes: Sequence[str]) -> Any:
    """Load stored OAuth credentials, refreshing (and re-saving) them when expired.

    Raises UserError when the file is missing, unreadable, too open or not a token, and
    TransientError when the refresh could not reach Google.
    """
    import google.auth.exceptions
    from google.auth.transport.requests import Request
    from google.oauth2.credentials import Credentials

    if not token_file.is_file():
        raise UserError(f"{token_file}: no Google token yet; run `coachd auth google`")
    check_private(token_file)
    try:
        info = json.loads(token_file.read_text(encoding="utf-8"))
        creds = Credentials.from_authorized_user_info(  # type: ignore[no-untyped-call]
            info, scopes=list(scopes)
        )
    except (OSError, ValueError) as e:
        # ValueError from google.auth names missing fields, never their values.
        raise UserError(
            f"{token_file}: not a usable Google token ({type(e).__name__}); "
            "run `coachd auth google` again"
        ) from None
    if not creds.valid and creds.refresh_token:
        try:
            creds.refresh(Request())
        except google.auth.exceptions.RefreshError as e:
            raise UserError(
                f"Google refused to refresh the token in {token_file} ({e}); "
                "run `coachd auth google` again"
            ) from None
        except google.auth.exceptions.TransportError as e:
            raise TransientError(f"cannot reach Google to refresh the token: {e}") from None
        save_token(token_file, creds)
    return creds


def load_service_account(key_file: Path, scopes: Sequence[str], subject: str | None) -> Any:
    """Service-account credentials acting as `subject` (domain-wide delegation)."""
    from google.oauth2 import service_account

    if not key_file.is_file():
        raise UserError(f"{key_file}: no service-account key file")
    check_private(key_file)
    try:
        creds = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
            str(key_file), scopes=list(scopes)
        )
    except (OSError, ValueError, KeyError) as e:
        raise UserError(f"{key_file}: not a service-account key ({type(e).__name__})") from None
    return creds.with_subject(subject) if subject else creds
