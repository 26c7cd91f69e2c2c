"""Safety brakes: a calendar that suddenly reads empty, or loses most of coachd's own events
at once, makes the tick hold (no writes, no email) and report it; `--force` overrides.

At planner level (planner.brakes through planner.plan), at the executor, and end to end
with `coachd once` on the demo.
"""

from __future__ import annotations

import mailbox
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from strategies import apply, event, policy

from daemon import main
from integrations.calendar.base import CalendarWrite, WriteOutcome
from integrations.mail.render import Renderer
from integrations.store.state import StateStore
from integrations.tick.executor import Executor
from planner.actions import Book, Hold, SendEmail
from planner.brakes import MIN_BOOKINGS_FOR_VANISH_BRAKE, MIN_EVENTS_FOR_EMPTY_BRAKE
from planner.model import Event, Snapshot
from planner.periods import snapshot_window
from planner.plan import plan
from planner.policy import Policy

CHI = ZoneInfo("America/Chicago")
MON = datetime(2026, 11, 30, 6, 0, tzinfo=CHI)
TEAM = [{"name": f"Rep {i}", "email": f"rep{i}@acme.example"} for i in range(4)]


def _meetings(n: int) -> list[Event]:
    """`n` other people's meetings over the coming two weeks (mornings, out of the way)."""
    return [
        event(
            MON + timedelta(days=d % 12, hours=2 + d // 12),
            MON + timedelta(days=d % 12, hours=2 + d // 12, minutes=30),
            title=f"Meeting {d}",
        )
        for d in range(n)
    ]


def _settled(pol: Policy, others: int) -> Snapshot:
    """The snapshot after a first tick booked everything and recorded the event count."""
    s = Snapshot(window=snapshot_window(pol, MON), events=tuple(_meetings(others)))
    s = apply(s, plan(pol, s, MON))
    assert any(e.tag for e in s.events), "the first tick booked nothing"
    s = replace(s, last_event_count=len(s.events))
    assert not _writes(plan(pol, s, MON)), "a settled calendar must plan no writes"
    return s


def _writes(actions: list[Any]) -> list[Any]:
    return [a for a in actions if type(a).__name__ not in ("Notice", "Keep")]


def _coachd(s: Snapshot) -> list[Event]:
    return [e for e in s.events if e.tag and e.start > MON]


def test_an_empty_read_after_a_busy_calendar_holds() -> None:
    pol = policy(TEAM)
    s = _settled(pol, others=12)
    empty = replace(s, events=())

    actions = plan(pol, empty, MON)

    assert actions == [Hold(actions[0].reason)]
    assert f"saw {len(s.events)}" in actions[0].reason and "--force" in actions[0].reason
    forced = plan(pol, empty, MON, force=True)
    assert not any(isinstance(a, Hold) for a in forced)


@pytest.mark.parametrize(
    ("last_count", "held"),
    [(None, False), (MIN_EVENTS_FOR_EMPTY_BRAKE - 1, False), (MIN_EVENTS_FOR_EMPTY_BRAKE, True)],
    ids=["first-tick", "small-calendar", "threshold"],
)
def test_empty_brake_threshold(last_count: int | None, held: bool) -> None:
    pol = policy(TEAM)
    s = Snapshot(window=snapshot_window(pol, MON), last_event_count=last_count)
    assert any(isinstance(a, Hold) for a in plan(pol, s, MON)) is held


def test_most_coachd_events_vanishing_at_once_holds() -> None:
    pol = policy(TEAM)
    s = _settled(pol, others=0)  # only coachd's own events: the empty brake cannot fire
    mine = _coachd(s)
    assert len(mine) >= MIN_BOOKINGS_FOR_VANISH_BRAKE
    gone = {e.id for e in mine[: len(mine) // 2 + 1]}
    vanished = replace(s, events=tuple(e for e in s.events if e.id not in gone))

    actions = plan(pol, vanished, MON)

    assert len(actions) == 1 and isinstance(actions[0], Hold)
    assert f"{len(gone)} of {len(mine)}" in actions[0].reason
    # Forced, the calendar is the truth: the deletions are remembered, not fought.
    forced = plan(pol, vanished, MON, force=True)
    assert not any(isinstance(a, Hold) for a in forced) and _writes(forced)


def test_half_or_fewer_vanishing_is_a_person_deleting_not_a_brake() -> None:
    pol = policy(TEAM)
    s = _settled(pol, others=0)
    mine = _coachd(s)
    gone = {e.id for e in mine[: len(mine) // 2]}
    vanished = replace(s, events=tuple(e for e in s.events if e.id not in gone))
    assert not any(isinstance(a, Hold) for a in plan(pol, vanished, MON))


def test_past_coachd_events_scrolling_away_do_not_count() -> None:
    pol = policy(TEAM)
    s = _settled(pol, others=0)
    later = max(e.start for e in s.events) + timedelta(minutes=1)
    # Everything booked is in the past now and out of the read: nothing vanished.
    ahead = [event(later + timedelta(days=1), later + timedelta(days=1, hours=1))]
    moved_on = replace(s, events=tuple(ahead))
    assert not any(isinstance(a, Hold) for a in plan(pol, moved_on, later))


def test_an_unreadable_manager_calendar_holds() -> None:
    pol = policy(TEAM)
    s = replace(_settled(pol, others=3), read_errors={pol.manager.email: "HTTP 500"})
    actions = plan(pol, s, MON)
    assert len(actions) == 1 and isinstance(actions[0], Hold) and "HTTP 500" in actions[0].reason


# --- the executor ------------------------------------------------------------------------------


class _Recorder:
    """A calendar and a mailer that only record being called."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def read(self, owner: str, window: Any) -> Any:
        raise AssertionError("not read here")

    def busy(self, people: Any, window: Any) -> Any:
        raise AssertionError("not read here")

    def apply(self, owner: str, writes: Sequence[CalendarWrite]) -> list[WriteOutcome]:
        self.calls.append(f"apply {len(writes)}")
        return [WriteOutcome(w) for w in writes]

    def send(self, message: Any) -> None:
        self.calls.append("send")


def test_a_hold_makes_the_executor_write_and_send_nothing(tmp_path: Path) -> None:
    pol = policy(TEAM)
    s = Snapshot(window=snapshot_window(pol, MON))
    books = [a for a in plan(pol, s, MON) if isinstance(a, Book)]
    email = SendEmail(
        key="summary:2026-W49", kind="summary", to=("m@acme.example",), context={}, reason="t"
    )
    rec = _Recorder()
    with StateStore.open(tmp_path / "state.json", now=MON) as store:
        before = store.path.read_bytes()
        report = Executor(
            owner=pol.manager.email,
            calendar=rec,
            mailer=rec,
            store=store,
            renderer=Renderer(),
            sender="coachd@acme.example",
            now=MON,
        ).run([Hold("test brake"), *books, email])
        assert store.path.read_bytes() == before
    assert report.held == "test brake" and not report.ok
    assert rec.calls == []


# --- end to end ----------------------------------------------------------------------------


def _coachd_files(demo: Path) -> list[Path]:
    folder = demo / "calendar" / "dana.reyes@acme-demo.com"
    return sorted(p for p in folder.glob("*.ics") if b"X-COACHD-KEY" in p.read_bytes())


def _mail_count(demo: Path) -> int:
    return len(mailbox.Maildir(str(demo / "outbox"), create=False))


def test_coachd_once_holds_reports_and_force_proceeds(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = demo / "config.yaml"
    text = cfg.read_text()
    assert "rebook_deleted: false" in text
    cfg.write_text(text.replace("rebook_deleted: false", "rebook_deleted: true"))
    assert main(["once", "--config", str(cfg)]) == 0
    booked = _coachd_files(demo)
    one_on_ones = [p for p in booked if b"X-COACHD-KIND:one_on_one" in p.read_bytes()]
    assert len(booked) >= 2 * MIN_BOOKINGS_FOR_VANISH_BRAKE and one_on_ones
    mails = _mail_count(demo)

    # Most of coachd's events vanish at once (a sync gone wrong, a wrong folder...).
    gone = booked[: len(booked) * 3 // 4]
    for p in gone:
        p.unlink()
    kept = _coachd_files(demo)
    capsys.readouterr()

    assert main(["once", "--config", str(cfg)]) == 1
    assert _coachd_files(demo) == kept, "a held tick must not write to the calendar"
    assert _mail_count(demo) == mails, "a held tick must not send email"
    assert "safety brake" in capsys.readouterr().err
    assert main(["status", "--config", str(cfg)]) == 0
    status = capsys.readouterr().out
    assert "safety brake" in status and "vanished" in status

    # A person checked: --force accepts the calendar as it is. Deleted one-on-ones are
    # rebooked because policy says so (rebook_deleted); other blocks stay deleted.
    assert main(["once", "--force", "--config", str(cfg)]) == 0
    after = _coachd_files(demo)
    rebooked = [p for p in after if p not in kept]
    assert rebooked and all(b"X-COACHD-KIND:one_on_one" in p.read_bytes() for p in rebooked)
    assert main(["once", "--config", str(cfg)]) == 0, "after --force the brake is released"


def test_coachd_once_holds_on_an_emptied_calendar(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = demo / "config.yaml"
    assert main(["once", "--config", str(cfg)]) == 0
    folder = demo / "calendar" / "dana.reyes@acme-demo.com"
    files = list(folder.glob("*.ics"))
    assert len(files) >= MIN_EVENTS_FOR_EMPTY_BRAKE
    for p in files:
        p.unlink()
    mails = _mail_count(demo)
    capsys.readouterr()

    assert main(["once", "--config", str(cfg)]) == 1
    assert list(folder.glob("*.ics")) == []
    assert _mail_count(demo) == mails
    assert "returned no events" in capsys.readouterr().err
