"""Secrets: the Google token file and the SMTP password.

Reused, not repeated (tests/integrations/google/test_google_auth.py): a new token is 0600
in a 0700 folder under umask 022 and replaced without leftovers; a 0644 token is refused;
a refreshed token is saved 0600. Added here: a folder that already exists too open is
tightened; a failed write leaves the old token whole; every group/world bit is refused
(token and service-account key); and a whole tick at `--log-level DEBUG` with an OAuth
token that gets refreshed and an SMTP password from `${ENV}` logs none of the secrets.
"""

from __future__ import annotations

import base64
import email
import json
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httplib2
import pytest
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from fake_server import FakeGoogle
from worlds import seed_events

from daemon import main
from integrations.errors import UserError
from integrations.google.auth import (
    SCOPE_EVENTS,
    SCOPE_FREEBUSY,
    load_service_account,
    load_token,
    save_token,
)
from tests.loopback import free_port

OLD_ACCESS = "ya29.OLD-ACCESS-TOKEN-sekrit-1a2b3c"
REFRESH = "1//REFRESH-TOKEN-sekrit-4d5e6f"
CLIENT_SECRET = "GOCSPX-CLIENT-SECRET-sekrit-7g8h"
NEW_ACCESS = "access-1"  # what the fake's token endpoint hands out first
SMTP_USER, SMTP_PASSWORD = "coachd-mailer", "smtp-PASSWORD-sekrit-9i0j"


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


class _Creds:
    def __init__(self, text: str) -> None:
        self.text = text

    def to_json(self) -> str:
        return self.text


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_an_existing_open_folder_is_tightened(tmp_path: Path, umask_022: None) -> None:
    folder = tmp_path / "secrets"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    save_token(folder / "token.json", _Creds('{"token": "t"}'))
    assert _mode(folder) == 0o700 and _mode(folder / "token.json") == 0o600


def test_a_failed_write_leaves_the_old_token_whole(
    tmp_path: Path, umask_022: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = tmp_path / "secrets" / "token.json"
    save_token(token, _Creds('{"token": "old"}'))

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError):
        save_token(token, _Creds('{"token": "new"}'))
    monkeypatch.undo()
    assert json.loads(token.read_text()) == {"token": "old"} and _mode(token) == 0o600
    assert [p.name for p in token.parent.iterdir()] == ["token.json"], "a temp file was left"


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o602, 0o660, 0o666])
def test_any_group_or_world_access_is_refused(tmp_path: Path, mode: int) -> None:
    token = tmp_path / "token.json"
    token.write_text(json.dumps({"token": OLD_ACCESS, "refresh_token": REFRESH}))
    token.chmod(mode)
    with pytest.raises(UserError, match="chmod 600") as e:
        load_token(token, [SCOPE_EVENTS])
    assert OLD_ACCESS not in str(e.value) and REFRESH not in str(e.value)
    key = tmp_path / "sa.json"
    key.write_text("{}")
    key.chmod(mode)
    with pytest.raises(UserError, match="chmod 600"):
        load_service_account(key, [SCOPE_EVENTS], "manager@example.com")


# --- a whole tick at DEBUG -----------------------------------------------------------------


class _Inbox:
    def __init__(self) -> None:
        self.received: list[EmailMessage] = []
        self.logins: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        self.received.append(msg)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[int, _Inbox]]:
    """A loopback SMTP server that requires AUTH (plain text is fine on loopback)."""
    inbox = _Inbox()

    def authenticator(
        server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.password == SMTP_PASSWORD.encode()
        if ok:
            inbox.logins.append(data.login)
        return AuthResult(success=ok, handled=False)

    port = free_port()
    ctl = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=False,
    )
    ctl.start()
    try:
        yield port, inbox
    finally:
        ctl.stop()


def _secrets() -> list[str]:
    plain = base64.b64encode(f"\0{SMTP_USER}\0{SMTP_PASSWORD}".encode()).decode()
    return [
        OLD_ACCESS,
        REFRESH,
        CLIENT_SECRET,
        NEW_ACCESS,
        SMTP_PASSWORD,
        base64.b64encode(SMTP_PASSWORD.encode()).decode(),
        plain,
        "Bearer",
    ]


def _google_demo(demo: Path, fake: FakeGoogle, smtp_port: int, mode: int = 0o600) -> Path:
    """The demo on the fake with an expired OAuth token file (mode `mode`) and SMTP with a
    password from `${COACHD_TEST_SMTP_PASSWORD}`; returns config.yaml."""
    for person, body in seed_events(demo):
        fake.add_event(person, body)
    token = demo / "secrets" / "google-token.json"
    token.parent.mkdir(mode=0o700)
    token.write_text(
        json.dumps(
            {
                "token": OLD_ACCESS,
                "refresh_token": REFRESH,
                "client_id": "cid.apps.googleusercontent.com",
                "client_secret": CLIENT_SECRET,
                "token_uri": fake.root + "token",
                "scopes": [SCOPE_EVENTS, SCOPE_FREEBUSY],
                "expiry": (datetime.now(UTC) - timedelta(hours=1))
                .replace(tzinfo=None)
                .isoformat(timespec="seconds")
                + "Z",
            }
        )
    )
    token.chmod(mode)
    cfg = demo / "config.yaml"
    conf = yaml.safe_load(cfg.read_text())
    conf["calendar"] = {
        "backend": "google",
        "google": {"credentials": "oauth", "api_endpoint": fake.endpoint},
    }
    conf["email"]["transport"] = "smtp"
    conf["email"]["smtp"] = {
        "host": "127.0.0.1",
        "port": smtp_port,
        "security": "none",
        "username": SMTP_USER,
        "password": "${COACHD_TEST_SMTP_PASSWORD}",
    }
    cfg.write_text(yaml.safe_dump(conf, sort_keys=False))
    return cfg


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGoogle]:
    """A FakeGoogle as token endpoint and API; the SMTP password in the environment."""
    with FakeGoogle(owner="dana.reyes@acme-demo.com") as f:
        # google-auth refreshes user tokens at Google's own endpoint: point it at the fake.
        monkeypatch.setattr(
            "google.oauth2.credentials._GOOGLE_OAUTH2_TOKEN_ENDPOINT", f.root + "token"
        )
        monkeypatch.setenv("COACHD_TEST_SMTP_PASSWORD", SMTP_PASSWORD)
        yield f


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_debug_tick_logs_no_token_or_password(
    demo: Path, smtp: tuple[int, _Inbox], fake: FakeGoogle, capfd: pytest.CaptureFixture[str]
) -> None:
    port, inbox = smtp
    cfg = _google_demo(demo, fake, port)
    token = demo / "secrets" / "google-token.json"
    capfd.readouterr()

    code = main(["--log-level", "DEBUG", "once", "--config", str(cfg)])
    out = capfd.readouterr()

    # The secrets were really used: refreshed, authorized the API, logged in to SMTP.
    assert code == 0, out.err
    assert fake.token_grants == ["refresh_token"]
    assert {r.authorization for r in fake.requests if r.path != "/token"} == {
        f"Bearer {NEW_ACCESS}"
    }
    assert inbox.received and inbox.logins == [SMTP_USER.encode()] * len(inbox.logins)
    logs = out.out + out.err
    assert " DEBUG " in logs, "the tick did not log at DEBUG: the check would prove nothing"
    leaked = [s for s in _secrets() if s in logs]
    assert leaked == [], f"secrets in the DEBUG log: {leaked}"
    assert httplib2.debuglevel == 0  # it prints every header (Authorization too) when set
    # Neither is the state file a place for secrets.
    state = (demo / "state" / "coachd.json").read_text()
    assert [s for s in _secrets()[:5] if s in state] == []
    assert _mode(token) == 0o600 and json.loads(token.read_text())["token"] == NEW_ACCESS


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_tick_refuses_a_readable_token_and_says_so(
    demo: Path, smtp: tuple[int, _Inbox], fake: FakeGoogle, capfd: pytest.CaptureFixture[str]
) -> None:
    cfg = _google_demo(demo, fake, smtp[0], mode=0o644)
    capfd.readouterr()

    code = main(["once", "--config", str(cfg)])
    err = capfd.readouterr().err

    assert code == 1 and "chmod 600" in err and OLD_ACCESS not in err
    # Nothing was sent with it: no API call, no refresh, no change to the file.
    assert [r for r in fake.requests if r.authorization] == [] and fake.token_grants == []
    assert json.loads((demo / "secrets" / "google-token.json").read_text())["token"] == OLD_ACCESS
