"""defaults ⊕ overlay: how a manager's file is laid over the org's defaults.

The rule, in full: where both sides hold a mapping, the mapping is merged key by key (so an
overlay can change `coaching.one_on_one.duration` and keep the rest of `coaching`); anywhere
else the overlay's value replaces the default whole — a list (`team`, `kpis`,
`triage.rules`, `working_days`) is never concatenated, and a `null` in the overlay sets the
key to null. Every key of the result remembers the file and line it came from, so an error
names the file that is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from integrations.yaml_lines import Path_

Origin = tuple[Path, int]


def deep_merge(base: Any, over: Any) -> Any:
    """`over` laid on `base`: mappings merge key by key, every other value replaces."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = deep_merge(base[key], value) if key in base else value
        return out
    return over


def merge_origins(
    base: Mapping[Path_, Origin], over: Mapping[Path_, Origin], base_data: Any, over_data: Any
) -> dict[Path_, Origin]:
    """Where each key of deep_merge(base_data, over_data) was written.

    A key the overlay writes comes from the overlay; when the overlay replaces a default
    whole (a list, a scalar), the default's keys below it are gone, so they are dropped too.
    """
    out = dict(base)
    for path in sorted(over, key=len):
        if path and not (_is_dict(base_data, path) and _is_dict(over_data, path)):
            for p in [p for p in out if len(p) > len(path) and p[: len(path)] == path]:
                del out[p]
        out[path] = over[path]
    return out


def _is_dict(data: Any, path: Path_) -> bool:
    cur = data
    for part in path:
        in_dict = isinstance(cur, dict) and isinstance(part, str) and part in cur
        in_list = isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur)
        if in_dict or in_list:
            cur = cur[part]
        else:
            return False
    return isinstance(cur, dict)


def origin_of(origins: Mapping[Path_, Origin], path: Path_, fallback: Origin) -> Origin:
    """The file and line of `path`, or of its nearest written parent; else `fallback`."""
    probe = path
    while probe:
        if probe in origins:
            return origins[probe]
        probe = probe[:-1]
    return origins.get((), fallback)
