"""`coachd init`: a first run for a real team (flags, prompts on a terminal, or a team CSV),
or with `--demo` the demo team. Prints next steps that work exactly as typed."""

from __future__ import annotations

import argparse
import re
import shlex
import shutil
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from integrations.errors import UserError

if TYPE_CHECKING:  # first_run imports the config loader (pydantic): not for `coachd --help`
    from integrations.commands.first_run import FirstRun

_HOURS = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `coachd init`."""
    p.add_argument("dir", nargs="?", default=".", help="folder to write into (default: here)")
    p.add_argument(
        "--demo",
        action="store_true",
        help="write a demo team, a busy demo calendar, a KPI file and notes instead",
    )
    p.add_argument(
        "--org",
        action="store_true",
        help="with --demo: a demo org of three managers (org.yaml, managers/) for `coachd org`",
    )
    p.add_argument("--name", default="", help="the manager's name, as emails sign it")
    p.add_argument("--email", default="", help="the manager's email: the calendar coachd guards")
    p.add_argument(
        "--timezone", default="", help="the manager's IANA timezone (default America/Chicago)"
    )
    p.add_argument(
        "--hours", default="", help='working hours as "HH:MM-HH:MM" (default 08:00-17:30)'
    )
    p.add_argument("--boss", default="", help="the boss's email: never declined or moved")
    p.add_argument(
        "--rep",
        action="append",
        default=[],
        metavar='"NAME <EMAIL>"',
        help="a rep of the team (repeat for each rep)",
    )
    p.add_argument(
        "--team", metavar="CSV", help="the team from a CSV file: name,email[,start_date]"
    )


def next_step_command() -> str:
    """How to call coachd again from a shell: `coachd` when it is on PATH, else its path."""
    if shutil.which("coachd"):
        return "coachd"
    argv0 = Path(sys.argv[0])
    if argv0.name == "coachd" and argv0.exists():
        return shlex.quote(str(argv0.resolve()))
    return f"{shlex.quote(sys.executable)} -m daemon"


def run(
    args: argparse.Namespace,
    today: date,
    out: Callable[[str], None],
    ask: Callable[[str, str], str] | None = None,
) -> int:
    """Write the config (and, with --demo, the demo); print what to do next."""
    from integrations.commands.demo import write_demo
    from integrations.commands.first_run import render_config

    target = Path(args.dir)
    cmd = next_step_command()
    cd = "" if target.resolve() == Path.cwd().resolve() else f"cd {shlex.quote(str(target))} && "
    if args.demo and getattr(args, "org", False):
        from integrations.org.demo import write_demo_org

        write_demo_org(target, today)
        out(f"Wrote a demo org to {target}/: org.yaml, managers/ (3 managers), calendars/.")
        out(f"Next: {cd}{cmd} org check && {cmd} org plan")
        return 0
    if getattr(args, "org", False):
        raise UserError("--org goes with --demo (an org is written by hand from org.yaml)")
    if args.demo:
        target.mkdir(parents=True, exist_ok=True)
        write_demo(target, today)
        out(f"Wrote a demo to {target}/: config.yaml, calendar/, kpis.csv, notes/.")
        out(f"Next: {cd}{cmd} plan")
        return 0
    config = target / "config.yaml"
    if config.exists():
        raise UserError(
            f"{config} already exists; coachd init never overwrites it. "
            "Move it away or choose another folder."
        )
    if ask is None and sys.stdin.isatty() and not args.email:
        ask = _prompt
    run_ = gather(args, ask)
    target.mkdir(parents=True, exist_ok=True)
    # An empty KPI file and notes folder, where the config says they are: check stays quiet.
    kpis = target / "kpis.csv"
    if not kpis.exists():
        kpis.write_text("week,rep,kpi,value\n", encoding="utf-8")
    (target / "notes").mkdir(exist_ok=True)
    config.write_text(render_config(run_), encoding="utf-8")
    out(f"Wrote {config} for {run_.name or 'you'} and {len(run_.team)} rep(s).")
    if not run_.email or not run_.team:
        out("It still holds placeholders (Your Name, you@example.com...): edit them first.")
    out(f"Next: {cd}{cmd} check && {cmd} plan")
    return 0


def _prompt(question: str, default: str) -> str:
    shown = f" [{default}]" if default else ""
    answer = input(f"{question}{shown}: ").strip()
    return answer or default


def gather(args: argparse.Namespace, ask: Callable[[str, str], str] | None) -> FirstRun:
    """FirstRun from flags, asking (when `ask` is given) for what the flags left out."""
    from integrations.commands.first_run import FirstRun, Member, parse_member, read_team_csv

    name, email, boss = args.name, args.email, args.boss
    tz, hours = args.timezone, args.hours
    team: list[Member] = [parse_member(r) for r in args.rep]
    if args.team:
        team += read_team_csv(Path(args.team))
    if ask is not None:
        name = name or ask("Your name", "")
        email = email or ask("Your email (the calendar coachd guards)", "")
        tz = tz or ask("Your timezone", "America/Chicago")
        hours = hours or ask("Working hours", "08:00-17:30")
        boss = boss or ask("Your boss's email (never declined)", "")
        while not team:
            line = ask('A rep, as "Name <email>" (empty when done)', "")
            if not line:
                break
            try:
                team.append(parse_member(line))
            except UserError as e:
                print(e, file=sys.stderr)
            more = ask('Another rep, as "Name <email>" (empty when done)', "")
            while more:
                try:
                    team.append(parse_member(more))
                except UserError as e:
                    print(e, file=sys.stderr)
                more = ask('Another rep, as "Name <email>" (empty when done)', "")
    tz = tz or "America/Chicago"
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(
            f"--timezone {tz!r} is not an IANA timezone (use a name like America/Chicago)"
        ) from None
    hours = hours or "08:00-17:30"
    if not _HOURS.match(hours) or hours[:5] >= hours[6:]:
        raise UserError(f'--hours {hours!r}: write it as "08:00-17:30" (start before end)')
    emails = [m.email for m in team]
    if len(set(emails)) != len(emails):
        raise UserError("a rep is listed twice")
    return FirstRun(
        name=name,
        email=email.lower(),
        timezone=tz,
        start=hours[:5],
        end=hours[6:],
        boss=boss.lower(),
        team=tuple(team),
    )
