"""The command line people read: grouped plan with totals, colour rules, once's last line,
typed status JSON, the audit's default week, help on every option."""

from __future__ import annotations

import argparse
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from daemon import build_parser, main
from integrations.commands.cli.plan_output import format_plan, use_color
from planner.actions import Book, Flag, Notice, SendEmail

TZ = ZoneInfo("America/Chicago")
START = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)  # 10:00 in Chicago


def _book(kind: str, hours: int, reason: str = "every 2 weeks") -> Book:
    s = START + timedelta(hours=hours)
    return Book(
        key=f"{kind}:-:{hours}", event_id=f"e{hours}", kind=kind, rep=None, period="p",
        generation=0, start=s, end=s + timedelta(minutes=30), title=f"{kind} block",
        description="", attendees=(), reason=reason,
    )  # fmt: skip


ACTIONS = [
    _book("one_on_one", 0, "because " * 40),
    _book("huddle", 1),
    _book("one_on_one", 2),
    Flag(
        event_id="x",
        fingerprint="f",
        title="Parking badge",
        organizer="ops@x.com",
        start=START,
        rule="facilities",
        reason="rule matched",
    ),
    SendEmail(key="k", kind="invitation", to=("a@x.com",), context={}, reason="invite"),
    Notice("no free slot for Sam this week"),
]


def test_plan_is_grouped_by_kind_with_totals_in_the_managers_zone() -> None:
    text = format_plan(ACTIONS, ["a warning"], TZ, color=False, width=80)
    assert "\x1b[" not in text
    assert "Book: One-on-ones (2)" in text and "Book: Huddles (1)" in text
    assert text.index("One-on-ones") < text.index("Huddles") < text.index("Triage (1)")
    assert "Tue 1 Dec 10:00–10:30  one_on_one block" in text  # Chicago, not UTC
    assert text.splitlines()[-1] == "Total: 3 bookings, 1 flag, 1 email, 1 notice"
    assert max(len(line) for line in text.splitlines()) <= 80  # reasons wrapped


def test_colour_only_on_a_terminal_and_never_with_no_color() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert use_color(Tty(), {"TERM": "xterm"})
    assert not use_color(Tty(), {"TERM": "xterm", "NO_COLOR": "1"})
    assert not use_color(Tty(), {"TERM": "dumb"})
    assert not use_color(io.StringIO(), {"TERM": "xterm"})
    assert "\x1b[1m" in format_plan(ACTIONS, [], TZ, color=True)


def test_once_ends_with_one_summary_line_and_status_json_is_typed(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = str(demo / "config.yaml")
    assert main(["once", "--config", cfg]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert re.fullmatch(
        r"coachd once: ok in [0-9.]+s: booked \d+, flagged \d+, emailed \d+", out[-1]
    )
    assert main(["status", "--json", "--config", cfg]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["running"] is False and status["pid"] is None
    tick = status["last_tick"]
    assert tick["ok"] is True and isinstance(tick["seconds"], float)
    assert all(isinstance(v, int) for v in tick["summary"].values())
    assert isinstance(status["this_week"]["booked"], int) and status["this_week"]["booked"] > 0
    datetime.fromisoformat(tick["finished"])
    assert datetime.fromisoformat(status["next_summary"]).utcoffset() is not None


def test_audit_reports_the_last_complete_week_by_default(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = str(demo / "config.yaml")
    assert main(["audit", "--json", "--weeks", "1", "--config", cfg]) == 0
    last = json.dumps(json.loads(capsys.readouterr().out))
    assert main(["audit", "--json", "--weeks", "1", "--week", "current", "--config", cfg]) == 0
    current = json.dumps(json.loads(capsys.readouterr().out))
    # The demo is pinned to Mon 30 Nov 2026 (week 49): last complete week is 48.
    assert "2026-W48" in last and "2026-W49" not in last
    assert "2026-W49" in current


def test_every_option_has_help_and_version_works(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    missing = []

    def walk(p: argparse.ArgumentParser, where: str) -> None:
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, f"{where} {name}")
            elif not action.help:
                missing.append(f"{where}: {'/'.join(action.option_strings) or action.dest}")

    walk(parser, "coachd")
    assert not missing
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("coachd ")


def test_help_imports_neither_the_config_loader_nor_package_metadata() -> None:
    """`coachd --help` starts fast: it builds the parser without importing pydantic (the
    config models), the planner, the templates or the calendar parser, and looks the version
    up only for `--version`. A fresh interpreter, as a person at a terminal starts it."""
    import subprocess
    import sys

    heavy = (
        "pydantic",
        "jinja2",
        "yaml",
        "icalendar",
        "importlib.metadata",
        "planner",
        "integrations.config_file",
        "integrations.commands.first_run",
    )
    script = (
        "import contextlib, io, sys, daemon\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        daemon.main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == ""
