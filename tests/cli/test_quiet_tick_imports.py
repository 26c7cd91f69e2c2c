"""A cached, quiet `coachd once` (what cron runs every few minutes) starts fast: with nothing
to render or send it imports neither jinja2 (templates) nor icalendar (the calendar cache
answers the read, including for the files the tick before wrote; iMIP attachments are built
only for an invitation being sent)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pinning import PINNED_ISO, ROOT, coachd_argv

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}

SCRIPT = (
    "import contextlib, io, sys, daemon\n"
    "with contextlib.redirect_stdout(io.StringIO()):\n"
    "    code = daemon.main(sys.argv[1:])\n"
    "print(code, ','.join(m for m in ('jinja2', 'icalendar') if m in sys.modules))\n"
)


def test_a_quiet_cached_once_imports_neither_jinja2_nor_icalendar(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    init = subprocess.run(
        coachd_argv("init", str(demo), "--demo"), capture_output=True, text=True, env=ENV
    )
    assert init.returncode == 0, init.stderr
    cfg = str(demo / "config.yaml")

    def once() -> tuple[str, str]:
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT, "once", "--at", PINNED_ISO, "--config", cfg],
            capture_output=True,
            text=True,
            env=ENV,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        code, _, modules = done.stdout.strip().partition(" ")
        return code, modules

    # The first tick books, mails and declines (and fills the calendar cache): it needs both.
    assert once() == ("0", "jinja2,icalendar")
    # The second, at the same instant, finds everything done and sent, and every file in
    # the cache: the first decoded the files it wrote into it (LocalCalendar.refresh_cache).
    assert once() == ("0", "")
