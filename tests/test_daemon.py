"""`coachd run` as a real subprocess on a temp copy of the demo (issue 7's done-when)."""

from __future__ import annotations

import mailbox
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import schedule
from pinning import coachd_argv

from daemon import Daemon, main

ROOT = Path(__file__).resolve().parent.parent


def _wait(pred: object, timeout: float = 60.0, what: str = "condition") -> None:
    """Poll until pred() is true; the timeout is a safety net, not a performance check."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _coachd_files(demo: Path) -> list[Path]:
    manager = next(p for p in (demo / "calendar").iterdir() if p.name.startswith("dana"))
    return [p for p in manager.glob("*.ics") if b"X-COACHD-KEY" in p.read_bytes()]


def _outbox(demo: Path) -> list[str]:
    box = demo / "outbox"
    try:
        return [str(m["X-Coachd-Key"]) for m in mailbox.Maildir(str(box), create=False)]
    except (FileNotFoundError, mailbox.NoSuchMailboxError):
        return []  # not there yet, or the daemon is creating tmp/, new/ and cur/ right now


@pytest.fixture
def running(demo: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    cfg = demo / "config.yaml"
    text = cfg.read_text()
    cfg.write_text(text.replace("tick: 10m", "tick: 2s"))
    log = (demo / "daemon.log").open("w")
    proc = subprocess.Popen(
        [*coachd_argv("run"), "--config", str(cfg)],
        cwd=demo,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        yield proc, demo
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()


def test_run_books_sends_reloads_and_stops_cleanly(
    running: tuple[subprocess.Popen[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    proc, demo = running
    cfg = demo / "config.yaml"
    # The reps' invitations go out first, then the manager's agendas.
    _wait(
        lambda: (
            len(_coachd_files(demo)) > 0 and any(k.startswith("agenda:") for k in _outbox(demo))
        ),
        what="first tick",
    )
    assert any(k.startswith("invitation:") for k in _outbox(demo))

    # A second instance on the same state is refused with a clear message.
    second = subprocess.run(
        [*coachd_argv("run"), "--config", str(cfg)],
        cwd=demo,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert second.returncode == 1
    assert "already" in second.stderr and str(proc.pid) in second.stderr

    # A valid edit + SIGHUP changes behaviour: a new rep gets a one-on-one.
    text = cfg.read_text()
    new_rep = (
        "team:\n  - name: Quinn Newrep\n    email: quinn.newrep@acme-demo.com\n"
        '    goals: ["Learn the product"]\n'
    )
    assert text.count("team:\n") == 1
    cfg.write_text(text.replace("team:\n", new_rep, 1))
    proc.send_signal(signal.SIGHUP)
    _wait(
        lambda: any(b"quinn.newrep@acme-demo.com" in p.read_bytes() for p in _coachd_files(demo)),
        what="booking for the new rep",
    )

    # A broken edit leaves it running on the old policy, logged and emailed.
    good = cfg.read_text()
    cfg.write_text(good + "\nnot_a_section: [\n")
    proc.send_signal(signal.SIGHUP)
    _wait(
        lambda: any(k.startswith("config_error:") for k in _outbox(demo)), what="config error email"
    )
    assert proc.poll() is None
    log = (demo / "daemon.log").read_text()
    assert "config reload rejected" in log

    # SIGTERM: exits 0 with the state intact.
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    cfg.write_text(good)
    assert main(["status", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "not running" in out and "last tick" in out


def test_a_job_that_raises_does_not_stop_the_loop(
    demo: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = Daemon(demo / "config.yaml")
    runs: list[int] = []

    def boom() -> None:
        raise RuntimeError("injected failure")

    def counter() -> None:
        runs.append(1)
        if len(runs) >= 3:
            d.stop = True

    real_schedule = d._schedule

    def schedule_with_faults() -> None:
        real_schedule()
        d.scheduler.every(1).seconds.do(d._job, "boom", boom)
        d.scheduler.every(1).seconds.do(d._job, "counter", counter)

    monkeypatch.setattr(d, "_schedule", schedule_with_faults)
    assert isinstance(d.scheduler, schedule.Scheduler)
    assert d.scheduler is not schedule.default_scheduler
    assert d.run() == 0
    assert len(runs) == 3
    assert "job boom failed" in caplog.text


@pytest.mark.parametrize("enabled", [True, False])
def test_sales_meeting_wake_up_follows_the_email_setting(demo: Path, enabled: bool) -> None:
    """The daemon wakes for a sales meeting's email only when that email is switched on
    (it used to keep its own table of lead times and ignored `enabled`)."""
    from datetime import timedelta

    from integrations import clock
    from integrations.store.state import StateStore
    from planner.model import BookingRecord

    cfg = demo / "config.yaml"
    text = cfg.read_text().replace("tick: 10m", "tick: 6h")
    if not enabled:
        text = text.replace(
            "    enabled: true\n    before: 24h", "    enabled: false\n    before: 24h"
        )
    cfg.write_text(text)
    d = Daemon(cfg)
    assert d.loaded.policy.email.sales_meeting.enabled is enabled
    now = clock.now()
    start = now + timedelta(hours=26)
    with StateStore.open(demo / "wake-state.json", now=now) as store:
        store.put_booking(
            BookingRecord(
                key="sales_meeting:-:2026-W99",
                event_id="sm1",
                generation=0,
                status="booked",
                kind="sales_meeting",
                rep=None,
                start=start,
                end=start + timedelta(hours=1),
            )
        )
        d.store = store
        d._wake_for_agendas()
    jobs = [j for j in d.scheduler.jobs if "agenda" in j.tags]
    assert len(jobs) == (1 if enabled else 0)
