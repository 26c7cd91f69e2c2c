"""Crash campaign: `coachd once` as a subprocess, SIGKILLed at random instants, restarted.

After every kill and after the run that finally completes: no coachd key booked twice, no
email under two Message-IDs or delivered more than the transport allows (Maildir dedupes:
once; Gmail: the design's single resend after a kill between delivery and the `sent`
record), no invitation declined twice, and a state file that opens as it is (no recovery).
A run after completion changes nothing.

Kill instants are uniform over the measured length of a full run (python start included) in
the slow campaign (`make test-slow`, 220 kills); the default run does 5 kills per backend,
aimed at the part of the run where the executor writes. Worlds are compared with a twin that
was never killed: nothing may be lost either.
Set COACHD_CAMPAIGN_SEED to replay a campaign, COACHD_CAMPAIGN_KILLS to run the slow
campaigns with another number of kills (e.g. fewer on a busy machine).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from worlds import (
    ACTING,
    Effects,
    GoogleWorld,
    LocalWorld,
    World,
    coachd,
    make_template,
    once_killed,
    timed_once,
)

from integrations.calendar.base import CalendarWrite, WriteOutcome
from integrations.mail.render import Renderer
from integrations.store.state import StateStore
from integrations.tick.executor import Executor
from planner.actions import Action, Decline, SendEmail
from planner.email_kinds import sample_context as triage_sample


@dataclass
class Tally:
    """Figures for the report: what the kills hit and what was seen."""

    kills: int = 0  # SIGKILL delivered while coachd was running
    too_late: int = 0  # runs that finished before their kill was due (they are restarts)
    after_first_write: int = 0  # killed after it had changed the calendar or sent mail
    worlds: int = 0
    resends: int = 0  # Message-IDs delivered twice (Gmail only; allowed once by design)
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"{self.worlds} worlds, {self.kills} kills ({self.after_first_write} after the "
            f"first outside write), {self.too_late} runs ended before their kill, "
            f"{self.resends} resends"
        )


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One `coachd init --demo` folder, copied for every world."""
    return make_template(tmp_path_factory.mktemp("template") / "demo")


def _seed() -> int:
    return int(os.environ.get("COACHD_CAMPAIGN_SEED") or time.time_ns() % 10**9)


def _kills(default: int) -> int:
    return int(os.environ.get("COACHD_CAMPAIGN_KILLS") or default)


def _check(world: World, tally: Tally, when: str) -> None:
    fx = world.effects()
    found = fx.problems(max_copies=world.max_copies) + world.state_problems()
    tally.problems += [f"{when}: {p}" for p in found]


def campaign(
    make_world: Callable[[int], World],
    kills: int,
    seed: int,
    *,
    twin_every: int,
    writing: bool = False,
) -> Tally:
    """Kill `coachd once` at least `kills` times over fresh worlds, completing and checking
    each world (every `twin_every`-th also by a run after completion that must change
    nothing, and against a twin that was never killed); returns
    the tally. Kill instants are uniform over a full run, or with `writing` over the part
    of it where the executor acts, counted from its first log line (so that a few kills
    are enough to hit writes)."""
    rng = random.Random(seed)
    tally = Tally()
    # A full run's length, measured on a world of its own (python start to exit); that
    # world, never killed, is also the twin of world 0.
    ref = make_world(-1)
    try:
        duration, acting, done = timed_once(ref.cfg)
        assert done.returncode == 0, done.stderr
        ref_outcome = ref.effects().outcome()
        assert ref_outcome[0], "the reference run booked nothing: no work to interrupt"
    finally:
        ref.close()

    n = 0
    while tally.kills < kills:
        world = make_world(n)
        tally.worlds += 1
        try:
            # Kill runs until one completes before its kill is due (or after 4 kills, a
            # plain restart): that run is the restart that must put everything right.
            for k in range(5):
                before = world.effects().writes
                if k == 4:
                    run = once_killed(world.cfg, 600.0)
                else:
                    run = (
                        once_killed(world.cfg, rng.uniform(0.0, acting), after=ACTING)
                        if writing
                        else once_killed(world.cfg, rng.uniform(0.0, duration))
                    )
                if not run.killed:
                    tally.too_late += k < 4
                    assert run.returncode == 0, f"world {n}: the restart failed:\n{run.stderr}"
                    break
                tally.kills += 1
                if world.effects().writes != before:
                    tally.after_first_write += 1
                _check(world, tally, f"world {n} after kill {k} at {run.delay:.3f}s")
            _check(world, tally, f"world {n} after completing")
            fx = world.effects()
            tally.resends += sum(1 for c in fx.mail.values() if c > 1)
            if n % twin_every == 0:  # world 0 always
                again = coachd(world.cfg, "once")
                assert again.returncode == 0, again.stderr
                fx2 = world.effects()
                if (fx2.booked, fx2.mail, fx2.declines) != (fx.booked, fx.mail, fx.declines):
                    tally.problems.append(f"world {n}: a run after completion changed the world")
                if n == 0:
                    tally.problems += _differences(n, fx.outcome(), ref_outcome)
                else:
                    tally.problems += _compare_with_twin(make_world, n, fx)
        finally:
            world.close()
        n += 1
    return tally


def _compare_with_twin(make_world: Callable[[int], World], n: int, fx: Effects) -> list[str]:
    """Nothing lost: a twin of the world that ran once, never killed, made the same
    bookings, sent the same emails and declined the same invitations."""
    twin = make_world(10_000 + n)
    try:
        done = coachd(twin.cfg, "once")
        assert done.returncode == 0, done.stderr
        want = twin.effects().outcome()
    finally:
        twin.close()
    return _differences(n, fx.outcome(), want)


def _differences(n: int, got: tuple[set[str], ...], want: tuple[set[str], ...]) -> list[str]:
    out = []
    for what, g, w in zip(("booked", "emailed", "declined"), got, want, strict=True):
        if g != w:
            out.append(
                f"world {n} {what} differs from its twin: lost {sorted(w - g)}, "
                f"extra {sorted(g - w)}"
            )
    return out


def _local(template: Path, base: Path) -> Callable[[int], World]:
    return lambda i: LocalWorld(template, base / f"local-{i + 1}")


def _google(template: Path, base: Path, decline: bool) -> Callable[[int], World]:
    return lambda i: GoogleWorld(template, base / f"google-{i + 1}", decline=decline)


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Iterator[list[str]]:
    """Lines printed after the test (pytest -s, or -rA) with the campaign's figures."""
    lines: list[str] = []
    yield lines
    if lines:
        print("\n" + "\n".join(lines))


def _run(
    name: str,
    make_world: Callable[[int], World],
    kills: int,
    report: list[str],
    *,
    twin_every: int,
    writing: bool = False,
) -> Tally:
    seed = _seed()
    tally = campaign(make_world, kills, seed, twin_every=twin_every, writing=writing)
    report.append(f"crash campaign {name} (COACHD_CAMPAIGN_SEED={seed}): {tally.line()}")
    assert not tally.problems, f"seed {seed}:\n" + "\n".join(tally.problems)
    assert tally.kills >= kills
    return tally


@pytest.mark.parametrize("backend", ["local", "google-decline"])
def test_a_few_kills_never_double_book_send_or_decline(
    backend: str, template: Path, tmp_path: Path, report: list[str]
) -> None:
    make = (
        _local(template, tmp_path)
        if backend == "local"
        else _google(template, tmp_path, decline=True)
    )
    # A few kills must count: aim them at the part of the run where the executor writes.
    # Only world 0 is compared with a twin (the reference run).
    _run(backend, make, 5, report, twin_every=10**6, writing=True)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("backend", "kills"), [("local", 100), ("google-decline", 80), ("google-flag", 40)]
)
def test_crash_campaign(
    backend: str, kills: int, template: Path, tmp_path: Path, report: list[str]
) -> None:
    if backend == "local":
        make = _local(template, tmp_path)
    else:
        make = _google(template, tmp_path, decline=backend == "google-decline")
    kills = _kills(kills)
    tally = _run(backend, make, kills, report, twin_every=1)
    # Uniform instants over a full run must land in the writing phase now and then;
    # otherwise the campaign tests nothing but python's start-up.
    assert tally.after_first_write >= kills // 10, tally.line()


# --- the loss the campaign found ---------------------------------------------------------------


class _Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs (BaseException: no handler catches it)."""


class _World:
    """A calendar that accepts every write, and a mailer that can die once."""

    def __init__(self) -> None:
        self.applied: list[str] = []
        self.sent: list[str] = []
        self.die_on_send = True

    def read(self, owner: str, window: object) -> object:
        raise AssertionError("not read here")

    def busy(self, people: object, window: object) -> object:
        raise AssertionError("not read here")

    def apply(self, owner: str, writes: Sequence[CalendarWrite]) -> list[WriteOutcome]:
        self.applied += [type(w).__name__ for w in writes]
        return [WriteOutcome(w) for w in writes]

    def send(self, message: EmailMessage) -> None:
        if self.die_on_send:
            raise _Killed
        self.sent.append(str(message["X-Coachd-Key"]))


def test_an_email_planned_with_a_decline_survives_a_kill_after_the_decline(
    tmp_path: Path,
) -> None:
    """A delegate's email is planned with the decline that hands the meeting on. Killed
    after the decline, before the email: the next tick no longer plans either (the
    invitation is answered), so the email must come from the queue of the dead tick."""
    now = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    decline = Decline(
        event_id="ev1",
        fingerprint="fp",
        title="Vendor demo",
        organizer="vendor@vendors.example",
        start=now + timedelta(days=2),
        rule="vendor-demos",
        message="Alex will attend.",
        reason="rule matched",
        delegate_to="alex@acme.example",
    )
    email = SendEmail(
        key="delegate:ev1:fp",
        kind="delegate",
        to=("alex@acme.example",),
        context=triage_sample("delegate"),
        reason="delegated",
    )
    world = _World()

    def tick(actions: list[Action], at: datetime) -> None:
        with StateStore.open(tmp_path / "state.json", now=at) as store:
            Executor(
                owner="dana@acme.example",
                calendar=world,  # type: ignore[arg-type]
                mailer=world,
                store=store,
                renderer=Renderer(),
                sender="coachd@acme.example",
                now=at,
            ).run(actions)

    with pytest.raises(_Killed):
        tick([decline, email], now)
    assert world.applied == ["Decline"] and world.sent == []

    world.die_on_send = False
    tick([], now + timedelta(minutes=10))  # the planner has nothing left to do
    assert world.sent == ["delegate:ev1:fp"]
    tick([], now + timedelta(minutes=20))
    assert world.sent == ["delegate:ev1:fp"], "sent once, then forgotten"
    assert world.applied == ["Decline"], "the decline was not repeated"
