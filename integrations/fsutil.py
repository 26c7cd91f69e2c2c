"""Durable file writes shared by the state store, the calendar folder and the token store.

A file is only ever replaced by a complete, flushed one: write a temp file in the same
folder, fsync it, rename it over the target, then fsync the folder so the rename survives
a power cut. A kill at any instant leaves either the old file or the new one.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path


def fsync_dir(folder: Path) -> None:
    """Make a rename or unlink in `folder` durable (a no-op where folders cannot be synced)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on a directory
        pass
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Replace `path` with `data` atomically and durably.

    `mode` forces the file's permissions whatever the umask (0600 for secrets and state);
    without it a replaced file keeps its mode and a new one gets the umask's default.
    """
    folder = path.parent
    tmp = folder / f".{path.name}.{secrets.token_hex(6)}.tmp"
    perms = 0o666 if mode is None else mode
    if mode is None:
        with contextlib.suppress(FileNotFoundError):
            perms = path.stat().st_mode & 0o777
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, perms)
    try:
        if mode is not None:
            os.fchmod(fd, mode)  # the umask may have removed bits the caller asked for
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            tmp.unlink()  # e.g. a full disk: leave no half file behind
        if isinstance(e, OSError) and e.filename is None:
            e.filename = str(path)  # a failed write or fsync names no file: say which
        raise
    fsync_dir(folder)


# `atomic_write`'s temp files: `.<name>.<12 hex>.tmp`.
_TEMP_NAME = re.compile(r"^\..+\.[0-9a-f]{12}\.tmp$")
STALE_TEMP_AGE = 3600.0


def inside(root: Path, path: Path) -> bool:
    """Whether `path`, with every symbolic link and `..` resolved, stays under `root`."""
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a symlink loop, an unreadable parent
        return False


def remove_stale_temp_files(folder: Path, now: float, max_age: float = STALE_TEMP_AGE) -> int:
    """Delete `atomic_write` temp files in `folder` older than `max_age` seconds (a write
    killed half-way leaves one; a live writer's is seconds old). Returns how many went."""
    removed = 0
    try:
        # Names only: a person folder holds a year of events, and only temp names matter.
        with os.scandir(folder) as entries:
            names = [e.name for e in entries if _TEMP_NAME.match(e.name)]
    except OSError:
        return 0
    for name in names:
        child = folder / name
        try:
            if child.is_symlink() or not child.is_file():
                continue
            if now - child.stat().st_mtime < max_age:
                continue
            child.unlink()
            removed += 1
        except OSError:
            continue
    return removed
