"""`coachd` at a pinned instant, for the benchmarks: `python bench/_at.py ISO-TIME ARGS...`.

Runs the real CLI (`daemon.main`) in this fresh process with the one clock seam
(`integrations.clock.now`) returning the given instant, so a simulated week of the year can
be timed as cron would run it. Costs nothing beyond what `coachd` itself imports.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from integrations import clock

if __name__ == "__main__":
    at = datetime.fromisoformat(sys.argv[1])
    clock.now = lambda: at
    import daemon

    sys.exit(daemon.main(sys.argv[2:]))
