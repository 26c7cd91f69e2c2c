"""The executor holds back an email whose calendar write failed this tick, by the typed
reference the email carries (SendEmail.waits_on), never by reading its key."""

from __future__ import annotations

import mailbox
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from integrations.calendar.base import CalendarWrite, WriteOutcome
from integrations.mail.maildir import MaildirMailer
from integrations.mail.render import Renderer
from integrations.store.state import StateStore
from integrations.tick.executor import Executor
from planner.actions import AfterBooking, AfterDecline, Book, Decline, SendEmail
from planner.email_kinds import KINDS

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


class _FailingCalendar:
    """Every write fails (a transient error), as when the calendar is down mid-tick."""

    def apply(self, owner: str, writes: Sequence[CalendarWrite]) -> list[WriteOutcome]:
        return [WriteOutcome(action=w, error="calendar is down", transient=True) for w in writes]


def _book(key: str) -> Book:
    return Book(
        key=key,
        event_id="ev-book",
        kind="one_on_one",
        rep="alex@example.com",
        period="2026-W49",
        generation=0,
        start=NOW + timedelta(hours=5),
        end=NOW + timedelta(hours=5, minutes=30),
        title="1:1",
        description="",
        attendees=("dana@example.com", "alex@example.com"),
        reason="test",
    )


def _decline(event_id: str) -> Decline:
    return Decline(
        event_id=event_id,
        fingerprint="f",
        title="Facilities",
        organizer="ops@example.com",
        start=NOW + timedelta(days=1),
        rule="facilities",
        message="no",
        reason="test",
    )


def _email(key: str, kind: str, waits_on: AfterBooking | AfterDecline | None) -> SendEmail:
    return SendEmail(
        key=key,
        kind=kind,
        to=("dana@example.com",),
        context=KINDS[kind].sample(),
        reason="test",
        waits_on=waits_on,
    )


def _run(tmp_path: Path, actions: list[object]) -> list[str]:
    box = tmp_path / "outbox"
    with StateStore.open(tmp_path / "state.json", now=NOW) as store:
        Executor(
            owner="dana@example.com",
            calendar=_FailingCalendar(),  # type: ignore[arg-type]
            mailer=MaildirMailer(box),
            store=store,
            renderer=Renderer(),
            sender="coachd@example.com",
            now=NOW,
        ).run(actions)  # type: ignore[arg-type]
    if not box.exists():
        return []
    return sorted(str(m["X-Coachd-Key"]) for m in mailbox.Maildir(str(box), create=False))


def test_an_email_waiting_on_a_failed_booking_is_not_sent(tmp_path: Path) -> None:
    key = "one_on_one:alex@example.com:2026-W49"
    sent = _run(
        tmp_path,
        [
            _book(key),
            # The key says nothing of the booking: only the typed reference links them.
            _email("agenda-x", "agenda", AfterBooking(key)),
            _email("agenda-y", "agenda", AfterBooking("one_on_one:sam@example.com:2026-W49")),
            _email(f"summary:{key}", "summary", None),
        ],
    )
    assert sent == ["agenda-y", f"summary:{key}"]


def test_an_email_waiting_on_a_failed_decline_is_not_sent(tmp_path: Path) -> None:
    sent = _run(
        tmp_path,
        [
            _decline("ev-9"),
            _email("reply-a", "decline_reply", AfterDecline("ev-9")),
            _email("reply-b", "decline_reply", AfterDecline("ev-10")),
        ],
    )
    assert sent == ["reply-b"]


def test_the_kinds_that_wait_carry_a_reference() -> None:
    """What the table says each kind waits on is what the planner's emails carry."""
    waits = {k.name: k.waits_on for k in KINDS.values()}
    assert waits["agenda"] == waits["sales_meeting"] == "booking"
    assert waits["invitation"] == waits["cancellation"] == "booking"
    assert waits["decline_reply"] == waits["delegate"] == "decline"
    assert waits["summary"] is waits["digest"] is None
