"""The vdir folder layout on disk: one folder per person, one `.ics` file per event.

This module knows files, not iCalendar: where a person's folder is, which files are items,
and how to replace or remove one so that a crash at any instant leaves either the old file
or the new one (never half of one). See https://vdirsyncer.pimutils.org/en/stable/vdir.html
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from integrations import fsutil
from integrations.errors import UserError
from integrations.fsutil import fsync_dir, inside

log = logging.getLogger(__name__)

ITEM_SUFFIX = ".ics"
# Characters we refuse in a file name built from an event id: path separators and NUL would
# escape the folder; a leading dot would hide the file from khal and vdirsyncer.
_UNSAFE = ("/", "\\", "\x00")


class UnsafePath(UserError):
    """A folder or file that would lead outside the calendar folder; refused."""


def person_dir(root: Path, person: str) -> Path:
    """The folder holding `person`'s calendar: `root/<email>`.

    Email addresses are case-insensitive in practice, so an existing folder whose name differs
    only in case is used rather than creating a second one next to it. Raises UnsafePath for
    a name that is not a plain folder name, or a folder (a symbolic link) leading outside
    `root`: no address, however written, reads or writes another folder.
    """
    if (
        not person
        or person.startswith(".")
        or ".." in person
        or any(c in person for c in _UNSAFE)
        or any(ord(c) < 32 for c in person)
    ):
        raise UnsafePath(f"{person!r} cannot name a calendar folder under {root}")
    exact = root / person
    found = exact
    if not exact.is_dir():
        wanted = person.lower()
        with contextlib.suppress(OSError):
            for child in root.iterdir():
                if child.name.lower() == wanted and child.is_dir():
                    found = child
                    break
    if found.is_symlink() and not inside(root, found):
        raise UnsafePath(f"calendar folder {found} is a symbolic link leading outside {root}")
    return found


def list_items(folder: Path) -> list[Path]:
    """The event files of a folder, sorted by name; hidden and temporary files, and symbolic
    links leading out of the folder, are skipped.

    Raises FileNotFoundError when the folder does not exist and OSError when it cannot be read.
    """
    out = []
    for child in folder.iterdir():
        if child.name.startswith(".") or not child.name.endswith(ITEM_SUFFIX):
            continue
        if child.is_symlink() and not inside(folder, child):
            # Logged when the folder is listed (once per change), not on every tick.
            log.warning("skipped %s: a symbolic link leading out of %s", child, folder)
            continue
        if child.is_file():
            out.append(child)
    return sorted(out)


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
