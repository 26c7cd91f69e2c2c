"""`coachd org check|plan|status|run`: the org's managers from one command."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING

from integrations import clock
from integrations.errors import UserError

if TYPE_CHECKING:  # `coachd --help` builds this parser: it must not import pydantic
    from integrations.org.config import Org, OrgLoadedConfig
    from integrations.org.roster import Entry


def run(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    """Dispatch one `coachd org` action; exit 1 when a manager's file is broken."""
    if args.at:
        if args.action in ("run", "scheduler", "worker"):
            raise UserError(
                f"coachd org {args.action} always runs on the real clock; --at is for the rest"
            )
        try:
            clock.travel_to(clock.parse_at(args.at, UTC))
        except ValueError as e:
            raise UserError(str(e)) from None
    if args.action in ("scheduler", "worker"):
        return _engine(args)
    from integrations.org.config import load_org
    from integrations.org.roster import load_roster

    org = load_org(Path(args.org))
    if args.action == "run":
        from integrations.org.runner import OrgRunner

        return OrgRunner(Path(args.org)).run()
    roster = load_roster(org)
    actions = {"check": _check, "plan": _plan, "status": _status, "report": _report}
    return actions[args.action](org, roster, out, args)


def _engine(args: argparse.Namespace) -> int:
    """`org scheduler` / `org worker` (RQ on Redis; the `engine` extra)."""
    try:
        from redis import Redis
    except ImportError:
        raise UserError(
            f"coachd org {args.action} needs RQ and Redis: pip install 'coachd[engine]'"
        ) from None
    redis = Redis.from_url(args.redis)
    if args.action == "worker":
        from integrations.org.engine.worker import run_worker

        return run_worker(redis, args.queue, burst=args.burst)
    from integrations.org.engine.scheduler import Scheduler

    ttl = int(args.lease_ttl * 1000)
    return Scheduler(redis, Path(args.org), queue=args.queue, lease_ttl_ms=ttl).run()


def _check(org: Org, roster: list[Entry], out: Callable[[str], None], _: argparse.Namespace) -> int:
    from integrations.config_file import check_files
    from integrations.org.config import problem_files

    bad = problem_files(org)
    for line in bad:
        out(line)
    broken = 0
    templates: dict[str | None, list[str]] = {}  # checked once per templates folder
    for e in roster:
        errors = e.errors
        if e.loaded is not None:
            errors = check_files(e.loaded) + _template_errors(e.loaded, templates)
        if errors:
            broken += 1
            for line in errors:
                out(line)
        elif e.loaded is not None:
            out(f"{e.email}: ok ({len(e.loaded.policy.team)} reps)")
    out(f"{len(roster) - broken} of {len(roster)} manager(s) ready; {broken} with errors")
    return 1 if broken or bad else 0


def _template_errors(loaded: OrgLoadedConfig, seen: dict[str | None, list[str]]) -> list[str]:
    """The templates `org run` will render for this manager, rendered against sample data."""
    from integrations.errors import ConfigError
    from integrations.tick.run_loop import checked_renderer

    key = loaded.policy.email.templates_dir
    if key not in seen:
        try:
            checked_renderer(loaded)
            seen[key] = []
        except ConfigError as err:
            seen[key] = list(err.errors)
    return seen[key]


def _plan(org: Org, roster: list[Entry], out: Callable[[str], None], _: argparse.Namespace) -> int:
    from integrations.commands.cli.plan_output import format_plan
    from integrations.store.state import StateStore
    from integrations.tick.app import run_tick, state_path

    broken = 0
    for e in roster:
        out(f"== {e.email} ==")
        if e.loaded is None:
            broken += 1
            for line in e.errors:
                out(line)
            continue
        now = clock.now()
        with StateStore.open(state_path(e.loaded), readonly=True, now=now) as store:
            result = run_tick(e.loaded, store, now, dry_run=True)
        out(format_plan(result.actions, result.warnings, e.loaded.policy.manager.tz))
    return 1 if broken else 0


def _status(
    org: Org, roster: list[Entry], out: Callable[[str], None], args: argparse.Namespace
) -> int:
    from integrations.org.status import manager_status

    rows = [manager_status(e) for e in roster]
    if args.json:
        out(json.dumps(rows, indent=2, default=str))
        return 0
    for r in rows:
        out(f"{r['manager']:<36} {r['summary']}")
    return 0


def _report(
    org: Org, roster: list[Entry], out: Callable[[str], None], args: argparse.Namespace
) -> int:
    """Print the roll-up's subject and text (the HTML with --preview); sends nothing."""
    from integrations.org.report import render

    rendered = render(org, roster, clock.now())
    if args.preview:
        Path(args.preview).write_text(rendered.html, encoding="utf-8")
        out(f"wrote {args.preview}")
    out(f"Subject: {rendered.subject}\n\n{rendered.text}")
    return 0
