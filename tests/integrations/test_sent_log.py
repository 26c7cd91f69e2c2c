"""Sent-email keys survive the loss of the state file (issue #16 B4): over SMTP, which
cannot recognise a copy, a rebuilt state does not mail everyone again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from test_mail_smtp import Handler

from integrations.mail.render import Renderer
from integrations.mail.smtp import SmtpMailer
from integrations.store.state import StateStore
from integrations.tick.outbox import Outbox
from integrations.tick.sent_log import MAX_BYTES, SentLog, log_path
from planner.actions import SendEmail
from planner.email_kinds import sample_context
from tests.loopback import free_port

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def smtp() -> Iterator[tuple[int, Handler]]:
    handler = Handler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, handler
    finally:
        controller.stop()


def _email(key: str) -> SendEmail:
    return SendEmail(
        key=key,
        kind="delegate",
        to=("alex@acme.example",),
        context=sample_context("delegate"),
        reason="test",
    )


def _send_all(state: Path, port: int, keys: list[str]) -> list[bool]:
    with StateStore.open(state, now=NOW) as store:
        outbox = Outbox(
            owner="dana@acme.example",
            sender="coachd@acme.example",
            mailer=SmtpMailer("127.0.0.1", port, security="none", timeout=5),
            store=store,
            renderer=Renderer(),
        )
        results = [outbox.send(_email(k), NOW) for k in keys]
        assert all(err is None for _, err in results)
        assert all(store.email_record(k).status == "sent" for k in keys)  # type: ignore[union-attr]
        return [sent for sent, _ in results]


def test_a_lost_state_does_not_send_everything_again(
    tmp_path: Path, smtp: tuple[int, Handler]
) -> None:
    port, handler = smtp
    state = tmp_path / "state" / "coachd.json"
    keys = ["delegate:ev1:aaa", "delegate:ev2:bbb"]
    assert _send_all(state, port, keys) == [True, True]
    assert len(handler.received) == 2

    state.unlink()  # lost (or set aside as corrupt and rebuilt empty)
    assert _send_all(state, port, [*keys, "delegate:ev3:ccc"]) == [False, False, True]
    assert len(handler.received) == 3
    assert log_path(state).read_text().count("delegate:ev1:aaa") == 1


def test_the_log_trims_its_oldest_half_past_its_cap(tmp_path: Path) -> None:
    path = tmp_path / "sent-emails.log"
    path.write_text("".join(f"2026-01-01T00:00:00+00:00 old:{i:07d}\n" for i in range(60_000)))
    assert path.stat().st_size > MAX_BYTES
    log = SentLog(path)
    log.add("new:1", NOW)
    assert path.stat().st_size < MAX_BYTES
    fresh = SentLog(path)
    assert "new:1" in fresh and "old:0059999" in fresh and "old:0000000" not in fresh
