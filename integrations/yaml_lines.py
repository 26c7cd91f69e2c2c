"""Safe YAML 1.2 reading that remembers the line of every value.

PyYAML speaks YAML 1.1, where `NO` is false, `on` is true and `9:30` is the number 570. A
config for people must not do that, so this module composes the document with a loader whose
implicit resolvers follow the YAML 1.2 core schema, and builds the Python values itself
from the node tree (no PyYAML constructor runs, so no tag can ever create an object).

Along the way it records, for every key path, the line where it is written, and collects
every problem found (explicit tags, duplicate keys, unset `${ENV_VAR}`, alias bombs) rather
than stopping at the first.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

Path_ = tuple[str | int, ...]

MAX_NODES = 100_000
MAX_DEPTH = 64
MAX_BYTES = 2 * 1024 * 1024

_CORE = "tag:yaml.org,2002:"
_STR, _NULL, _BOOL, _INT, _FLOAT = (_CORE + t for t in ("str", "null", "bool", "int", "float"))
_MAP, _SEQ = _CORE + "map", _CORE + "seq"

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class Yaml12Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core implicit resolvers (only used to compose nodes)."""


# Start from no resolvers at all (not SafeLoader's YAML 1.1 set), then add the 1.2 core ones.
Yaml12Loader.yaml_implicit_resolvers = {}
# Only `true`/`false` are booleans; `yes`, `NO`, `on` stay strings (the "Norway problem").
Yaml12Loader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:[Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])$"), list("tTfF")
)
Yaml12Loader.add_implicit_resolver(
    _NULL, re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
# Plain decimals only: `9:30` stays the string "9:30" (YAML 1.1 read it as 570), and a
# leading zero (`0777`, a zip code) stays a string rather than becoming octal or losing it.
Yaml12Loader.add_implicit_resolver(
    _INT, re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789")
)
Yaml12Loader.add_implicit_resolver(
    _FLOAT,
    re.compile(r"^[-+]?(?:(?:0|[1-9][0-9]*)\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$"),
    list("-+0123456789."),
)


@dataclass
class Problem:
    """One thing wrong with the document: where, which key path, and what."""

    line: int
    path: Path_ | None
    message: str


@dataclass
class Document:
    """The document as plain Python values, the line of each key path, and the problems."""

    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # Paths whose value had `${VAR}` substituted: raw text, so errors can show it instead
    # of the secret.
    substituted: dict[Path_, tuple[str, str]] = field(default_factory=dict)
    fatal: bool = False


class _TooBig(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def format_path(path: Path_ | None) -> str:
    """`("team", 2, "email")` -> `team[2].email`; the empty path is `(top level)`."""
    if path is None:
        return "yaml"
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out or "(top level)"


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _is_merge_key(node: yaml.Node) -> bool:
    return (
        isinstance(node, yaml.ScalarNode)
        and node.tag == _STR
        and node.value == "<<"
        and not node.style
    )


def _tag_name(tag: str) -> str:
    return "!!" + tag[len(_CORE) :] if tag.startswith(_CORE) else tag


def read_yaml(text: str, environ: Mapping[str, str] | None = None) -> Document:
    """Compose `text` safely and build its values, recording lines and collecting problems.

    A syntax error, an empty document or a document too big to expand makes the result
    `fatal` (its data is None); other problems leave the best-effort data in place.
    """
    env = os.environ if environ is None else environ
    if len(text.encode("utf-8", errors="replace")) > MAX_BYTES:
        return Document(
            None, problems=[Problem(1, None, "the file is larger than 2 MB")], fatal=True
        )
    try:
        root = yaml.compose(text, Loader=Yaml12Loader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = int(mark.line) + 1 if mark is not None else 1
        problem = " ".join(p for p in (e.context, e.problem) if p) or "not valid YAML"
        return Document(None, problems=[Problem(line, None, problem)], fatal=True)
    except yaml.YAMLError as e:
        return Document(None, problems=[Problem(_reader_line(text, e), None, str(e))], fatal=True)
    except RecursionError:
        return Document(None, problems=[Problem(1, None, "nested too deeply")], fatal=True)
    if root is None:
        msg = "the file is empty; it needs sections like manager: and team: (see coachd init)"
        return Document(None, problems=[Problem(1, (), msg)], fatal=True)
    builder = _Builder(env)
    try:
        data = builder.build(root, (), 0)
    except _TooBig as e:
        return Document(None, problems=[Problem(e.line, None, e.message)], fatal=True)
    doc = Document(data, builder.lines, builder.problems, builder.substituted)
    if not isinstance(data, dict):
        doc.problems.append(
            Problem(_line(root), (), "must be a mapping of sections like manager:, team:, kpis:")
        )
        doc.fatal = True
    return doc


def _reader_line(text: str, e: yaml.YAMLError) -> int:
    pos = getattr(e, "position", None)
    return text.count("\n", 0, pos) + 1 if isinstance(pos, int) else 1


class _Builder:
    """Walks the node tree into dicts, lists and scalars; a node per alias use counts."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.count = 0
        self.lines: dict[Path_, int] = {}
        self.problems: list[Problem] = []
        self.substituted: dict[Path_, tuple[str, str]] = {}

    def build(self, node: yaml.Node, path: Path_, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _TooBig(
                _line(node),
                f"the document expands to more than {MAX_NODES} values "
                "(are anchors and aliases multiplying it?)",
            )
        if depth > MAX_DEPTH:
            raise _TooBig(_line(node), f"nested more than {MAX_DEPTH} levels deep")
        self.lines.setdefault(path, _line(node))
        if isinstance(node, yaml.MappingNode):
            if node.tag != _MAP:
                return self._bad_tag(node, path)
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ:
                return self._bad_tag(node, path)
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        return self._scalar(node, path)

    def _bad_tag(self, node: yaml.Node, path: Path_) -> None:
        self.problems.append(
            Problem(
                _line(node),
                path,
                f"explicit tag {_tag_name(node.tag)} is not allowed in config.yaml; remove it",
            )
        )
        return None

    def _mapping(self, node: yaml.MappingNode, path: Path_, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        # `<<: *defaults` merge keys first, so keys written here override them.
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if _is_merge_key(key_node):
                merged.update(self._merge_sources(value_node, path, depth))
        for key_node, value_node in node.value:
            if _is_merge_key(key_node):
                continue
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in (
                _STR,
                _NULL,
                _BOOL,
                _INT,
                _FLOAT,
            ):
                self.problems.append(
                    Problem(_line(key_node), path, "a key must be a plain word like name:")
                )
                continue
            key = str(key_node.value)
            child = (*path, key)
            if key in out:
                self.problems.append(
                    Problem(
                        _line(key_node),
                        child,
                        f"duplicate key {key!r} (first given on line {self.lines[child]})",
                    )
                )
                continue
            # The key's own line: for a nested mapping that is where a person looks.
            self.lines[child] = _line(key_node)
            out[key] = self.build(value_node, child, depth + 1)
        return {**{k: v for k, v in merged.items() if k not in out}, **out}

    def _merge_sources(self, value: yaml.Node, path: Path_, depth: int) -> dict[str, Any]:
        """The keys a `<<:` brings in: one mapping, or a list of them (earlier ones win)."""
        sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
        out: dict[str, Any] = {}
        for src in sources:
            if not isinstance(src, yaml.MappingNode):
                self.problems.append(
                    Problem(_line(src), path, "<< must name a mapping, like <<: *defaults")
                )
                continue
            built = self.build(src, path, depth + 1)
            if isinstance(built, dict):
                for k, v in built.items():
                    out.setdefault(k, v)
        return out

    def _scalar(self, node: yaml.ScalarNode, path: Path_) -> Any:
        tag, raw = node.tag, str(node.value)
        try:
            if tag == _STR:
                return self._substitute(raw, path, _line(node))
            if tag == _NULL:
                return None
            if tag == _BOOL:
                return raw.lower() == "true"
            if tag == _INT:
                return int(raw)
            if tag == _FLOAT:
                return float(raw)
        except ValueError:
            self.problems.append(
                Problem(_line(node), path, f"{raw!r} does not read as {_tag_name(tag)}")
            )
            return None
        return self._bad_tag(node, path)

    def _substitute(self, raw: str, path: Path_, line: int) -> str:
        if "${" not in raw:
            return raw
        missing: list[str] = []

        def repl(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in self.env:
                missing.append(name)
                return m.group(0)
            return self.env[name]

        value = _ENV.sub(repl, raw)
        for name in dict.fromkeys(missing):
            self.problems.append(Problem(line, path, f"environment variable {name} is not set"))
        if value != raw:
            self.substituted[path] = (raw, value)
        return value
