"""The last error, kept where a full disk cannot lose it: a small file beside the state.

When the disk is full the state file cannot be rewritten, so `coachd status` would go on
saying "last error: none". The slot is a file of fixed size reserved while there is room;
an error is written over its bytes in place, which needs no new disk blocks.

The slot also holds the open disk/permission fault episode (`fault`, see `fault_mail`):
whether the manager was emailed about it, recorded where a full disk still lets it be.
Each part is kept when the other is written.
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


def _encode(doc: dict[str, Any]) -> bytes:
    """The slot's bytes: JSON padded with spaces to SIZE, long messages cut to fit."""
    doc = json.loads(json.dumps(doc))  # a copy whose messages may be cut
    while True:
        data = json.dumps(doc, ensure_ascii=False).encode()
        if len(data) < SIZE:
            return data.ljust(SIZE, b" ")
        texts = [
            (d, k)
            for d in (doc, doc.get("fault"))
            if isinstance(d, dict)
            for k in ("message", "error")
            if isinstance(d.get(k), str) and d[k]
        ]
        if not texts:  # nothing left to cut: an empty slot rather than broken JSON
            return b" " * SIZE
        d, k = max(texts, key=lambda t: len(t[0][t[1]]))
        d[k] = d[k][: len(d[k]) // 2]


def _raw(state: Path) -> dict[str, Any]:
    try:
        raw = slot_path(state).read_bytes().strip()
        data = json.loads(raw) if raw else {}
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _overwrite(state: Path, doc: dict[str, Any]) -> bool:
    try:
        fd = os.open(slot_path(state), os.O_WRONLY)
    except OSError:
        return False
    try:
        os.pwrite(fd, _encode(doc), 0)
        os.fsync(fd)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def write(state: Path, at: datetime, message: str) -> bool:
    """Overwrite the slot in place with {at, message} (the fault kept); False if even
    that failed."""
    doc = _raw(state)
    doc.update({"at": at.isoformat(), "message": message[:3000]})
    return _overwrite(state, doc)


def read_fault(state: Path) -> dict[str, Any] | None:
    """The open fault episode recorded in the slot, or None."""
    fault = _raw(state).get("fault")
    return fault if isinstance(fault, dict) else None


def write_fault(state: Path, fault: dict[str, Any] | None) -> bool:
    """Record (None: close) the fault episode in place, the last error kept; True only if
    it is on disk (fsynced)."""
    doc = _raw(state)
    doc["fault"] = fault
    return _overwrite(state, doc)


def read(state: Path) -> dict[str, Any] | None:
    """{at, message} from the slot, or None when it is empty, missing or unreadable."""
    data = _raw(state)
    try:
        return {"at": datetime.fromisoformat(data["at"]), "message": str(data["message"])}
    except (ValueError, TypeError, KeyError):
        return None
