"""Loading config.yaml into a typed Policy, with every problem reported at once.

Each problem reads `config.yaml:LINE: key.path: message`, where the file name is the path as
the user gave it, the line comes from the YAML node, and the message says what to write
instead. YAML is read safely with YAML 1.2 scalars (see integrations.yaml_lines), `${VAR}`
is replaced from the environment, and pydantic's errors are translated into plain words.
"""

from __future__ import annotations

import difflib
import logging
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from integrations.errors import ConfigError, UserError
from integrations.kpi.checks import source_checks
from integrations.yaml_lines import Document, Path_, format_path, read_yaml
from planner.policy import Policy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedConfig:
    """A validated policy and where it came from. Relative paths resolve against base_dir."""

    policy: Policy
    path: Path
    base_dir: Path
    lines: Mapping[Path_, int] = field(default_factory=dict, repr=False, compare=False)

    def resolve(self, rel: str) -> Path:
        """A path from the config: `~` expanded, relative ones taken from config.yaml's folder."""
        p = Path(rel).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    def line_of(self, path: Path_) -> int:
        """The line where `path` (or its nearest written parent) sits in config.yaml."""
        return _line_for(self.lines, path)

    def where(self, path: Path_) -> str:
        """`config.yaml:LINE: key.path` for messages about one key."""
        return f"{self.path}:{self.line_of(path)}: {format_path(path)}"


def read_document(
    path: Path,
    environ: Mapping[str, str] | None,
    *,
    missing: str,
    folder: str = "; pass the config file with --config PATH",
) -> Document:
    """The YAML document in `path` (`${VAR}` from `environ`), its problems not yet reported.

    Raises UserError when the file cannot be read: `missing` ends the sentence for a file
    that does not exist and `folder` the one for a folder (what to do); any other OS error
    says why. Raises
    ConfigError `FILE:LINE: yaml: not UTF-8 text` when the bytes are not UTF-8.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: no such file{missing}") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder{folder}") from None
    except OSError as e:
        raise UserError(f"{path}: cannot read: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        problem = f"{path}:{line}: yaml: not UTF-8 text (save the file as UTF-8)"
        raise ConfigError([problem]) from None
    return read_yaml(text, environ)


def load_policy(path: Path, environ: Mapping[str, str] | None = None) -> LoadedConfig:
    """Read, check and type config.yaml.

    Raises UserError when the file cannot be read (with what to do), and ConfigError with
    every problem, sorted by line, when it is not a valid policy.
    """
    display = str(path)
    doc = read_document(
        path,
        environ,
        missing=". Run `coachd init` to write a commented config.yaml "
        "(or `coachd init --demo` for a demo team), or pass --config PATH.",
    )
    errors = [
        (p.line, f"{display}:{p.line}: {format_path(p.path)}: {p.message}") for p in doc.problems
    ]
    if doc.fatal:
        raise ConfigError([e for _, e in sorted(errors)])
    policy, found = validate_document(doc)
    for path_, message, missing in found:
        line = _line_for(doc.lines, path_, missing=missing)
        errors.append((line, f"{display}:{line}: {format_path(path_)}: {message}"))
    if errors or policy is None:
        raise ConfigError([e for _, e in sorted(errors, key=lambda t: t[0])])
    base = Path(os.path.abspath(path)).parent
    log.debug("loaded %s: %d reps, %d KPIs", display, len(policy.team), len(policy.kpis))
    return LoadedConfig(policy=policy, path=path, base_dir=base, lines=dict(doc.lines))


def validate_document(doc: Document) -> tuple[Policy | None, list[tuple[Path_, str, bool]]]:
    """The Policy in a read document (None if invalid) and every problem pydantic and the
    cross-section checks find, as (key path, message, whether the key is missing). Problems
    the YAML pass already reported (doc.problems) are left out; so are their file lines, so
    a caller that merged several files (org mode) can name the file each key came from."""
    skip = [p.path for p in doc.problems if p.path is not None]
    found: list[tuple[Path_, str, bool]] = []
    policy: Policy | None = None
    try:
        policy = Policy.model_validate(doc.data)
    except ValidationError as ve:
        for err in ve.errors(include_url=False):
            path_, message = _translate(err, doc.data)
            if any(path_[: len(s)] == s for s in skip):
                continue  # already reported by the YAML pass (e.g. an unset ${VAR})
            message = _hide_secrets(message, path_, doc)
            found.append((path_, message, err["type"] == "missing"))
    if policy is not None:
        for path_, message in _cross_checks(policy):
            if path_[:1] == ("kpi_source",) and isinstance(path_[1], int):
                path_ = source_key(doc.lines, path_[1], *path_[2:])
            found.append((path_, message, False))
    return policy, found


def check_files(loaded: LoadedConfig) -> list[str]:
    """Problems only the disk can show that stop coachd from working (exit 1 in `coachd check`)."""
    p = loaded.policy
    out: list[str] = []
    if p.email.templates_dir is not None:
        tdir = loaded.resolve(p.email.templates_dir)
        if not tdir.is_dir():
            out.append(f"{loaded.where(('email', 'templates_dir'))}: folder {tdir} does not exist")
    folders: list[tuple[Path_, str]] = [(("state", "path"), "")]
    if p.calendar.backend == "local":
        folders.append((("calendar", "local", "path"), p.calendar.local.path))
    if p.email.transport == "maildir":
        folders.append((("email", "maildir", "path"), p.email.maildir.path))
    for key, rel in folders:
        if not rel:
            continue
        target = loaded.resolve(rel)
        if target.exists() and not target.is_dir():
            out.append(f"{loaded.where(key)}: {target} is a file; it must be a folder")
    state = loaded.resolve(p.state.path)
    if state.is_dir():
        out.append(f"{loaded.where(('state', 'path'))}: {state} is a folder; give a file name")
    if p.calendar.backend == "google":
        g = p.calendar.google
        if g.credentials == "service_account":
            if not g.service_account_key:
                out.append(
                    f"{loaded.where(('calendar', 'google'))}: credentials: service_account "
                    "needs service_account_key: the path of the key file"
                )
            elif not loaded.resolve(g.service_account_key).is_file():
                out.append(
                    f"{loaded.where(('calendar', 'google', 'service_account_key'))}: "
                    f"{loaded.resolve(g.service_account_key)} does not exist"
                )
    if p.calendar.backend == "microsoft" or p.email.transport == "microsoft":
        m = p.calendar.microsoft
        if m.credentials == "certificate" and m.certificate:
            pem = loaded.resolve(m.certificate)
            if not pem.is_file():
                out.append(
                    f"{loaded.where(('calendar', 'microsoft', 'certificate'))}: "
                    f"{pem} does not exist"
                )
    return out


def file_warnings(loaded: LoadedConfig) -> list[str]:
    """Things on disk worth a warning that do not stop coachd (it runs, with less)."""
    p = loaded.policy
    out: list[str] = []
    for i, src in enumerate(p.kpi_source):
        if src.type != "csv":
            continue
        kpis = loaded.resolve(src.path)
        if not kpis.is_file():
            out.append(
                f"{loaded.where(source_key(loaded.lines, i, 'path'))}: warning: {kpis} not "
                "found; summaries and agendas will have no KPI figures from it until it exists"
            )
    notes = loaded.resolve(p.email.notes_dir)
    if not notes.is_dir():
        out.append(
            f"{loaded.where(('email', 'notes_dir'))}: warning: folder {notes} not found; "
            "agendas will list no open action items"
        )
    if p.calendar.backend == "google" and p.calendar.google.credentials == "oauth":
        token = loaded.resolve(p.calendar.google.token_file)
        if not token.is_file():
            out.append(
                f"{loaded.where(('calendar', 'google', 'token_file'))}: warning: no token at "
                f"{token}; run `coachd auth google`"
            )
    m = p.calendar.microsoft
    uses_ms = p.calendar.backend == "microsoft" or p.email.transport == "microsoft"
    if uses_ms and m.credentials == "device_code":
        cache = loaded.resolve(m.token_cache)
        if not cache.is_file():
            out.append(
                f"{loaded.where(('calendar', 'microsoft', 'token_cache'))}: warning: no "
                f"sign-in at {cache}; run `coachd auth microsoft`"
            )
    return out


def _cross_checks(policy: Policy) -> list[tuple[Path_, str]]:
    """Rules that span sections, so no single model can check them."""
    out: list[tuple[Path_, str]] = []
    ids = [k.id for k in policy.kpis]
    for i, rep in enumerate(policy.team):
        for kpi_id in rep.minimums:
            if kpi_id not in ids:
                close = difflib.get_close_matches(kpi_id, ids, n=1, cutoff=0.6)
                hint = (
                    f"did you mean {close[0]!r}?" if close else f"KPIs: {', '.join(ids) or 'none'}"
                )
                out.append((("team", i, "minimums", kpi_id), f"no KPI with id {kpi_id!r} ({hint})"))
    out.extend(source_checks(policy))
    m = policy.calendar.microsoft
    mail_only = policy.email.transport == "microsoft" and policy.calendar.backend != "microsoft"
    if mail_only and m.credentials != "none" and not m.client_id:
        out.append(
            (
                ("calendar", "microsoft", "client_id"),
                "email.transport: microsoft needs the app registration's client_id",
            )
        )
    return out


def source_key(lines: Mapping[Path_, int], i: int, *rest: str | int) -> Path_:
    """The key path of `kpi_source` item `i`: without the index when it is written as one
    mapping (the single-source form) or not at all, so messages name the key as written."""
    if i == 0 and ("kpi_source", 0) not in lines:
        return ("kpi_source", *rest)
    return ("kpi_source", i, *rest)


# --- line lookup -------------------------------------------------------------------------------


def _line_for(lines: Mapping[Path_, int], path: Path_, *, missing: bool = False) -> int:
    """The line of `path`; for a missing key (or any unwritten path) its nearest written parent."""
    probe = path[:-1] if missing else path
    while probe:
        if probe in lines:
            return lines[probe]
        probe = probe[:-1]
    return lines.get((), 1)


# --- pydantic error translation ----------------------------------------------------------------


def _real_path(loc: tuple[int | str, ...], data: Any, err_type: str) -> Path_:
    """pydantic's loc reduced to keys that exist in the data (dropping union-member labels).

    The last element is kept even when absent: it names a missing or unknown key.
    """
    out: list[str | int] = []
    cur = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if part == "[key]" or (isinstance(cur, dict) and not last and part == cur.get("type")):
            continue  # a dict key pydantic adds, or the tag of a union told apart by `type`
        in_dict = isinstance(cur, dict) and isinstance(part, str) and part in cur
        in_list = isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur)
        if in_dict or in_list:
            out.append(part)
            cur = cur[part]
        elif last and err_type in ("missing", "extra_forbidden"):
            out.append(part)
        elif isinstance(cur, dict) and isinstance(part, str) and err_type == "missing":
            out.append(part)
            cur = None
    return tuple(out)


def _translate(err: ErrorDetails, data: Any) -> tuple[Path_, str]:
    """(key path, plain message) for one pydantic error."""
    kind = err["type"]
    path = _real_path(tuple(err["loc"]), data, kind)
    ctx: dict[str, Any] = dict(err.get("ctx") or {})
    got = _got(err.get("input"))
    if kind == "extra_forbidden":
        return path, _unknown_key(path)
    if kind == "missing":
        return path, "required key is missing"
    if kind == "union_tag_invalid":
        key = str(ctx.get("discriminator", "type")).strip("'")
        return (*path, key), f"must be one of {ctx.get('expected_tags')} (got {ctx.get('tag')!r})"
    if kind == "too_long" and "max_length" in ctx:
        n = int(ctx["max_length"])
        what = "KPIs" if path == ("kpis",) else "items"
        return (*path, n), f"at most {n} {what} are allowed; this is number {n + 1}"
    if kind == "too_short" and "min_length" in ctx:
        return path, f"needs at least {ctx['min_length']} item(s)"
    if kind in ("value_error", "assertion_error"):
        msg = str(err["msg"])
        for prefix in ("Value error, ", "Assertion failed, "):
            msg = msg.removeprefix(prefix)
        return path, msg
    simple = {
        "int_parsing": "must be a whole number",
        "int_type": "must be a whole number",
        "int_from_float": "must be a whole number",
        "float_parsing": "must be a number",
        "float_type": "must be a number",
        "bool_parsing": "must be true or false",
        "bool_type": "must be true or false",
        "string_type": "must be text (put it in quotes)",
        "list_type": "must be a list (lines starting with '- ')",
        "dict_type": "must be a mapping of key: value lines",
        "model_type": "must be a mapping of key: value lines",
        "model_attributes_type": "must be a mapping of key: value lines",
        "string_too_short": "must not be empty",
    }
    if kind in simple:
        return path, f"{simple[kind]} (got {got})"
    if kind == "literal_error":
        return path, f"must be {ctx.get('expected', 'one of the allowed values')} (got {got})"
    if kind in ("greater_than_equal", "greater_than"):
        bound = ctx.get("ge", ctx.get("gt"))
        word = "at least" if kind == "greater_than_equal" else "more than"
        return path, f"must be {word} {bound} (got {got})"
    if kind in ("less_than_equal", "less_than"):
        bound = ctx.get("le", ctx.get("lt"))
        word = "at most" if kind == "less_than_equal" else "less than"
        return path, f"must be {word} {bound} (got {got})"
    if kind == "string_pattern_mismatch":
        if ctx.get("pattern") == r"^[a-z][a-z0-9_]*$":
            return path, (
                f"must be lowercase letters, digits and _ starting with a letter, "
                f"like outbound_calls (got {got})"
            )
        return path, f"must match {ctx.get('pattern')} (got {got})"
    return path, str(err["msg"])


def _got(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _hide_secrets(message: str, path: Path_, doc: Document) -> str:
    """Put `${VAR}` back where an error would otherwise quote a substituted value."""
    for sub_path, (raw, value) in doc.substituted.items():
        related = path[: len(sub_path)] == sub_path or sub_path[: len(path)] == path
        if related and value:
            message = message.replace(value, raw)
    return message


def _unknown_key(path: Path_) -> str:
    key = str(path[-1]) if path else "?"
    names = _allowed_keys(path[:-1])
    if not names:
        return f"unknown key {key!r}"
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    if close:
        return f"unknown key {key!r} (did you mean {close[0]!r}?)"
    return f"unknown key {key!r} (allowed here: {', '.join(sorted(names))})"


def _allowed_keys(path: Path_) -> list[str]:
    """The key names the model at `path` accepts (aliases as written in YAML)."""
    model: type[BaseModel] | None = Policy
    for part in path:
        if model is None:
            return []
        if isinstance(part, int):
            continue
        f = _field(model, part)
        model = _inner_model(f.annotation) if f is not None else None
    if model is None:
        return []
    return [f.alias or name for name, f in model.model_fields.items()]


def _field(model: type[BaseModel], key: str) -> Any:
    for name, f in model.model_fields.items():
        if key in (name, f.alias):
            return f
    return None


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    """The BaseModel inside `X`, `X | None`, `list[X]` or `Annotated[X, ...]`, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is dict:
        return None  # the keys of a dict are free-form, so nothing to suggest
    if origin is not None or isinstance(annotation, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _inner_model(arg)
            if found is not None:
                return found
    return None
