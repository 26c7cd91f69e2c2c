"""The Gmail transport: users.messages.send with the raw message, retries, refusals."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest
from fake_server import FakeGoogle

from integrations.errors import RemoteError, TransientError
from integrations.google.gmail import GmailMailer, open_gmail
from integrations.google.retry import Backoff
from planner.policy import GoogleSettings


def _message() -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "manager@example.com"
    msg["To"] = "rep@example.com"
    msg["Subject"] = "Agenda: one-on-one — Zoë, Tuesday"
    msg["Message-ID"] = "<coachd.abc@example.com>"
    msg.set_content("Pipeline review\nCalls per week: 42\n")
    msg.add_alternative("<p>Pipeline review</p>", subtype="html")
    return msg


def _mailer(fake: FakeGoogle, sleeps: list[float]) -> GmailMailer:
    settings = GoogleSettings(credentials="none", api_endpoint=fake.endpoint)
    return open_gmail(
        settings,
        Path("/nonexistent"),
        timeout=2,
        backoff=Backoff(max_attempts=3, sleep=sleeps.append, rand=lambda: 1.0),
    )


def test_send_lands_with_the_exact_message(fake_google: FakeGoogle) -> None:
    _mailer(fake_google, []).send(_message())

    [req] = fake_google.requests
    assert (req.method, req.path) == ("POST", "/gmail/v1/users/me/messages/send")
    assert set(req.body) == {"raw"} and "=" not in req.body["raw"].rstrip("=")
    [got] = fake_google.sent_mail
    assert got["Subject"] == "Agenda: one-on-one — Zoë, Tuesday"
    assert got["Message-ID"] == "<coachd.abc@example.com>"
    assert got["To"] == "rep@example.com"
    plain = got.get_body(preferencelist=("plain",))
    html = got.get_body(preferencelist=("html",))
    assert plain is not None and "Calls per week: 42" in plain.get_content()
    assert html is not None and "<p>Pipeline review</p>" in html.get_content()


def test_transient_failures_are_retried(fake_google: FakeGoogle) -> None:
    sleeps: list[float] = []
    fake_google.inject("POST", r"/messages/send$", 503)
    _mailer(fake_google, sleeps).send(_message())
    assert len(fake_google.sent_mail) == 1 and sleeps == [1.0]


def test_persistent_failure_is_transient_and_refusal_is_remote(fake_google: FakeGoogle) -> None:
    fake_google.inject("POST", r"/messages/send$", 500, times=3)
    with pytest.raises(TransientError):
        _mailer(fake_google, []).send(_message())
    fake_google.inject("POST", r"/messages/send$", 403, reason="insufficientPermissions")
    with pytest.raises(RemoteError, match="insufficientPermissions"):
        _mailer(fake_google, []).send(_message())
    assert fake_google.sent_mail == []
