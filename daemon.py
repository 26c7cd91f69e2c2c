"""coachd: the command line and the long-running loop.

Every command takes `--config PATH` (default ./config.yaml). Errors are translated once, at
the top (`main`), into a message a person can act on and an exit code.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from integrations import clock
from integrations.errors import CoachdError, ConfigError, UserError, describe_os_error
from integrations.tick import error_slot

# Imported where used, not here: `coachd --help` must not pay for pydantic, Jinja, the
# planner and the Google client (they were 90% of its start-up time).
if TYPE_CHECKING:
    from integrations.config_file import LoadedConfig

log = logging.getLogger("coachd")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format=LOG_FORMAT,
        stream=sys.stderr,
        force=True,
    )
    # The Google client logs request URLs at INFO; keep its noise (and any token) out.
    logging.getLogger("googleapiclient").setLevel(logging.WARNING)
    logging.getLogger("google_auth_httplib2").setLevel(logging.WARNING)
    logging.getLogger("msal").setLevel(logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.WARNING)


def _out(text: str = "") -> None:
    """The CLI's own output (not logging): results a person asked for."""
    sys.stdout.write(text + "\n")


# --- commands ------------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    from integrations.commands.cli.init import run
    from integrations.commands.demo import TZ as DEMO_TZ

    if args.at and not args.demo:
        raise UserError("--at goes with --demo: it sets the week the demo is built around")
    _travel(args, DEMO_TZ)
    return run(args, clock.now().astimezone(DEMO_TZ).date(), _out)


def cmd_check(args: argparse.Namespace) -> int:
    from integrations.commands.first_run import placeholder_errors
    from integrations.config_file import check_files, file_warnings, load_policy
    from integrations.mail.render import check_templates
    from integrations.tick.app import open_renderer

    loaded = load_policy(Path(args.config))
    for w in file_warnings(loaded):
        _out(f"warning: {w}")
    problems = list(check_files(loaded))
    problems += placeholder_errors(loaded)
    problems += check_templates(open_renderer(loaded))
    if problems:
        for line in problems:
            _out(line)
        return 1
    pol = loaded.policy
    _out(
        f"{args.config}: OK: {len(pol.team)} reps, {len(pol.kpis)} KPIs, calendar "
        f"{pol.calendar.backend}, email {pol.email.transport}, triage mode {pol.triage.mode}"
    )
    return 0


def _travel(args: argparse.Namespace, tz: tzinfo) -> None:
    """Move the clock to `--at` (wall time in `tz` unless it has an offset), if given."""
    if not getattr(args, "at", None):
        return
    try:
        at = clock.parse_at(args.at, tz)
    except ValueError as e:
        raise UserError(str(e)) from None
    clock.travel_to(at)
    # A warning, so `plan` and `once` (which log only warnings by default) still say it.
    log.warning("running as if it were %s (--at)", at.astimezone(tz).isoformat(timespec="minutes"))


def _load(args: argparse.Namespace) -> LoadedConfig:
    """The config of `--config`, with the clock moved to `--at` in the manager's zone."""
    from integrations.config_file import load_policy

    loaded = load_policy(Path(args.config))
    _travel(args, loaded.policy.manager.tz)
    return loaded


def cmd_plan(args: argparse.Namespace) -> int:
    from integrations.store.state import StateStore
    from integrations.tick.app import run_tick, state_path
    from planner.actions import to_json

    loaded = _load(args)
    with StateStore.open(state_path(loaded), readonly=True, now=clock.now()) as store:
        result = run_tick(loaded, store, clock.now(), dry_run=True, force=args.force)
    if args.json:
        _out(
            json.dumps(
                {"actions": [to_json(a) for a in result.actions], "warnings": result.warnings},
                indent=2,
                default=str,
            )
        )
        return 0
    from integrations.commands.cli.plan_output import format_plan, terminal_width, use_color

    _out(
        format_plan(
            result.actions,
            result.warnings,
            loaded.policy.manager.tz,
            color=use_color(sys.stdout),
            width=terminal_width(),
        )
    )
    return 0


def cmd_once(args: argparse.Namespace) -> int:
    from integrations.store.state import StateStore
    from integrations.tick.app import remove_stale_temp_files, state_path

    loaded = _load(args)
    now = clock.now()
    with StateStore.open(state_path(loaded), now=now) as store:
        remove_stale_temp_files(loaded)
        error_slot.reserve(store.path)
        from integrations.tick.run_loop import report_recovery, tick_and_record

        recovered = report_recovery(store)
        ok = tick_and_record(loaded, store, force=args.force)
        from integrations.commands.cli.once_output import once_line

        _out(once_line(store.last_tick()))
    # A run that had to set an unreadable state aside must not look clean to cron/systemd.
    return 0 if ok and not recovered else 1


def cmd_status(args: argparse.Namespace) -> int:
    from integrations.commands.status import status_report

    loaded = _load(args)
    if args.json:
        from integrations.commands.status_json import status_json

        _out(json.dumps(status_json(loaded, clock.now()), indent=2))
        return 0
    report = status_report(loaded, clock.now())
    for k, v in report.items():
        _out(f"{k + ':':<16} {v}")
    return 0


def cmd_auth(args: argparse.Namespace) -> int:
    from integrations.config_file import load_policy
    from integrations.google.auth import run_oauth_flow, scopes_for

    loaded = load_policy(Path(args.config))
    if args.provider == "microsoft":
        return _auth_microsoft(loaded)
    g = loaded.policy.calendar.google
    if g.credentials != "oauth":
        raise UserError(
            f"calendar.google.credentials is {g.credentials!r}; `coachd auth google` is for "
            "oauth (a service account needs no interactive step)"
        )
    token = loaded.resolve(g.token_file)
    run_oauth_flow(
        loaded.resolve(g.client_secrets), token, scopes_for(loaded.policy), port=args.port
    )
    _out(f"Stored the Google token in {token} (mode 0600).")
    return 0


def _auth_microsoft(loaded: LoadedConfig) -> int:
    from integrations.microsoft.auth import delegated_scopes, run_device_flow

    m = loaded.policy.calendar.microsoft
    cache = loaded.resolve(m.token_cache)
    scopes = delegated_scopes(send_mail=loaded.policy.email.transport == "microsoft")
    who = run_device_flow(m, cache, scopes, show=_out)
    _out(f"Signed in{' as ' + who if who else ''}; stored the token cache in {cache} (mode 0600).")
    return 0


def cmd_preview(args: argparse.Namespace) -> int:
    from integrations.commands.preview import render_preview

    loaded = _load(args)
    text = render_preview(loaded, args.kind, rep=args.rep, now=clock.now(), html=bool(args.out))
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        _out(f"Wrote {args.out}")
    else:
        _out(text)
    return 0


def cmd_case(args: argparse.Namespace) -> int:
    from integrations.commands.case_report import render_case_report

    loaded = _load(args)
    rendered = render_case_report(loaded, args.rep, clock.now())
    out = Path(args.out or f"case-report-{args.rep.strip().lower()}.html")
    out.write_text(rendered.html, encoding="utf-8")
    if args.text:
        out.with_suffix(".txt").write_text(rendered.text, encoding="utf-8")
    _out(f"Wrote {out}" + (f" and {out.with_suffix('.txt')}" if args.text else ""))
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from integrations.commands.explain import explain_event

    loaded = _load(args)
    for line in explain_event(loaded, args.event, clock.now()):
        _out(line)
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from integrations.commands.preview import audit_weeks_now
    from planner.audit_report import format_table
    from planner.audit_report import to_json as audit_json

    loaded = _load(args)
    weeks = audit_weeks_now(loaded, clock.now(), args.weeks, current=args.week == "current")
    if args.json:
        _out(json.dumps(audit_json(weeks), indent=2, default=str))
    else:
        _out(format_table(weeks))
    return 0


def cmd_kpis(args: argparse.Namespace) -> int:
    from integrations.commands.kpi_report import format_report, kpi_report, parse_week

    loaded = _load(args)
    week = parse_week(args.week) if args.week else None
    report = kpi_report(loaded, clock.now(), week)
    _out(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


def cmd_org(args: argparse.Namespace) -> int:
    from integrations.org.cli import run

    return run(args, _out)


def cmd_run(args: argparse.Namespace) -> int:
    if args.at:
        raise UserError(
            "coachd run always runs on the real clock; --at is for plan, once, preview, "
            "audit, status and init --demo"
        )
    from integrations.tick.run_loop import Daemon

    d = Daemon(Path(args.config))
    if args.log_level is None:
        logging.getLogger().setLevel(d.loaded.policy.daemon.log_level)
    return d.run()


def __getattr__(name: str) -> Any:
    """`daemon.Daemon` is imported on first use: `coachd --help` must stay fast."""
    if name == "Daemon":
        from integrations.tick.run_loop import Daemon

        return Daemon
    raise AttributeError(f"module 'daemon' has no attribute {name!r}")


# --- entry ---------------------------------------------------------------------------------


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("coachd")
    except PackageNotFoundError:
        return "(not installed)"


class _VersionAction(argparse.Action):
    """`--version`: the installed version, looked up only when asked (importlib.metadata
    scans the installed packages, which every other command would pay for)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kw: Any) -> None:
        super().__init__(
            option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=kw.get("help")
        )

    def __call__(self, parser: argparse.ArgumentParser, *_: Any, **__: Any) -> None:
        print(f"coachd {_version()}")
        parser.exit()


class _PreviewKinds(Sequence[str]):
    """The kinds `coachd preview` renders, read from the email-kind table on first use:
    the table imports the planner and its samples, which `coachd --help` must not pay for."""

    def _kinds(self) -> Sequence[str]:
        from planner.email_kinds import previewable

        return previewable()

    def __getitem__(self, i: Any) -> Any:
        return self._kinds()[i]

    def __len__(self) -> int:
        return len(self._kinds())


def build_parser() -> argparse.ArgumentParser:
    """coachd's command line: the global options, then every subcommand in help order."""
    parser = argparse.ArgumentParser(
        prog="coachd", description="Guards a sales manager's calendar for coaching."
    )
    parser.add_argument(
        "--log-level",
        default=os.environ.get("COACHD_LOG_LEVEL"),
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="default: daemon.log_level from config.yaml for `run`, WARNING for `plan` and "
        "`once` (they print their own results), else INFO",
    )
    parser.add_argument("--version", action=_VersionAction, help="show coachd's version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_setup_commands(sub)
    _add_tick_commands(sub)
    _add_email_commands(sub)
    _add_report_commands(sub)
    return parser


def _add(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    fn: Callable[[argparse.Namespace], int],
    help_: str,
) -> Any:
    """A subcommand running `fn`, with `--config` (and `at` defaulting to None)."""
    p = sub.add_parser(name, help=help_, description=help_)
    p.add_argument("--config", default="config.yaml", help="path to config.yaml")
    p.set_defaults(fn=fn, at=None)
    return p


def _at(p: Any, what: str) -> None:
    """Give a subcommand `--at ISO-TIME`: do `what` as if it were that instant."""
    p.add_argument(
        "--at",
        metavar="ISO-TIME",
        help=f"{what} as if it were this instant, e.g. 2027-01-11T07:00 (the manager's "
        "zone unless an offset is given)",
    )


def _add_setup_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`init` and `check`."""
    p = _add(
        sub, "init", cmd_init, "write a commented config.yaml (--demo: a demo team and calendar)"
    )
    from integrations.commands.cli.init import add_arguments as init_arguments

    init_arguments(p)
    _at(p, "build the demo's weeks")
    _add(sub, "check", cmd_check, "validate config.yaml and the templates")


def _add_tick_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`plan`, `once`, `run`, `status` and `auth`: planning, acting and its access."""
    p = _add(sub, "plan", cmd_plan, "dry run: the actions one tick would take, with reasons")
    p.add_argument("--json", action="store_true", help="the actions as JSON, with reasons")
    p.add_argument("--force", action="store_true", help="plan even if a safety brake is pulled")
    _at(p, "plan")
    p = _add(sub, "once", cmd_once, "one tick: read, plan, act, send what is due; then exit")
    p.add_argument("--force", action="store_true", help="act even if a safety brake is pulled")
    _at(p, "run one tick (it writes state and sends what is due)")
    p = _add(sub, "run", cmd_run, "the daemon: ticks and scheduled emails until SIGTERM")
    p.add_argument("--at", help=argparse.SUPPRESS)
    p = _add(sub, "status", cmd_status, "last tick, next jobs, counts this week, last error")
    p.add_argument("--json", action="store_true", help="typed JSON: numbers, booleans, ISO times")
    _at(p, "report")
    p = _add(sub, "auth", cmd_auth, "authorize Google or Microsoft 365 access for the manager")
    p.add_argument("provider", choices=["google", "microsoft"], help="the service to authorize")
    p.add_argument("--port", type=int, default=8765, help="local port for the OAuth redirect")


def _add_email_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`preview` (render an email) and `case` (a rep's coaching case as a document)."""
    p = _add(sub, "preview", cmd_preview, "render an email without sending it")
    p.add_argument(
        "kind",
        choices=_PreviewKinds(),
        metavar="KIND",
        help="which email to render: %(choices)s",
    )
    p.add_argument("--rep", help="the rep (email) for an agenda or a case report")
    p.add_argument("--out", help="write the HTML part to this file")
    _at(p, "render")
    p = _add(sub, "case", cmd_case, "a rep's coaching case as one HTML document (case report REP)")
    p.add_argument("action", choices=["report"], help="what to do with the case")
    p.add_argument("rep", help="the rep's email address")
    p.add_argument("--out", help="the HTML file to write (default case-report-REP.html)")
    p.add_argument("--text", action="store_true", help="also write the plain-text version")
    _at(p, "report")


def _add_report_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`explain`, `audit`, `kpis` and `org`: reports on one manager, then org mode."""
    p = _add(sub, "explain", cmd_explain, "why triage decides what it does for one meeting")
    p.add_argument("event", help="the event's id or UID, or part of its title")
    _at(p, "explain")
    p = _add(sub, "audit", cmd_audit, "where the manager's hours went, against the targets")
    p.add_argument("--weeks", type=int, default=4, help="how many weeks to show (default 4)")
    p.add_argument(
        "--week",
        choices=["last", "current"],
        default="last",
        help="end with the last complete week (default) or the running one",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    _at(p, "report")
    p = _add(sub, "kpis", cmd_kpis, "the merged KPI figures of a week, each with its source")
    p.add_argument("--week", help="ISO week (2026-W47) or a date in it; default: last week")
    p.add_argument("--json", action="store_true", help="the figures and sources as JSON")
    _at(p, "report")
    p = _add(sub, "org", cmd_org, "org mode: every manager of org.yaml (check, plan, status, run)")
    from integrations.org.arguments import add_arguments as org_arguments

    org_arguments(p)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, run, translate errors: exit 0 on success, 1 on an error the user can fix."""
    args = build_parser().parse_args(argv)
    # `plan` and `once` print their own results; their log shows only what went wrong.
    quiet = args.command in ("plan", "once")
    _setup_logging(args.log_level or ("WARNING" if quiet else "INFO"))
    try:
        code: int = args.fn(args)
        return code
    except ConfigError as e:
        for line in e.errors:
            sys.stderr.write(line + "\n")
        return e.exit_code
    except CoachdError as e:
        sys.stderr.write(f"coachd: {e}\n")
        return e.exit_code
    except OSError as e:  # a full disk, a read-only folder: a sentence, not a traceback
        sys.stderr.write(f"coachd: {describe_os_error(e)}\n")
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `coachd plan | head`: the reader left; say nothing more (stdout is gone).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
