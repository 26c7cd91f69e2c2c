"""The state's append-only journal: record changes since the state file was last written.

Rewriting the whole JSON state for every record made each write cost as much as the state
is large (a year-old state is ~340 KiB, written several times a tick). Instead each change
(one record put or removed, or one batch of them) is appended to `<state>.journal` as one
line and fsynced: durable when the call returns, at a cost that does not grow with
history. The state file itself is rewritten (atomically, as before) only when the journal
has grown as large as it, and when the store closes; then the journal is removed.

A line is `<crc32 as 8 hex digits> <JSON list of operations>\\n`; an operation is
`["put", table, doc_id, record]` or `["del", table, doc_id]`. Replaying puts and deletes
by id is idempotent, so a crash between rewriting the state file and removing the journal
replays changes the file already holds, harmlessly. A kill mid-append leaves a last line
without its newline (or with a wrong CRC): it was never acknowledged, and is dropped. A bad
line anywhere else is damage, not a crash, and is reported as a corrupt state.
"""

from __future__ import annotations

import contextlib
import json
import os
import zlib
from pathlib import Path
from typing import Any

from integrations.fsutil import fsync_dir

Op = list[Any]


class JournalDamaged(ValueError):
    """A line before the last one cannot be read: the file was damaged, not cut short."""


def journal_path(state: Path) -> Path:
    return state.with_name(state.name + ".journal")


def encode(ops: list[Op]) -> bytes:
    body = json.dumps(ops, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return b"%08x %s\n" % (zlib.crc32(body), body)


def read(path: Path) -> tuple[list[Op], int]:
    """Every operation of the complete lines, in order, and the length of those lines
    (anything after them is a torn append). Missing file: nothing. Raises JournalDamaged."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return [], 0
    ops: list[Op] = []
    good = 0
    lines = raw.split(b"\n")
    for i, line in enumerate(lines[:-1]):  # the last element follows the last newline
        parsed = _line(line)
        if parsed is None:
            if i == len(lines) - 2:
                break  # the last complete-looking line is a torn write: never acknowledged
            raise JournalDamaged(f"line {i + 1} of {path} is unreadable")
        ops += parsed
        good += len(line) + 1
    return ops, good


def _line(line: bytes) -> list[Op] | None:
    crc, _, body = line.partition(b" ")
    try:
        if len(crc) != 8 or int(crc, 16) != zlib.crc32(body):
            return None
        ops = json.loads(body)
    except ValueError:
        return None
    if not isinstance(ops, list) or not all(_valid(op) for op in ops):
        return None
    return ops


def _valid(op: Any) -> bool:
    if not isinstance(op, list) or len(op) < 3:
        return False
    if op[0] == "put":
        return len(op) == 4 and isinstance(op[1], str) and isinstance(op[3], dict)
    return op[0] == "del" and len(op) == 3 and isinstance(op[1], str)


def apply(data: dict[str, Any], ops: list[Op]) -> dict[str, Any]:
    """`data` (TinyDB's {table: {doc_id: record}}) with the operations replayed, in place."""
    for op in ops:
        table = data.setdefault(op[1], {})
        if op[0] == "put":
            table[str(op[2])] = op[3]
        else:
            table.pop(str(op[2]), None)
    return data


class Journal:
    """Appends to one journal file; `size` is what it holds. Single writer (the state lock)."""

    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        self.size = size

    @classmethod
    def open_for_append(cls, path: Path) -> Journal:
        """The journal with any torn last line cut off, so the next append starts clean."""
        _, good = read(path)
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_size != good:
                os.truncate(path, good)
        return cls(path, good)

    def append(self, ops: list[Op]) -> None:
        """One line, on disk when this returns."""
        data = encode(ops)
        new = not self.path.exists()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except BaseException as e:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, self.size)  # a short write must not stay to be appended to
            if isinstance(e, OSError) and e.filename is None:
                e.filename = str(self.path)  # a failed write names no file: say which
            raise
        finally:
            os.close(fd)
        if new:
            fsync_dir(self.path.parent)
        self.size += len(data)

    def remove(self) -> None:
        """Forget the journal once the state file holds everything in it."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
            fsync_dir(self.path.parent)
        self.size = 0
