"""The Microsoft mail transport: sendMail with the MIME message, retries, refusals."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest
from fake_graph import FakeGraph
from ms_support import OWNER, TZ

from integrations.errors import RemoteError, TransientError
from integrations.google.retry import Backoff
from integrations.microsoft.mail import GraphMailer, open_graph_mailer
from planner.policy import MicrosoftSettings


def _message() -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = OWNER
    msg["To"] = "rep@example.com"
    msg["Subject"] = "Agenda: one-on-one — Zoë, Tuesday"
    msg["Message-ID"] = "<coachd.abc@example.com>"
    msg.set_content("Pipeline review\nCalls per week: 42\n")
    msg.add_alternative("<p>Pipeline review</p>", subtype="html")
    return msg


def _mailer(fake: FakeGraph, sleeps: list[float]) -> GraphMailer:
    settings = MicrosoftSettings(credentials="none", api_endpoint=fake.endpoint)
    return open_graph_mailer(
        settings,
        Path("/nonexistent"),
        manager=OWNER,
        tz=TZ,
        timeout=2,
        backoff=Backoff(max_attempts=3, sleep=sleeps.append, rand=lambda: 1.0),
    )


def test_send_lands_with_the_exact_message(fake_graph: FakeGraph) -> None:
    _mailer(fake_graph, []).send(_message())
    [req] = fake_graph.requests
    assert (req.method, req.path, req.status) == ("POST", f"/users/{OWNER}/sendMail", 202)
    assert req.headers["content-type"] == "text/plain"
    [got] = fake_graph.sent_mail
    assert got["Subject"] == "Agenda: one-on-one — Zoë, Tuesday"
    assert got["Message-ID"] == "<coachd.abc@example.com>"
    plain = got.get_body(preferencelist=("plain",))
    html = got.get_body(preferencelist=("html",))
    assert plain is not None and "Calls per week: 42" in plain.get_content()
    assert html is not None and "<p>Pipeline review</p>" in html.get_content()


def test_throttling_is_retried(fake_graph: FakeGraph) -> None:
    sleeps: list[float] = []
    fake_graph.inject("POST", r"/sendMail$", 429, retry_after=4)
    _mailer(fake_graph, sleeps).send(_message())
    assert sleeps == [4.0] and len(fake_graph.sent_mail) == 1


def test_faults_that_last_are_transient_and_refusals_are_not(fake_graph: FakeGraph) -> None:
    fake_graph.inject("POST", r"/sendMail$", 503, times=3)
    with pytest.raises(TransientError, match="gave up after 3 attempts"):
        _mailer(fake_graph, []).send(_message())
    fake_graph.inject("POST", r"/sendMail$", 403, code="ErrorAccessDenied")
    with pytest.raises(RemoteError, match="ErrorAccessDenied"):
        _mailer(fake_graph, []).send(_message())
    assert fake_graph.sent_mail == []
