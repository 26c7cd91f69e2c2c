"""The production install: build the wheel, install it into a fresh venv, and run a real
first run there: `coachd init` with flags for a made-up team, `check`, `once` → bookings,
the manager's emails and the reps' invitations. Nothing from this checkout is on the path.

Slow (a venv and the dependencies from pip's cache or PyPI): marked `packaging`; `.ci/run`
runs it explicitly (`make test-packaging`).
"""

from __future__ import annotations

import email
import mailbox
import os
import subprocess
import sys
import venv
from email import policy
from pathlib import Path

import icalendar
import pytest

REPO = Path(__file__).resolve().parents[2]
PINNED = "2026-11-30T10:00:00-07:00"  # Monday, after the 07:30 summary

pytestmark = pytest.mark.packaging


def _run(cmd: list[str], cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["NO_COLOR"] = "1"
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_wheel_installs_and_runs_a_first_team(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(wheels),
            str(REPO),
        ],
        tmp_path,
    )
    (wheel,) = wheels.glob("coachd-*.whl")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py, coachd = env_dir / "bin" / "python", env_dir / "bin" / "coachd"
    _run([str(py), "-m", "pip", "install", "--quiet", str(wheel)], tmp_path)

    assert _run([str(coachd), "--version"], tmp_path).startswith("coachd ")
    team = tmp_path / "team"
    _run(
        [
            str(coachd), "init", str(team),
            "--name", "Robin Vale", "--email", "robin@kettle.test", "--boss", "kai@kettle.test",
            "--timezone", "America/Denver", "--hours", "08:30-17:00",
            "--rep", "Uma Lind <uma@kettle.test>", "--rep", "Ravi Bose <ravi@kettle.test>",
        ],
        tmp_path,
    )  # fmt: skip
    assert "OK: 2 reps" in _run([str(coachd), "check"], team)
    assert _run([str(coachd), "once", "--at", PINNED], team).startswith("coachd once: ok")

    booked = list((team / "calendar" / "robin@kettle.test").glob("*.ics"))
    assert booked, "once booked nothing"
    kinds: dict[str, list[str]] = {}
    for raw in mailbox.Maildir(str(team / "outbox"), factory=None, create=False):
        msg = email.message_from_bytes(raw.as_bytes(), policy=policy.default)
        kind = str(msg["X-Coachd-Key"]).split(":", 1)[0]
        kinds.setdefault(kind, []).extend(a.addr_spec for a in msg["To"].addresses)
        for part in msg.walk():
            if part.get_content_type() == "text/calendar":
                icalendar.Calendar.from_ical(part.get_content())
    assert {"uma@kettle.test", "ravi@kettle.test"} <= set(kinds["invitation"])
    assert "robin@kettle.test" in kinds["summary"]
