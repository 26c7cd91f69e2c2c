"""`coachd init --demo --org`: a three-manager demo org built from the single-manager demo.

Each manager is the demo team of `coachd init --demo` with its people renamed (names and
addresses of the same length, so folded .ics lines stay valid), laid out as an org:
org.yaml (the example config's shared sections as `defaults`), managers/<email>.yaml (their
own `manager:` and `team:`), and per-manager calendars, KPI files, outboxes and inboxes
through `{manager}` paths. Deterministic given `today`, like the single demo.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from datetime import date
from pathlib import Path

from integrations.commands.demo import write_demo
from integrations.errors import UserError

log = logging.getLogger(__name__)

VP = "morgan.lee@acme-demo.com"

# Same-length replacements: the single demo's people -> each other manager's people.
_RENAMES: dict[str, list[tuple[str, str]]] = {
    "dana.reyes@acme-demo.com": [],
    "omar.nasri@acme-demo.com": [
        ("Dana Reyes", "Omar Nasri"),
        ("Alex Kim", "Beth Roe"),
        ("Priya Shah", "Nadia Faro"),
        ("Jordan Miles", "Martin Cross"),
        ("Sam Ortiz", "Tom Baker"),
        ("Taylor Brooks", "Parker Graves"),
    ],
    "ines.moura@acme-demo.com": [
        ("Dana Reyes", "Ines Moura"),
        ("Alex Kim", "Carl Poe"),
        ("Priya Shah", "Sofia Lind"),
        ("Jordan Miles", "Hector Lanes"),
        ("Sam Ortiz", "Ana Silva"),
        ("Taylor Brooks", "Reagan Holmes"),
    ],
}

_ORG_SECTION = """\
# The deployment: where the managers' files are, and how hard it may use the calendar API.
org:
  name: Acme Sales
  managers_dir: managers     # one file per manager: managers/<their email>.yaml
  concurrency: 4             # managers ticked at the same time
  requests_per_second: 10    # shared by every manager: keeps the whole org inside the quota
  burst: 20
  rescan: 1m                 # how often a new, changed or removed manager file is noticed
                             # (SIGHUP: at once)
  report:                    # the weekly roll-up to the VP, sent once a week by `org run`
    to: morgan.lee@acme-demo.com
    regions:                 # optional: a section per region (managers by address)
      Central: [dana.reyes@acme-demo.com, omar.nasri@acme-demo.com]
      Europe: [ines.moura@acme-demo.com]
    day: mon
    time: "08:00"
    timezone: America/Chicago
"""

# (pattern, replacement) applied once each to the shared part of the example config.
_DEFAULT_EDITS = [
    (r"(?m)^(    path: )calendar\b", r"\g<1>calendars/{manager}"),
    (r"(?m)^(  path: )kpis\.csv\b", r"\g<1>kpis/{manager}.csv"),
    (r"(?m)^(    path: )outbox\b", r"\g<1>outbox/{manager}"),
    (r"(?m)^(    path: )inbox\b", r"\g<1>inbox/{manager}"),
    (r"(?m)^(  path: )state/coachd\.json\b", r"\g<1>state/{manager}/coachd.json"),
    (r"delegate_to: alex\.kim@acme-demo\.com", "delegate_to: rep_among_guests"),
    (r"Alex Kim will attend for our team", "a rep of the team will attend for us"),
]


def _rename(text: str, renames: list[tuple[str, str]]) -> str:
    for old, new in renames:
        text = text.replace(old, new)
        text = text.replace(old.lower().replace(" ", "."), new.lower().replace(" ", "."))
        text = re.sub(rf"\b{old.split()[0]}\b", new.split()[0], text)
    return text


def _split(config: str) -> tuple[str, str]:
    """(the manager's own part, the shared part) of a demo config.yaml; the header's
    comments, about a single config.yaml, are left out."""
    you = config.index("# --- You ")
    kpis = config.index("# --- KPIs ")
    return config[you:kpis], config[kpis:]


def write_demo_org(directory: Path, today: date) -> None:
    """Write the demo org into `directory`; never overwrite an org.yaml."""
    target = directory / "org.yaml"
    if target.exists():
        raise UserError(f"{target} already exists; coachd init never overwrites it.")
    directory.mkdir(parents=True, exist_ok=True)
    shared = ""
    with tempfile.TemporaryDirectory(prefix="coachd-demo-org-") as tmp:
        write_demo(Path(tmp), today)
        config = (Path(tmp) / "config.yaml").read_text(encoding="utf-8")
        own, shared = _split(config)
        for manager, renames in _RENAMES.items():
            _copy_tree(Path(tmp) / "calendar", directory / "calendars" / manager, renames)
            kpis = directory / "kpis" / f"{manager}.csv"
            kpis.parent.mkdir(exist_ok=True)
            text = (Path(tmp) / "kpis.csv").read_text(encoding="utf-8")
            kpis.write_text(_rename(text, renames), encoding="utf-8")
            _copy_tree(Path(tmp) / "notes", directory / "notes", renames)
            overlay = directory / "managers" / f"{manager}.yaml"
            overlay.parent.mkdir(exist_ok=True)
            overlay.write_text(
                f"# {manager}: this manager's own part of the config; the rest is org.yaml's\n"
                "# defaults (`coachd org check` shows the file and line of every mistake).\n\n"
                + _rename(own, renames),
                encoding="utf-8",
            )
    for pattern, repl in _DEFAULT_EDITS:
        shared, n = re.subn(pattern, repl, shared, count=1)
        if n != 1:
            raise RuntimeError(f"the example config.yaml has no {pattern!r} to rewrite")
    body = "".join(f"  {line}" if line.strip() else "\n" for line in shared.splitlines(True))
    intro = (
        "# coachd org: one deployment for every manager. Each manager's file in managers/ is\n"
        "# laid over `defaults` below: mappings merge key by key, anything else (a list, a\n"
        "# value) in the manager's file replaces the default whole. {manager} in a default\n"
        "# is the manager's address.\n#\n"
    )
    defaults = "\n# What every manager gets unless their own file says otherwise.\ndefaults:\n"
    target.write_text(intro + _ORG_SECTION + defaults + body, encoding="utf-8")
    log.info("wrote a demo org of %d managers into %s", len(_RENAMES), directory)


def _copy_tree(src: Path, dst: Path, renames: list[tuple[str, str]]) -> None:
    """Copy `src` into `dst` with people renamed in file names and contents."""
    for f in sorted(src.rglob("*")):
        if f.is_dir():
            continue
        rel = _rename(str(f.relative_to(src)), renames)
        out = dst / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        if not renames:
            shutil.copyfile(f, out)
            continue
        out.write_bytes(_rename(f.read_bytes().decode("utf-8"), renames).encode("utf-8"))
