"""Credentials: the token file's safety, refresh, the installed-app flow, scopes."""

from __future__ import annotations

import json
import os
import re
import stat
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fake_server import FakeGoogle
from google_support import OWNER, TZ, WINDOW

from integrations.errors import UserError
from integrations.google.auth import (
    SCOPE_EVENTS,
    SCOPE_FREEBUSY,
    SCOPE_GMAIL_SEND,
    load_token,
    run_oauth_flow,
    save_token,
    scopes_for,
)
from integrations.google.calendar import open_google_calendar
from integrations.google.retry import Backoff
from integrations.google.sync import MemoryKV
from planner.policy import GoogleSettings, Policy
from tests.loopback import free_port

SCOPES = [SCOPE_EVENTS, SCOPE_FREEBUSY]


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _token_json(fake: FakeGoogle, *, expired: bool) -> str:
    expiry = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=-1 if expired else 1)
    return json.dumps(
        {
            "token": "old-access",
            "refresh_token": "refresh-0",
            "client_id": "cid",
            "client_secret": "csecret",
            "token_uri": fake.root + "token",
            "scopes": SCOPES,
            "expiry": expiry.isoformat(timespec="seconds") + "Z",
        }
    )


def _write_token(path: Path, text: str, mode: int = 0o600) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


class _Creds:
    def __init__(self, text: str) -> None:
        self.text = text

    def to_json(self) -> str:
        return self.text


def test_token_is_private_even_under_umask_022(tmp_path: Path, umask_022: None) -> None:
    token = tmp_path / "secrets" / "google-token.json"
    save_token(token, _Creds('{"token": "t"}'))
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    assert stat.S_IMODE(token.parent.stat().st_mode) == 0o700
    assert json.loads(token.read_text()) == {"token": "t"}
    save_token(token, _Creds('{"token": "u"}'))  # replaced atomically, still private
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    assert [p.name for p in token.parent.iterdir()] == ["google-token.json"]


def test_a_readable_token_is_refused(tmp_path: Path, fake_google: FakeGoogle) -> None:
    token = tmp_path / "token.json"
    _write_token(token, _token_json(fake_google, expired=False), mode=0o644)
    with pytest.raises(UserError, match="chmod 600"):
        load_token(token, SCOPES)


def test_missing_or_garbled_token_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="coachd auth google"):
        load_token(tmp_path / "none.json", SCOPES)
    _write_token(tmp_path / "bad.json", '{"token": "secret-value"}')
    with pytest.raises(UserError, match="coachd auth google") as e:
        load_token(tmp_path / "bad.json", SCOPES)
    assert "secret-value" not in str(e.value)


def test_expired_token_is_refreshed_and_saved(
    tmp_path: Path, fake_google: FakeGoogle, umask_022: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # google-auth always refreshes user tokens at Google's endpoint: point it at the fake.
    monkeypatch.setattr(
        "google.oauth2.credentials._GOOGLE_OAUTH2_TOKEN_ENDPOINT", fake_google.root + "token"
    )
    token = tmp_path / "token.json"
    _write_token(token, _token_json(fake_google, expired=True))
    creds = load_token(token, SCOPES)
    assert creds.token == "access-1" and fake_google.token_grants == ["refresh_token"]
    saved = json.loads(token.read_text())
    assert saved["token"] == "access-1" and saved["refresh_token"] == "refresh-0"
    assert stat.S_IMODE(token.stat().st_mode) == 0o600


def test_oauth_credentials_authorize_api_requests(tmp_path: Path, fake_google: FakeGoogle) -> None:
    _write_token(tmp_path / "secrets" / "t.json", _token_json(fake_google, expired=False))
    settings = GoogleSettings(
        credentials="oauth", token_file="secrets/t.json", api_endpoint=fake_google.endpoint
    )
    cal = open_google_calendar(
        settings,
        manager=OWNER,
        tz=TZ,
        base_dir=tmp_path,
        kv=MemoryKV(),
        backoff=Backoff(sleep=lambda s: None),
    )
    cal.read(OWNER, WINDOW)
    assert [r.authorization for r in fake_google.requests] == ["Bearer old-access"]


def test_constructors_touch_no_file_and_no_network(tmp_path: Path) -> None:
    # The token file does not exist and nothing listens: building must still succeed.
    settings = GoogleSettings(credentials="oauth", api_endpoint="http://127.0.0.1:9/calendar/v3/")
    cal = open_google_calendar(settings, manager=OWNER, tz=TZ, base_dir=tmp_path, kv=MemoryKV())
    with pytest.raises(UserError, match="coachd auth google"):
        cal.read(OWNER, WINDOW)


def test_installed_app_flow_stores_a_private_token(
    tmp_path: Path,
    fake_google: FakeGoogle,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    umask_022: None,
) -> None:
    # The fake's token endpoint is plain http on loopback; oauthlib insists on https otherwise.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    secrets_file = tmp_path / "client_secret.json"
    secrets_file.write_text(
        json.dumps(
            {
                "installed": {
                    "client_id": "cid.apps.googleusercontent.com",
                    "client_secret": "csecret",
                    "auth_uri": "https://accounts.google.com/o/oauth2/auth",
                    "token_uri": fake_google.root + "token",
                    "redirect_uris": ["http://localhost"],
                }
            }
        )
    )
    token = tmp_path / "secrets" / "google-token.json"
    port = free_port()
    errors: list[BaseException] = []

    def flow() -> None:
        try:
            run_oauth_flow(secrets_file, token, SCOPES, port=port)
        except BaseException as e:  # surfaced below
            errors.append(e)

    t = threading.Thread(target=flow, daemon=True)
    t.start()
    url = ""
    for _ in range(200):
        m = re.search(r"https://accounts\.google\.com/\S+", capsys.readouterr().out)
        if m:
            url = m.group(0)
            break
        time.sleep(0.02)
    assert url, "the flow printed no consent URL"
    assert "ssh -L" not in url
    state = re.search(r"state=([^&]+)", url)
    assert state and f"localhost%3A{port}" in url
    # The browser comes back to the local redirect with a code, as after consent.
    with urllib.request.urlopen(
        f"http://127.0.0.1:{port}/?state={state.group(1)}&code=the-code&scope="
        + "%20".join(SCOPES),
        timeout=5,
    ) as resp:
        assert resp.status == 200
    t.join(timeout=10)
    assert not errors and not t.is_alive()
    assert fake_google.token_grants == ["authorization_code"]
    saved = json.loads(token.read_text())
    assert saved["refresh_token"] == "refresh-1"
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    assert stat.S_IMODE(token.parent.stat().st_mode) == 0o700


def test_missing_client_secrets_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="OAuth client"):
        run_oauth_flow(tmp_path / "nope.json", tmp_path / "t.json", SCOPES, port=free_port())


def _policy(transport: str) -> Policy:
    return Policy.model_validate(
        {
            "manager": {"name": "M", "email": OWNER, "timezone": "America/Chicago"},
            "team": [],
            "email": {"transport": transport},
        }
    )


def test_scopes_follow_the_mail_transport() -> None:
    assert scopes_for(_policy("maildir")) == [SCOPE_EVENTS, SCOPE_FREEBUSY]
    assert scopes_for(_policy("gmail")) == [SCOPE_EVENTS, SCOPE_FREEBUSY, SCOPE_GMAIL_SEND]


def test_no_credentials_only_on_loopback(tmp_path: Path) -> None:
    settings = GoogleSettings(credentials="none", api_endpoint="https://proxy.example.com/")
    cal = open_google_calendar(settings, manager=OWNER, tz=TZ, base_dir=tmp_path, kv=MemoryKV())
    with pytest.raises(UserError, match="loopback"):
        cal.read(OWNER, WINDOW)


def test_service_account_acts_for_the_manager(tmp_path: Path, fake_google: FakeGoogle) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    key_file = tmp_path / "sa.json"
    _write_token(
        key_file,
        json.dumps(
            {
                "type": "service_account",
                "project_id": "p",
                "private_key_id": "k1",
                "private_key": pem,
                "client_email": "coachd@p.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": fake_google.root + "token",
            }
        ),
    )
    settings = GoogleSettings(
        credentials="service_account",
        service_account_key="sa.json",
        api_endpoint=fake_google.endpoint,
    )
    cal = open_google_calendar(
        settings,
        manager=OWNER,
        tz=TZ,
        base_dir=tmp_path,
        kv=MemoryKV(),
        backoff=Backoff(sleep=lambda s: None),
    )
    cal.read(OWNER, WINDOW)
    [claims] = fake_google.token_assertions
    assert claims["sub"] == OWNER and claims["iss"] == "coachd@p.iam.gserviceaccount.com"
    assert set(claims["scope"].split()) == set(SCOPES)
    assert [r.authorization for r in fake_google.requests if r.path != "/token"] == [
        "Bearer access-1"
    ]

    key_file.chmod(0o644)  # a key others can read is refused like a token
    cal2 = open_google_calendar(settings, manager=OWNER, tz=TZ, base_dir=tmp_path, kv=MemoryKV())
    with pytest.raises(UserError, match="chmod 600"):
        cal2.read(OWNER, WINDOW)
