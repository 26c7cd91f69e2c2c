"""Reading org.yaml and managers/<email>.yaml into one validated config per manager.

org.yaml has two sections: `org:` (this deployment: where the manager files are, how many
ticks run at once, the shared request rate) and `defaults:` (any part of a
config.yaml except `manager` and `team`, which only a manager's file can say). Each
`managers/<email>.yaml` is an overlay written like a config.yaml; the file's name is the
manager's address. Every string in `defaults` may hold `{manager}`, replaced by that address
(e.g. `state.path: state/{manager}/coachd.json`, the default). Relative paths in either file
are taken from org.yaml's folder. Errors read `FILE:LINE: key.path: message` with FILE the
file that wrote the key (the overlay or org.yaml).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time as dt_time
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field, ValidationError, field_validator

from integrations.config_file import LoadedConfig, read_document, validate_document
from integrations.errors import ConfigError
from integrations.org.merge import Origin, deep_merge, merge_origins, origin_of
from integrations.yaml_lines import Document, Path_, format_path
from planner.policy import HHMM, Duration, Email, Strict, Weekday
from planner.policy_types import TimeZoneName

ORG_FILE = "org.yaml"
STATE_PATH = "state/{manager}/coachd.json"
_PLACEHOLDER = "placeholder.manager@example.com"
_ADDRESS = re.compile(r"^[^@\s/\\]+@[^@\s/\\]+\.[^@\s/\\]+$")


class OrgReport(Strict):
    """`org.report`: the weekly roll-up to the VP (`coachd org run` sends it once a week,
    at `day`/`time` in `timezone`, about the last complete week)."""

    to: list[Email] = Field(min_length=1)
    regions: dict[str, list[Email]] = Field(default_factory=dict)
    day: Weekday = "mon"
    time: HHMM = dt_time(8, 0)
    timezone: TimeZoneName = "UTC"
    state: str = "state/org/report.json"

    @field_validator("to", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class OrgSettings(Strict):
    """The `org:` section of org.yaml: how this deployment runs."""

    name: str = "Sales"
    managers_dir: str = "managers"
    concurrency: int = Field(default=4, ge=1, le=256)
    requests_per_second: float = Field(default=10.0, gt=0, le=100_000)
    burst: int = Field(default=20, ge=1, le=100_000)
    rescan: Duration = timedelta(minutes=1)
    report: OrgReport | None = None


@dataclass(frozen=True)
class Org:
    """org.yaml, validated: the settings, and the defaults as written (with their lines)."""

    path: Path
    base_dir: Path
    settings: OrgSettings
    defaults: dict[str, Any]
    origins: Mapping[Path_, Origin] = field(repr=False, compare=False)
    substituted: Mapping[Path_, tuple[str, str]] = field(repr=False, compare=False)

    @property
    def managers_dir(self) -> Path:
        p = Path(self.settings.managers_dir).expanduser()
        return p if p.is_absolute() else self.base_dir / p


@dataclass(frozen=True)
class OrgLoadedConfig(LoadedConfig):
    """One manager's effective config; `where` names the file (org.yaml or the overlay)
    that wrote each key."""

    origins: Mapping[Path_, Origin] = field(default_factory=dict, repr=False, compare=False)

    def line_of(self, path: Path_) -> int:
        return origin_of(self.origins, path, (self.path, 1))[1]

    def where(self, path: Path_) -> str:
        file, line = origin_of(self.origins, path, (self.path, 1))
        shown = path if file == self.path else ("defaults", *path)
        return f"{file}:{line}: {format_path(shown)}"


def _read(path: Path, environ: Mapping[str, str] | None) -> tuple[Document, list[str]]:
    """The YAML document of `path` and its problems as `FILE:LINE: key.path: message`."""
    doc = read_document(
        path,
        environ,
        missing=" (`coachd init --demo --org DIR` writes an example org)",
        folder="; name the org.yaml file in it",
    )
    return doc, [f"{path}:{p.line}: {format_path(p.path)}: {p.message}" for p in doc.problems]


def _fill(value: Any, manager: str) -> Any:
    """`{manager}` in every string of the defaults replaced by the manager's address."""
    if isinstance(value, dict):
        return {k: _fill(v, manager) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, manager) for v in value]
    return value.replace("{manager}", manager) if isinstance(value, str) else value


def load_org(path: Path, environ: Mapping[str, str] | None = None) -> Org:
    """Read and check org.yaml; ConfigError lists every problem, each naming org.yaml."""
    doc, errors = _read(path, environ)
    if doc.fatal or not isinstance(doc.data, dict):
        raise ConfigError(errors)
    lines = doc.lines
    data: dict[str, Any] = doc.data

    def at(p: Path_, message: str) -> None:
        line = origin_of({k: (path, v) for k, v in lines.items()}, p, (path, 1))[1]
        errors.append(f"{path}:{line}: {format_path(p)}: {message}")

    for key in data:
        if key not in ("org", "defaults"):
            at((key,), f"unknown section {key!r} (org.yaml has org: and defaults:)")
    settings = OrgSettings()
    try:
        settings = OrgSettings.model_validate(data.get("org") or {})
    except ValidationError as ve:
        for err in ve.errors(include_url=False):
            loc = ("org", *err["loc"])
            at(loc, str(err["msg"]).removeprefix("Value error, "))
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        at(("defaults",), "must be a mapping of config.yaml sections (coaching:, triage:, ...)")
        defaults = {}
    for key in ("manager", "team"):
        if key in defaults:
            at(("defaults", key), f"{key} is per manager: write it in managers/<email>.yaml")
    state = defaults.get("state")
    if isinstance(state, dict) and "{manager}" not in str(state.get("path", "{manager}")):
        at(("defaults", "state", "path"), "must contain {manager}: each manager has own state")
    origins = {p[1:]: (path, line) for p, line in lines.items() if p[:1] == ("defaults",)}
    subst = {p[1:]: v for p, v in doc.substituted.items() if p[:1] == ("defaults",)}
    org = Org(path, Path(path).resolve().parent, settings, defaults, origins, subst)
    if not errors:
        # The defaults must make a valid config for any manager: try them on a stand-in.
        stand_in = {
            "manager": {"name": "Stand In", "email": _PLACEHOLDER, "timezone": "UTC"},
            "team": [],
        }
        try:
            _effective(org, _PLACEHOLDER, stand_in, {}, {}, Path(ORG_FILE))
        except ConfigError as e:
            errors.extend(e.errors)
    if errors:
        raise ConfigError(sorted(set(errors), key=_by_file_line))
    return org


def _by_file_line(error: str) -> tuple[str, int]:
    m = re.match(r"^(.*?):(\d+):", error)
    return (m.group(1), int(m.group(2))) if m else (error, 0)


def manager_files(org: Org) -> dict[str, Path]:
    """The manager files, by address (lower case), in address order. A file whose name is
    not an address is skipped here and reported by `problem_files`."""
    out: dict[str, Path] = {}
    folder = org.managers_dir
    if not folder.is_dir():
        return out
    for f in sorted(folder.glob("*.yaml")):
        if _ADDRESS.match(f.stem):
            out[f.stem.lower()] = f
    return out


def problem_files(org: Org) -> list[str]:
    """Files in the managers folder that cannot be a manager's, as messages."""
    folder = org.managers_dir
    if not folder.is_dir():
        return [f"{org.path}: org.managers_dir: folder {folder} does not exist"]
    return [
        f"{f}:1: (file name): must be the manager's address, like dana@example.com.yaml"
        for f in sorted(folder.glob("*.yaml"))
        if not _ADDRESS.match(f.stem)
    ]


def load_manager(
    org: Org, email: str, path: Path, environ: Mapping[str, str] | None = None
) -> OrgLoadedConfig:
    """The effective config of one manager: org defaults ⊕ their file, validated.

    Raises ConfigError (each error naming the file that wrote the key) or UserError (the
    file cannot be read). Nothing here affects any other manager.
    """
    doc, errors = _read(path, environ)
    if doc.fatal or not isinstance(doc.data, dict):
        raise ConfigError(errors)
    over_origins = {p: (path, line) for p, line in doc.lines.items()}
    loaded = None
    try:
        loaded = _effective(org, email, doc.data, over_origins, doc.substituted, path)
    except ConfigError as e:
        errors.extend(e.errors)
    skip = [p.path for p in doc.problems if p.path is not None]
    if errors and doc.problems:
        # Keep the YAML pass's messages; drop pydantic's echoes of the same keys.
        errors = errors[: len(doc.problems)] + [
            e for e in errors[len(doc.problems) :] if not any(_names(e, s) for s in skip)
        ]
    if loaded is not None and loaded.policy.manager.email.lower() != email:
        line = doc.lines.get(("manager", "email"), 1)
        errors.append(
            f"{path}:{line}: manager.email: must be {email}, the address the file is named after"
            f" (got {loaded.policy.manager.email})"
        )
    if errors or loaded is None:
        raise ConfigError(sorted(set(errors), key=_by_file_line))
    return loaded


def _names(error: str, path: Path_) -> bool:
    return f": {format_path(path)}" in error


def _effective(
    org: Org,
    email: str,
    overlay: dict[str, Any],
    over_origins: Mapping[Path_, Origin],
    over_subst: Mapping[Path_, tuple[str, str]],
    path: Path,
) -> OrgLoadedConfig:
    defaults = _fill(org.defaults, email)
    base_origins = dict(org.origins)
    if "path" not in (defaults.get("state") or {}):
        defaults = deep_merge(defaults, {"state": {"path": STATE_PATH.format(manager=email)}})
    data = deep_merge(defaults, overlay)
    origins = merge_origins(base_origins, over_origins, defaults, overlay)
    lines = {p: line for p, (_, line) in origins.items()}
    doc = Document(data, lines=lines, substituted={**org.substituted, **over_subst})
    policy, found = validate_document(doc)
    errors = []
    for key, message, missing in found:
        probe = key[:-1] if missing else key
        file, line = origin_of(origins, probe, (path, 1))
        shown = ("defaults", *key) if file == org.path else key
        errors.append(f"{file}:{line}: {format_path(shown)}: {message}")
    if errors or policy is None:
        raise ConfigError(errors)
    return OrgLoadedConfig(
        policy=policy,
        path=path,
        base_dir=org.base_dir,
        lines=lines,
        origins=origins,
    )


def stand_in_config(org: Org, email: str, path: Path) -> OrgLoadedConfig:
    """The org's defaults for `email` with an empty team: what a manager whose own file is
    broken is told about it with (their config-error email goes to their address and their
    state, through the org's mail settings)."""
    stand_in = {"manager": {"name": email, "email": email, "timezone": "UTC"}, "team": []}
    return _effective(org, email, stand_in, {}, {}, path)
