"""`coachd init` for a real team: a config.yaml with the manager's own people and commented
defaults, built from the example config (so every key keeps its explanation).

What the example holds for the demo is replaced: the manager and the team by the values
given; the demo's boss and addresses by the manager's own (the demo's domain becomes the
manager's); the demo's delegate rule becomes a flag rule; agendas go out the day before.
A value nobody gave is written as a placeholder (PLACEHOLDERS), and `coachd check` refuses
a config that still holds one (`placeholder_errors`).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from integrations.config_file import LoadedConfig
from integrations.errors import UserError
from integrations.resources import example_config

DEMO_DOMAIN = "acme-demo.com"
DEMO_MANAGER = "dana.reyes@acme-demo.com"
DEMO_BOSS = "morgan.lee@acme-demo.com"

PLACEHOLDER_NAME = "Your Name"
PLACEHOLDER_EMAIL = "you@example.com"
PLACEHOLDER_BOSS = "your.boss@example.com"
PLACEHOLDER_REP_NAME = "Rep Name"
PLACEHOLDER_REP_EMAIL = "rep@example.com"
PLACEHOLDERS = frozenset(
    {
        PLACEHOLDER_NAME,
        PLACEHOLDER_EMAIL,
        PLACEHOLDER_BOSS,
        PLACEHOLDER_REP_NAME,
        PLACEHOLDER_REP_EMAIL,
    }
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Member:
    """One rep of the team, as `init` was told."""

    name: str
    email: str
    start_date: str = ""  # ISO date for a new hire, else empty


@dataclass(frozen=True)
class FirstRun:
    """What `coachd init` asks for. Empty strings become placeholders."""

    name: str = ""
    email: str = ""
    timezone: str = "America/Chicago"
    start: str = "08:00"
    end: str = "17:30"
    boss: str = ""
    team: tuple[Member, ...] = field(default_factory=tuple)


def read_team_csv(path: Path) -> tuple[Member, ...]:
    """`name,email[,start_date]` with a header row; UserError naming the file and line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise UserError(f"cannot read the team file {path}: {e.strerror or e}") from None
    rows = csv.DictReader(text.splitlines())
    fields = {f.strip().lower() for f in rows.fieldnames or ()}
    if not {"name", "email"} <= fields:
        raise UserError(f"{path}:1: the header must name the columns name,email[,start_date]")
    out: list[Member] = []
    seen: set[str] = set()
    for n, row in enumerate(rows, start=2):
        clean = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        name, email = clean.get("name", ""), clean.get("email", "").lower()
        if not name and not email:
            continue
        if not name or not _EMAIL.match(email):
            raise UserError(
                f"{path}:{n}: need a name and an email address (got {name!r}, {email!r})"
            )
        if email in seen:
            raise UserError(f"{path}:{n}: {email} is listed twice")
        start = clean.get("start_date", "")
        if start and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", start):
            raise UserError(f"{path}:{n}: start_date must be YYYY-MM-DD (got {start!r})")
        seen.add(email)
        out.append(Member(name=name, email=email, start_date=start))
    if not out:
        raise UserError(f"{path}: no reps in the file")
    return tuple(out)


def parse_member(text: str) -> Member:
    """`Name <email>` or `Name,email` (for `--rep`); UserError otherwise."""
    m = re.fullmatch(r"\s*(.+?)\s*<\s*([^<>\s]+)\s*>\s*", text) or re.fullmatch(
        r"\s*([^,]+?)\s*,\s*([^,\s]+)\s*", text
    )
    if not m or not _EMAIL.match(m.group(2)):
        raise UserError(f'--rep {text!r}: write it as "Name <name@company.com>"')
    return Member(name=m.group(1), email=m.group(2).lower())


def _q(value: str) -> str:
    """A YAML scalar that reads back as exactly `value` (JSON strings are YAML)."""
    return json.dumps(value, ensure_ascii=False)


def _team_yaml(team: Sequence[Member]) -> str:
    members = team or (Member(PLACEHOLDER_REP_NAME, PLACEHOLDER_REP_EMAIL),)
    lines = ["team:"]
    for m in members:
        lines.append(f"  - name: {_q(m.name)}")
        lines.append(f"    email: {_q(m.email)}")
        if m.start_date:
            lines.append(f"    start_date: {m.start_date}               # new hire: ramping")
        lines.append(
            "    goals: []                            # e.g. - Close 3 new logos this quarter"
        )
    return "\n".join(lines) + "\n"


def render_config(run: FirstRun) -> str:
    """The example config rewritten for `run` (see the module docstring)."""
    text = example_config()
    manager = run.email.lower() or PLACEHOLDER_EMAIL
    boss = run.boss.lower() or PLACEHOLDER_BOSS
    domain = manager.rsplit("@", 1)[-1]
    text = re.sub(
        r"^# This file runs the demo.*?\n(?=#\n)",
        "# Written by `coachd init`. Check every value, then run `coachd check`: every mistake is\n"
        "# shown at once as `config.yaml:LINE: key.path: message`.\n",
        text,
        count=1,
        flags=re.MULTILINE | re.DOTALL,
    )
    replacements = [
        (r"(?m)^(  name: )Dana Reyes(\s)", rf"\g<1>{_q(run.name or PLACEHOLDER_NAME)}\g<2>"),
        (r"(?m)^(  timezone: )America/Chicago(\s)", rf"\g<1>{run.timezone}\g<2>"),
        (r'(?m)^(    start: )"08:00"', rf'\g<1>"{run.start}"'),
        (r'(?m)^(    end: )"17:30"', rf'\g<1>"{run.end}"'),
        (
            r"(?m)^      action: delegate\n      delegate_to: .*\n      message: .*\n",
            "      action: flag              # or: delegate, with delegate_to: a rep's email\n",
        ),
        (
            r"(?m)^    - northwind\.example\n    - contoso\.example\n    - fabrikam\.example\n",
            "    - customer.example             # replace with your customers' domains\n",
        ),
        (
            r"(?m)^    # The demo sends every agenda.*\n    # right away.*\n    before: 7 days\n",
            "    before: 24h              # the day before each one-on-one\n",
        ),
        # The demo's holiday country is not the manager's: left for them to set.
        (
            r"(?m)^  holidays: US( +)# public holidays.*\n",
            "  # holidays: US\\g<1># public holidays (a country like DE, or US-TX): never booked\n",
        ),
        # The huddle opens the day: at the start of the manager's working hours.
        (r'(?m)^(  huddle:\n(?:    .*\n)*?    time: )"08:30"', rf'\g<1>"{run.start}"'),
        (r"(?ms)^team:\n.*?\n\n(?=# --- KPIs)", _team_yaml(run.team).replace("\\", "\\\\") + "\n"),
    ]
    for pattern, repl in replacements:
        text, n = re.subn(pattern, repl, text, count=1)
        if n != 1:
            raise UserError(f"the example config no longer has what init rewrites ({pattern!r})")
    text = text.replace(DEMO_MANAGER, manager).replace(DEMO_BOSS, boss)
    return text.replace(DEMO_DOMAIN, domain)


def placeholder_errors(loaded: LoadedConfig) -> list[str]:
    """`config.yaml:LINE: key.path: ...` for every value still equal to an init placeholder."""
    p = loaded.policy
    found: list[tuple[tuple[str | int, ...], str]] = [
        (("manager", "name"), p.manager.name),
        (("manager", "email"), p.manager.email),
        (("manager", "boss"), p.manager.boss or ""),
        (("email", "from"), p.email.sender),
    ]
    for i, rep in enumerate(p.team):
        found += [(("team", i, "name"), rep.name), (("team", i, "email"), rep.email)]
    return [
        f"{loaded.where(path)}: still the placeholder {value!r} that coachd init wrote; "
        "put the real value here"
        for path, value in found
        if value in PLACEHOLDERS or value.lower().endswith("@example.com")
    ]
