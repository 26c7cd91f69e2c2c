"""The vdir folder layout on disk: one folder per person, one `.ics` file per event.

This module knows files, not iCalendar: where a person's folder is, which files are items,
and how to replace or remove one so that a crash at any instant leaves either the old file
or the new one (never half of one). See https://vdirsyncer.pimutils.org/en/stable/vdir.html
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

from integrations import fsutil
from integrations.fsutil import fsync_dir

log = logging.getLogger(__name__)

ITEM_SUFFIX = ".ics"
# Characters we refuse in a file name built from an event id: path separators and NUL would
# escape the folder; a leading dot would hide the file from khal and vdirsyncer.
_UNSAFE = ("/", "\\", "\x00")


def person_dir(root: Path, person: str) -> Path:
    """The folder holding `person`'s calendar: `root/<email>`.

    Email addresses are case-insensitive in practice, so an existing folder whose name differs
    only in case is used rather than creating a second one next to it.
    """
    exact = root / person
    if exact.is_dir():
        return exact
    wanted = person.lower()
    with contextlib.suppress(OSError):
        for child in root.iterdir():
            if child.name.lower() == wanted and child.is_dir():
                return child
    return exact


def list_items(folder: Path) -> list[Path]:
    """The event files of a folder, sorted by name; hidden and temporary files are skipped.

    Raises FileNotFoundError when the folder does not exist and OSError when it cannot be read.
    """
    # scandir: the entry's type comes with the listing (no stat per file in a year-old
    # folder), and names sort faster than Paths.
    with os.scandir(folder) as entries:
        names = sorted(
            e.name
            for e in entries
            if not e.name.startswith(".") and e.name.endswith(ITEM_SUFFIX) and e.is_file()
        )
    return [folder / name for name in names]


def item_filename(uid: str) -> str:
    """The file name coachd gives the event with this UID: `<uid>.ics`.

    Raises ValueError for a UID that cannot be a file name (path separators, NUL, a leading
    dot, empty), so a hostile id can never write outside the person's folder.
    """
    if not uid or uid.startswith(".") or any(c in uid for c in _UNSAFE) or len(uid) > 200:
        raise ValueError(f"event id {uid!r} cannot be used as a file name")
    return uid + ITEM_SUFFIX


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` atomically (temp file, fsync, rename, fsync the folder);
    a replaced file keeps its mode. vdir readers ignore the dot-named temp file."""
    fsutil.atomic_write(path, data)


def write_event_file(folder: Path, uid: str, data: bytes) -> Path:
    """Write one event's iCalendar bytes as `folder/<uid>.ics` atomically; returns the path.

    Creates the folder when needed. Meant for coachd's own writes, the demo generator and tests.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / item_filename(uid)
    atomic_write(path, data)
    return path


def remove_file(path: Path) -> bool:
    """Delete `path` durably; returns False when it was already gone."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    fsync_dir(path.parent)
    return True
