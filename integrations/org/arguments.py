"""The options of `coachd org`, in a module that imports nothing heavy: `coachd --help`
builds every subcommand's parser and must stay fast (see tests/cli/test_cli_output.py)."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `coachd org`."""
    p.add_argument(
        "action",
        choices=["check", "plan", "status", "run", "report"],
        help="check: validate org.yaml and every manager's file; plan: each manager's dry "
        "run; status: each manager's last tick; run: serve every manager until SIGTERM; "
        "report: render the weekly VP roll-up (org.report) without sending it",
    )
    p.add_argument("--org", default="org.yaml", help="path to org.yaml (default ./org.yaml)")
    p.add_argument(
        "--at",
        metavar="ISO-TIME",
        help="check/plan/status as if it were this instant (UTC unless an offset is given)",
    )
    p.add_argument("--json", action="store_true", help="status as JSON")
    p.add_argument("--preview", metavar="OUT.html", help="report: write the HTML part to this file")
