"""The instant the suite runs at, and coachd subprocesses pinned to it.

No test reads the wall clock for dates. The instant is PINNED: a Monday morning by default,
or `COACHD_TEST_AT` (ISO 8601, wall time in the demo manager's zone unless it has an offset).
Every test that needs a date pins it here or in its own constants. `make test` reruns the
tests that plan on the demo (marked `instant`) at each instant in tests/instants.txt
(tests/run_at_instants.py).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from integrations import clock

ROOT = Path(__file__).resolve().parent.parent
CHICAGO = ZoneInfo("America/Chicago")
# A Monday morning before the working day: the demo's "coming week" is this week.
DEFAULT_AT = "2026-11-30T06:00:00-06:00"
PINNED = clock.parse_at(os.environ.get("COACHD_TEST_AT") or DEFAULT_AT, CHICAGO).astimezone(CHICAGO)
PINNED_ISO = PINNED.isoformat()


def coachd_argv(*args: str) -> list[str]:
    """The command line of a coachd subprocess whose clock starts at PINNED (ticking).

    `--at` for the commands that take it; `coachd run`, which refuses `--at`, starts under
    time-machine through tests/pinned.py.
    """
    if args and args[0] == "run":
        return [sys.executable, str(ROOT / "tests" / "pinned.py"), PINNED_ISO, *args]
    if args and args[0] in ("plan", "once", "preview", "audit", "status", "init"):
        return [sys.executable, "-m", "daemon", *args, "--at", PINNED_ISO]
    return [sys.executable, "-m", "daemon", *args]
