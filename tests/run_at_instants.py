"""Rerun the tests marked `instant` at every instant in tests/instants.txt (two at a time).

`make test` runs this after the main suite: planning code that works on a Monday morning can
still break on a Sunday at 23:59, on a DST change day, in ISO week 53 or on 29 February.
Each run is `pytest -m "instant and not slow"` with COACHD_TEST_AT set; a failing instant's
output is printed whole. Exit 0 only if every instant passed.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("instants")


def instants(path: Path) -> list[tuple[str, str]]:
    """(ISO instant, why) for every non-comment line of the file."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            at, _, why = line.strip().partition(" ")
            out.append((at, why.strip()))
    return out


def run(at: str) -> subprocess.CompletedProcess[str]:
    """The instant tests, with the clock pinned at `at`."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-m", "instant and not slow", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env={**os.environ, "COACHD_TEST_AT": at},
        capture_output=True,
        text=True,
        check=False,
    )


def _last_line(text: str) -> str:
    """pytest's closing summary line ("12 passed, 1 failed in 9.8s"), or "no output"."""
    return text.strip().splitlines()[-1] if text.strip() else "no output"


def _count(word: str, summary: str) -> int:
    m = re.search(rf"(\d+) {word}", summary)
    return int(m.group(1)) if m else 0


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    todo = instants(ROOT / "tests" / "instants.txt")
    passed = failed = 0
    bad = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        for (at, why), done in zip(todo, pool.map(run, [a for a, _ in todo]), strict=True):
            summary = _last_line(done.stdout)
            log.info("instant %s (%s): %s", at, why, summary)
            here = _count("failed", summary) + _count("error", summary)
            if done.returncode != 0:
                bad.append(at)
                log.info("%s\n%s", done.stdout, done.stderr)
                here = max(here, 1)  # a run that crashed before its summary still failed
            passed += _count("passed", summary)
            failed += here
    log.info("instants: %d passed, %d failed", passed, failed)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
