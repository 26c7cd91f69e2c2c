"""Run coachd with the process clock pinned: `python tests/pinned.py ISO-TIME ARGS...`.

For `coachd run`, which refuses `--at` (a daemon serves the real clock), so a test can still
start it at the suite's pinned instant. time-machine moves every clock the daemon reads
(datetime, time.time; the `schedule` library's jobs too) and lets it tick from there.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import time_machine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from daemon import main

if __name__ == "__main__":
    with time_machine.travel(datetime.fromisoformat(sys.argv[1]), tick=True):
        sys.exit(main(sys.argv[2:]))
