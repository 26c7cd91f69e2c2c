"""MSAL sign-in against a loopback identity platform: device code, refresh, app-only, the
token cache file's safety, and a Graph request carrying the token MSAL obtained."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from fake_graph import FakeGraph
from fake_login import CLIENT_ID, SECRET, TENANT, USER, FakeLogin
from ms_support import TZ, WINDOW

from integrations.errors import UserError
from integrations.google.retry import Backoff
from integrations.google.sync import MemoryKV
from integrations.microsoft.auth import (
    SCOPE_CALENDARS,
    TokenSource,
    delegated_scopes,
    run_device_flow,
)
from integrations.microsoft.calendar import MicrosoftCalendar
from integrations.microsoft.client import GraphClient
from planner.policy import CalendarSettings, MicrosoftSettings
from tests.loopback import make_cert


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_cert(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def login(cert: tuple[Path, Path]) -> Iterator[FakeLogin]:
    with FakeLogin(cert) as fake:
        yield fake
        assert not fake.violations, fake.violations


@pytest.fixture
def http(cert: tuple[Path, Path]) -> requests.Session:
    s = requests.Session()
    s.verify = str(cert[0])  # trust the loopback identity platform's own certificate
    s.trust_env = False  # a CA bundle or proxy from the environment would override it
    return s


def _settings(login: FakeLogin, **extra: object) -> MicrosoftSettings:
    return MicrosoftSettings.model_validate(
        {
            "tenant": TENANT,
            "client_id": CLIENT_ID,
            "authority_host": login.host,
            "token_cache": "secrets/ms-cache.json",
            **extra,
        }
    )


def _sign_in(login: FakeLogin, http: requests.Session, base: Path) -> list[str]:
    shown: list[str] = []
    who = run_device_flow(
        _settings(login),
        base / "secrets/ms-cache.json",
        delegated_scopes(True),
        show=shown.append,
        http_client=http,
    )
    assert who == USER
    return shown


def test_device_code_sign_in_stores_a_private_cache(
    login: FakeLogin, http: requests.Session, tmp_path: Path
) -> None:
    (tmp_path / "secrets").mkdir(mode=0o755)
    old = os.umask(0o022)
    try:
        shown = _sign_in(login, http, tmp_path)
    finally:
        os.umask(old)
    assert len(shown) == 1 and "ABCD-EFGH" in shown[0]
    device = [g for g in login.grants if g["grant_type"].endswith("device_code")]
    assert len(device) == 2  # authorization_pending once, then the tokens
    [asked] = login.device_requests
    assert SCOPE_CALENDARS in asked["scope"] and "Mail.Send" in asked["scope"]
    cache = tmp_path / "secrets/ms-cache.json"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.parent.stat().st_mode) == 0o700
    data = json.loads(cache.read_text())
    assert "RefreshToken" in data and "refresh-1" in cache.read_text()
    assert [p.name for p in cache.parent.iterdir()] == ["ms-cache.json"]  # no temp left


def test_tokens_come_silently_from_the_cache_and_are_refreshed(
    cert: tuple[Path, Path], http: requests.Session, tmp_path: Path
) -> None:
    with FakeLogin(cert, access_ttl=60) as login:  # under MSAL's 5-minute margin: refresh
        _sign_in(login, http, tmp_path)
        before = (tmp_path / "secrets/ms-cache.json").read_text()
        source = TokenSource(
            _settings(login), manager=USER.upper(), base_dir=tmp_path, http_client=http
        )
        token = source()
        assert token == login.issued[-1]
        assert [g["grant_type"] for g in login.grants][-1] == "refresh_token"
        assert (tmp_path / "secrets/ms-cache.json").read_text() != before
        assert not login.violations


def test_a_cache_others_can_read_is_refused(
    login: FakeLogin, http: requests.Session, tmp_path: Path
) -> None:
    _sign_in(login, http, tmp_path)
    (tmp_path / "secrets/ms-cache.json").chmod(0o644)
    source = TokenSource(_settings(login), manager=USER, base_dir=tmp_path, http_client=http)
    with pytest.raises(UserError, match="readable by other users"):
        source()


def test_no_sign_in_yet_says_what_to_run(login: FakeLogin, tmp_path: Path) -> None:
    source = TokenSource(_settings(login), manager=USER, base_dir=tmp_path)
    with pytest.raises(UserError, match="coachd auth microsoft"):
        source()


def test_app_only_credentials_and_a_graph_request(
    login: FakeLogin, http: requests.Session, tmp_path: Path
) -> None:
    settings = _settings(login, credentials="client_secret", client_secret=SECRET)
    source = TokenSource(settings, manager=USER, base_dir=tmp_path, http_client=http)
    token = source()
    assert source() == token  # MSAL keeps it until it nears expiry: one grant
    assert [g["grant_type"] for g in login.grants] == ["client_credentials"]
    with FakeGraph(owner=USER, token=token) as graph:
        client = GraphClient(endpoint=graph.endpoint, token=source, mailbox=USER, timeout=2)
        cal = MicrosoftCalendar(client, manager=USER, tz=TZ, kv=MemoryKV(), backoff=Backoff())
        assert cal.read(USER, WINDOW).events == []
        assert graph.requests[0].headers["authorization"] == f"Bearer {token}"
        assert graph.requests[0].path == f"/users/{USER}/calendarView/delta"
        assert not graph.violations


def test_a_wrong_secret_is_a_clear_error(
    login: FakeLogin, http: requests.Session, tmp_path: Path
) -> None:
    settings = _settings(login, credentials="client_secret", client_secret="nope")
    source = TokenSource(settings, manager=USER, base_dir=tmp_path, http_client=http)
    with pytest.raises(UserError, match="AADSTS7000215"):
        source()


def test_device_code_is_refused_for_app_only_settings(login: FakeLogin, tmp_path: Path) -> None:
    settings = _settings(login, credentials="client_secret", client_secret=SECRET)
    with pytest.raises(UserError, match="device_code"):
        run_device_flow(settings, tmp_path / "c.json", [SCOPE_CALENDARS], show=print)


@pytest.mark.parametrize(
    ("microsoft", "message"),
    [
        ({"credentials": "device_code"}, "client_id is required"),
        ({"client_id": CLIENT_ID, "credentials": "client_secret"}, "never the secret itself"),
        ({"client_id": CLIENT_ID, "credentials": "certificate"}, "certificate_thumbprint"),
        ({"credentials": "none", "api_endpoint": "https://graph.microsoft.com/v1.0/"}, "loopback"),
    ],
)
def test_incomplete_settings_are_refused(microsoft: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CalendarSettings.model_validate({"backend": "microsoft", "microsoft": microsoft})


def test_certificate_credentials_sign_an_assertion(
    login: FakeLogin, http: requests.Session, tmp_path: Path
) -> None:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "coachd")])
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    pem = tmp_path / "secrets" / "coachd.pem"
    pem.parent.mkdir()
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        + cert.public_bytes(serialization.Encoding.PEM)
    )
    pem.chmod(0o600)
    thumbprint = cert.fingerprint(hashes.SHA1()).hex().upper()
    settings = _settings(
        login,
        credentials="certificate",
        certificate="secrets/coachd.pem",
        certificate_thumbprint=thumbprint,
    )
    source = TokenSource(settings, manager=USER, base_dir=tmp_path, http_client=http)
    assert source() == login.issued[-1]
    [grant] = login.grants
    assert grant["grant_type"] == "client_credentials" and "client_secret" not in grant
    import jwt

    assertion = jwt.decode(
        grant["client_assertion"],
        key.public_key(),
        algorithms=["RS256", "PS256"],
        audience=f"{login.host}/{TENANT}/oauth2/v2.0/token",
    )
    assert assertion["iss"] == CLIENT_ID == assertion["sub"]
    pem.chmod(0o644)
    with pytest.raises(UserError, match="readable by other users"):
        TokenSource(settings, manager=USER, base_dir=tmp_path, http_client=http)()
