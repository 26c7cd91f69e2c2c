"""The options of `coachd org`, in a module that imports nothing heavy: `coachd --help`
builds every subcommand's parser and must stay fast (see tests/cli/test_cli_output.py)."""

from __future__ import annotations

import argparse
import os


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `coachd org`."""
    p.add_argument(
        "action",
        choices=["check", "plan", "status", "run", "report", "scheduler", "worker"],
        help="check: validate org.yaml and every manager's file; plan: each manager's dry "
        "run; status: each manager's last tick; run: serve every manager until SIGTERM; "
        "report: render the weekly VP roll-up (org.report) without sending it; "
        "scheduler/worker: the same past one machine, on RQ and Redis (see the README)",
    )
    p.add_argument("--org", default="org.yaml", help="path to org.yaml (default ./org.yaml)")
    p.add_argument(
        "--at",
        metavar="ISO-TIME",
        help="check/plan/status as if it were this instant (UTC unless an offset is given)",
    )
    p.add_argument("--json", action="store_true", help="status as JSON")
    p.add_argument("--preview", metavar="OUT.html", help="report: write the HTML part to this file")
    p.add_argument(
        "--redis",
        default=os.environ.get("COACHD_REDIS_URL", "redis://localhost:6379/0"),
        help="scheduler/worker: the Redis URL (default $COACHD_REDIS_URL or "
        "redis://localhost:6379/0)",
    )
    p.add_argument("--queue", default="coachd", help="scheduler/worker: the RQ queue name")
    p.add_argument(
        "--lease-ttl",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="scheduler: how long a killed worker's manager stays leased (default 60)",
    )
    p.add_argument("--burst", action="store_true", help="worker: exit once the queue is empty")
