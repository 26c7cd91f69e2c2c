"""Rep notes: `notes/<rep email>.md`, whose unchecked `- [ ]` lines are open action items."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from integrations.fsutil import inside

log = logging.getLogger(__name__)

_OPEN = re.compile(r"^\s*[-*+]\s+\[ \]\s+(.+?)\s*$")
MAX_ITEMS = 20
MAX_BYTES = 256 * 1024


def open_items(notes_dir: Path, rep: str) -> tuple[str, ...]:
    """The rep's open action items, in file order (at most 20). A missing file means none;
    a file that would lead outside `notes_dir` (a name with a path in it, a symbolic link
    pointing elsewhere) is refused with a warning, so no other file reaches an email."""
    path = notes_dir / f"{rep}.md"
    if any(c in rep for c in "/\\\x00") or not inside(notes_dir, path):
        log.warning("%s: refused: it leads outside the notes folder %s", path, notes_dir)
        return ()
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_BYTES)
    except FileNotFoundError:
        return ()
    except OSError as e:
        log.warning("%s: cannot read notes: %s", path, e)
        return ()
    text = raw.decode("utf-8", errors="replace")
    items = [m.group(1)[:300] for line in text.splitlines() if (m := _OPEN.match(line))]
    return tuple(items[:MAX_ITEMS])
