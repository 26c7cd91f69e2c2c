"""Every email kind through SmtpMailer to a real aiosmtpd server on loopback, parsed back.

Servers: plain (no TLS, no AUTH), STARTTLS + AUTH (required), implicit SSL, and one that
answers RCPT with 4xx/5xx. The certificate is generated for 127.0.0.1 at test time.
"""

from __future__ import annotations

import datetime as dt
import email
import ssl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from integrations.errors import RemoteError, TransientError, UserError
from integrations.mail.message import compose
from integrations.mail.render import Renderer
from integrations.mail.smtp import SmtpMailer
from planner.contexts import BookedBlock
from planner.email_kinds import sample_context
from planner.emails import plan_emails
from planner.model import Decision, Snapshot
from planner.policy import Policy
from planner.samples.emails import KINDS
from planner.timeutil import Interval
from tests.loopback import free_port, make_cert

NOW = dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC)
USER, PASSWORD = "coachd", "s3cret-pw"
HOSTILE = "<script>alert(1)</script> {{7*7}} \r\nBcc: evil@example.com\u2028X-Evil: yes"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class Handler:
    """Collects what arrives; RCPT to a `temp-fail@` or `reject@` address fails."""

    received: list[Received] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address.startswith("temp-fail@"):
            return "451 4.3.0 try again later"
        if address.startswith("reject@"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=default)
        assert isinstance(msg, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 OK"


def _authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USER.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost (cert file, key file)."""
    return make_cert(tmp_path_factory.mktemp("tls"))


def server_context(cert: tuple[Path, Path]) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    return ctx


def client_context(cert: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert[0]))


@dataclass
class Server:
    port: int
    handler: Handler


def _run(handler: Handler, **kw: Any) -> Iterator[Server]:
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kw)
    controller.start()
    try:
        yield Server(port, handler)
    finally:
        controller.stop()


@pytest.fixture
def plain_server() -> Iterator[Server]:
    yield from _run(Handler())


@pytest.fixture
def tls_server(cert: tuple[Path, Path]) -> Iterator[Server]:
    yield from _run(
        Handler(),
        tls_context=server_context(cert),
        require_starttls=True,
        authenticator=_authenticator,
        auth_required=True,
        auth_require_tls=True,
    )


@pytest.fixture
def ssl_server(cert: tuple[Path, Path]) -> Iterator[Server]:
    yield from _run(Handler(), ssl_context=server_context(cert), server_hostname="127.0.0.1")


def message_for(
    kind: str, ctx: dict[str, Any], to: list[str], cc: Sequence[str] = ()
) -> EmailMessage:
    return compose(
        sender="coachd <coachd@example.com>",
        manager="dana@example.com",
        key=f"{kind}:test",
        to=to,
        cc=cc,
        rendered=Renderer().render(kind, ctx),
        date=NOW,
    )


def check_arrival(got: Received, kind: str, ctx: dict[str, Any], rcpts: list[str]) -> None:
    msg = got.message
    assert got.mail_from == "coachd@example.com"
    assert sorted(got.rcpt_tos) == sorted(rcpts)
    assert msg["Subject"] == Renderer().render(kind, ctx).subject
    assert msg["X-Coachd-Key"] == f"{kind}:test"
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    # The figures inside, from the context, in both parts.
    if kind == "agenda":
        for k in ctx["kpis"]:
            if k["latest_raw"] is not None:
                assert k["latest"] in text and k["latest"] in html
                assert k["minimum"] in text and k["goal"] in html
        assert ctx["ride_along"]["last"] in text
    elif kind == "summary":
        for row in ctx["rows"]:
            for cell in row["cells"]:
                assert cell["latest"] in html
        assert ctx["coach_up"][0]["rep"]["name"] in text
        assert ctx["coach_out"][0]["rep"]["name"] in html
    elif kind == "digest":
        assert f"{ctx['counts']['declined']} declined" in msg["Subject"]
        for d in ctx["declined"] + ctx["flagged"]:
            assert d["rule"] in text and d["rule"] in html
    elif kind == "sales_meeting":
        assert ctx["topic"] in text and ctx["topic"] in html
    elif kind == "config_error":
        for e in ctx["errors"]:
            assert e in text and e in html


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_over_plain_smtp(plain_server: Server, kind: str) -> None:
    ctx = sample_context(kind)
    mailer = SmtpMailer("127.0.0.1", plain_server.port, security="none", timeout=5)
    mailer.send(message_for(kind, ctx, ["dana@example.com"], ["alex@example.com"]))
    [got] = plain_server.handler.received
    check_arrival(got, kind, ctx, ["dana@example.com", "alex@example.com"])
    assert got.message["Cc"] == "alex@example.com"


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_over_starttls_with_auth(
    tls_server: Server, cert: tuple[Path, Path], kind: str
) -> None:
    ctx = sample_context(kind)
    mailer = SmtpMailer(
        "127.0.0.1",
        tls_server.port,
        security="starttls",
        username=USER,
        password=PASSWORD,
        timeout=5,
        ssl_context=client_context(cert),
    )
    mailer.send(message_for(kind, ctx, ["dana@example.com"]))
    [got] = tls_server.handler.received
    check_arrival(got, kind, ctx, ["dana@example.com"])


def test_implicit_ssl(ssl_server: Server, cert: tuple[Path, Path]) -> None:
    ctx = sample_context("digest")
    mailer = SmtpMailer(
        "127.0.0.1", ssl_server.port, security="ssl", timeout=5, ssl_context=client_context(cert)
    )
    mailer.send(message_for("digest", ctx, ["dana@example.com"]))
    [got] = ssl_server.handler.received
    check_arrival(got, "digest", ctx, ["dana@example.com"])


def test_wrong_password_is_a_remote_error_without_the_password(
    tls_server: Server, cert: tuple[Path, Path]
) -> None:
    mailer = SmtpMailer(
        "127.0.0.1",
        tls_server.port,
        username=USER,
        password="wrong-pw-123",
        timeout=5,
        ssl_context=client_context(cert),
    )
    with pytest.raises(RemoteError) as e:
        mailer.send(message_for("digest", sample_context("digest"), ["dana@example.com"]))
    assert "wrong-pw-123" not in str(e.value) and "wrong-pw-123" not in repr(mailer)
    assert tls_server.handler.received == []


def test_untrusted_certificate_is_refused(tls_server: Server) -> None:
    mailer = SmtpMailer("127.0.0.1", tls_server.port, username=USER, password=PASSWORD, timeout=5)
    with pytest.raises(RemoteError, match="certificate"):
        mailer.send(message_for("digest", sample_context("digest"), ["dana@example.com"]))


def test_starttls_required_but_not_offered(plain_server: Server) -> None:
    mailer = SmtpMailer("127.0.0.1", plain_server.port, security="starttls", timeout=5)
    with pytest.raises(RemoteError, match="STARTTLS"):
        mailer.send(message_for("digest", sample_context("digest"), ["dana@example.com"]))
    assert plain_server.handler.received == []


def test_no_password_in_clear_to_a_remote_host() -> None:
    with pytest.raises(UserError):
        SmtpMailer("mail.example.com", 25, security="none", username=USER, password=PASSWORD)
    SmtpMailer("127.0.0.1", 25, security="none", username=USER, password=PASSWORD)


def test_refused_recipients_by_code(plain_server: Server) -> None:
    mailer = SmtpMailer("127.0.0.1", plain_server.port, security="none", timeout=5)
    ctx = sample_context("digest")
    with pytest.raises(TransientError, match=r"temp-fail@example\.com"):
        mailer.send(message_for("digest", ctx, ["temp-fail@example.com"]))
    with pytest.raises(RemoteError, match=r"reject@example\.com"):
        mailer.send(message_for("digest", ctx, ["reject@example.com"]))
    # Partly refused: delivered to the good address, the refusal is only logged.
    mailer.send(message_for("digest", ctx, ["dana@example.com", "reject@example.com"]))
    [got] = plain_server.handler.received
    assert got.rcpt_tos == ["dana@example.com"]


def test_nobody_listening_is_transient() -> None:
    mailer = SmtpMailer("127.0.0.1", free_port(), security="none", timeout=2)
    with pytest.raises(TransientError):
        mailer.send(message_for("digest", sample_context("digest"), ["dana@example.com"]))


# -- the hostile invitation -------------------------------------------------------------------


def hostile_policy() -> Policy:
    return Policy.model_validate(
        {
            "manager": {"name": "Dana", "email": "dana@example.com", "timezone": "America/Chicago"},
            "team": [{"name": "Alex", "email": "alex@example.com"}],
            "coaching": {"sales_meeting": {"topics": ["Discovery"]}},
        }
    )


def test_hostile_invitation_through_plan_render_and_smtp(plain_server: Server) -> None:
    policy = hostile_policy()
    decided = NOW - dt.timedelta(hours=5)
    bad = Decision(
        event_id="evil1",
        fingerprint="f",
        action="flag",
        rule="non-sales",
        reason=f"title {HOSTILE!r} looks like a non-sales meeting",
        decided_at=decided,
        title=HOSTILE,
        organizer=f"mallory@example.com {HOSTILE}",
        start=NOW + dt.timedelta(days=1),
    )
    snap = Snapshot(
        window=Interval(NOW - dt.timedelta(days=1), NOW + dt.timedelta(days=14)),
        decisions={"evil1": bad},
    )
    # A sales meeting whose title and topic carry the same text reaches a Subject header.
    start = NOW + dt.timedelta(hours=10)
    block = BookedBlock(
        "sales_meeting",
        None,
        start,
        start + dt.timedelta(hours=1),
        "sales_meeting:-:x",
        HOSTILE,
        HOSTILE,
    )
    emails = {e.kind: e for e in plan_emails(policy, snap, NOW, [block])}
    assert set(emails) >= {"digest", "sales_meeting"}
    mailer = SmtpMailer("127.0.0.1", plain_server.port, security="none", timeout=5)
    for kind in ("digest", "sales_meeting"):
        e = emails[kind]
        msg = compose(
            sender="coachd@example.com",
            manager="dana@example.com",
            key=e.key,
            to=list(e.to),
            cc=list(e.cc),
            rendered=Renderer().render(kind, dict(e.context)),
            date=NOW,
        )
        mailer.send(msg)
    by_kind = {r.message["X-Coachd-Key"].split(":")[0]: r for r in plain_server.handler.received}
    for got in by_kind.values():
        msg = got.message
        assert "evil@example.com" not in got.rcpt_tos
        assert msg["Bcc"] is None and msg["X-Evil"] is None
        header_names = {k.lower() for k in msg}
        assert header_names <= {
            "from",
            "to",
            "cc",
            "subject",
            "date",
            "message-id",
            "auto-submitted",
            "x-auto-response-suppress",
            "x-coachd-key",
            "mime-version",
            "content-type",
        }
        for name, value in msg.items():
            assert not any(c in str(value) for c in "\r\n\u2028\u2029\x00"), name
        html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
        text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "{{7*7}}" in html and "{{7*7}}" in text
        assert "49" not in html and "49" not in text
    assert "{{7*7}}" in by_kind["sales_meeting"].message["Subject"]
    assert by_kind["digest"].rcpt_tos == ["dana@example.com"]
    assert sorted(by_kind["sales_meeting"].rcpt_tos) == ["alex@example.com", "dana@example.com"]
