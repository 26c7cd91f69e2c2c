"""Every manager of the org, each loaded on its own: a broken file is an entry with errors,
never an exception that stops the others."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from integrations.errors import CoachdError, ConfigError, describe_os_error
from integrations.org.config import Org, OrgLoadedConfig, load_manager, manager_files

log = logging.getLogger(__name__)


@dataclass
class Entry:
    """One manager file: its effective config, or why there is none."""

    email: str
    path: Path
    loaded: OrgLoadedConfig | None
    errors: list[str] = field(default_factory=list)
    mtime: float = 0.0


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def load_entry(org: Org, email: str, path: Path, environ: Mapping[str, str] | None = None) -> Entry:
    """One manager, loaded; whatever goes wrong becomes the entry's errors."""
    mtime = _mtime(path)
    try:
        return Entry(email, path, load_manager(org, email, path, environ), mtime=mtime)
    except ConfigError as e:
        return Entry(email, path, None, list(e.errors), mtime)
    except CoachdError as e:
        return Entry(email, path, None, [str(e)], mtime)
    except OSError as e:
        return Entry(email, path, None, [f"{path}: {describe_os_error(e)}"], mtime)
    except Exception as e:  # one manager's file must never stop the org
        log.exception("loading %s failed", path)
        return Entry(email, path, None, [f"{path}: {type(e).__name__}: {e}"], mtime)


def load_roster(org: Org, environ: Mapping[str, str] | None = None) -> list[Entry]:
    """Every manager file of the org, in address order."""
    return [load_entry(org, e, p, environ) for e, p in manager_files(org).items()]
