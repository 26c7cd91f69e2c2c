"""`coachd org run` as a process: SIGHUP picks up a new manager file, SIGTERM exits 0."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from pinning import PINNED_ISO, ROOT

from integrations.org.limiter import TokenBucket

OMAR = "omar.nasri@acme-demo.com"


def _wait_for(cond: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.2)
    return False


def test_sighup_adds_a_manager_and_sigterm_stops_cleanly(demo_org: Path) -> None:
    aside = demo_org / "omar.yaml"
    shutil.move(demo_org / "managers" / f"{OMAR}.yaml", aside)
    argv = [sys.executable, str(ROOT / "tests" / "pinned.py"), PINNED_ISO]
    proc = subprocess.Popen(
        [*argv, "org", "run", "--org", str(demo_org / "org.yaml")],
        cwd=demo_org,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        state = demo_org / "state"
        assert _wait_for(lambda: len(list(state.glob("*/coachd.json"))) == 2, 120)
        assert not (state / OMAR).exists()
        shutil.move(aside, demo_org / "managers" / f"{OMAR}.yaml")
        proc.send_signal(signal.SIGHUP)
        assert _wait_for(lambda: (state / OMAR / "coachd.json").exists(), 120)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-2000:]
    assert f"manager {OMAR} added" in err


def test_the_token_bucket_spends_its_burst_then_waits_at_its_rate() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    bucket = TokenBucket(rate=2.0, burst=3, monotonic=lambda: now[0], sleep=sleep)
    assert [bucket.take() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take() == 0.5  # empty: one token comes every 1/rate seconds
    now[0] += 10  # idle time refills only up to the burst
    assert [bucket.take() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(2) == 1.0
    assert bucket.taken == 9
