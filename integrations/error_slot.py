"""The last error, kept where a full disk cannot lose it: a small file beside the state.

When the disk is full the state file cannot be rewritten, so `coachd status` would go on
saying "last error: none". The slot is a file of fixed size reserved while there is room;
an error is written over its bytes in place, which needs no new disk blocks.
"""

from __future__ import annotations

import contextlib
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

SIZE = 4096


def slot_path(state: Path) -> Path:
    return state.with_name(state.name + ".error")


def reserve(state: Path) -> None:
    """Create the slot (SIZE bytes of spaces) unless it exists; quietly does nothing when
    that is impossible (the disk may be full already)."""
    path = slot_path(state)
    if path.exists():
        return
    with contextlib.suppress(OSError):
        path.write_bytes(b" " * SIZE)


def write(state: Path, at: datetime, message: str) -> bool:
    """Overwrite the slot in place with {at, message}; False if even that failed."""
    data = json.dumps({"at": at.isoformat(), "message": message[:3000]}).encode()[: SIZE - 1]
    try:
        fd = os.open(slot_path(state), os.O_WRONLY)
    except OSError:
        return False
    try:
        os.pwrite(fd, data.ljust(SIZE, b" "), 0)
        os.fsync(fd)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def read(state: Path) -> dict[str, Any] | None:
    """{at, message} from the slot, or None when it is empty, missing or unreadable."""
    try:
        raw = slot_path(state).read_bytes().strip()
        if not raw:
            return None
        data = json.loads(raw)
        return {"at": datetime.fromisoformat(data["at"]), "message": str(data["message"])}
    except (OSError, ValueError, TypeError, KeyError):
        return None
