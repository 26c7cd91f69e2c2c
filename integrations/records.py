"""The records folder: `records/<rep email>.md`, one coaching record per rep, owned by the manager.

coachd reads every record each tick and changes one only through `RecordFolder.update`:
read the file (remembering its size, mtime and hash), apply a pure edit from
`planner.record`, and just before the atomic rename check the file is still what was read.
If a person saved it in between, the new text is read and the edit applied again to it, so
their change is kept (never clobbered). A record too large or unreadable is left alone.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from integrations.fsutil import atomic_write, inside
from planner.record import Record, migrate_notes, new_record, parse, serialise

log = logging.getLogger(__name__)

MAX_BYTES = 1024 * 1024
ATTEMPTS = 5


@dataclass(frozen=True)
class Stamp:
    """What a file was when read: its size, modification time and content hash."""

    size: int
    mtime_ns: int
    digest: str


def _stamp(path: Path) -> Stamp | None:
    try:
        st = path.stat()
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    return Stamp(st.st_size, st.st_mtime_ns, hashlib.sha256(data).hexdigest())


class RecordFolder:
    """The folder of records; `notes_dir` is where the old `notes/<rep>.md` files are."""

    def __init__(self, root: Path, notes_dir: Path | None = None) -> None:
        self.root = root
        self.notes_dir = notes_dir

    def path(self, rep: str) -> Path | None:
        """The rep's record file, or None for a name that would lead outside the folder."""
        path = self.root / f"{rep}.md"
        if any(c in rep for c in "/\\\x00") or not inside(self.root, path):
            log.warning("%s: refused: it leads outside the records folder %s", path, self.root)
            return None
        return path

    def _read(self, rep: str, name: str) -> tuple[str, Stamp | None, bool] | None:
        """(text, stamp, exists) of the rep's record; a missing one is made from the old
        notes file (or fresh). None when the file cannot be used."""
        path = self.path(rep)
        if path is None:
            return None
        try:
            with path.open("rb") as fh:
                data = fh.read(MAX_BYTES + 1)
        except FileNotFoundError:
            return self._initial(rep, name), None, False
        except OSError as e:
            log.warning("%s: cannot read the record: %s", path, e)
            return None
        if len(data) > MAX_BYTES:
            log.warning("%s: record larger than %d bytes, not used", path, MAX_BYTES)
            return None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            log.warning("%s: record is not UTF-8 text (%s), not used", path, e.reason)
            return None
        st = path.stat()
        stamp = Stamp(st.st_size, st.st_mtime_ns, hashlib.sha256(data).hexdigest())
        return text, stamp, True

    def _initial(self, rep: str, name: str) -> str:
        if self.notes_dir is not None:
            old = self.notes_dir / f"{rep}.md"
            try:
                if inside(self.notes_dir, old):
                    with old.open("rb") as fh:
                        notes = fh.read(MAX_BYTES).decode("utf-8", errors="replace")
                    return migrate_notes(rep, name, notes)
            except FileNotFoundError:
                pass
            except OSError as e:
                log.warning("%s: cannot read notes to migrate: %s", old, e)
        return new_record(rep, name)

    def read(self, rep: str, name: str = "") -> Record | None:
        """The rep's record (as it would be made, if there is no file yet)."""
        got = self._read(rep, name or rep)
        return None if got is None else parse(got[0])

    def read_all(self, reps: Iterable[tuple[str, str]], *, migrate: bool) -> dict[str, Record]:
        """Every rep's record, by email. With `migrate`, a rep without a record file gets one
        (from their notes file, nothing lost); without it (dry runs) nothing is written."""
        out: dict[str, Record] = {}
        for rep, name in reps:
            rec = self.update(rep, name, lambda r: r) if migrate else self.read(rep, name)
            if rec is not None:
                out[rep] = rec
        return out

    def update(self, rep: str, name: str, change: Callable[[Record], Record]) -> Record | None:
        """Apply `change` to the rep's record and save it, re-reading and re-applying when
        the file changed since it was read. Returns the record as saved (None if it could
        not be read or kept changing)."""
        path = self.path(rep)
        if path is None:
            return None
        for _ in range(ATTEMPTS):
            got = self._read(rep, name or rep)
            if got is None:
                return None
            text, stamp, exists = got
            new = change(parse(text))
            out = serialise(new)
            if exists and out == text:
                return new
            if _stamp(path) != stamp:
                log.info("%s changed while coachd was writing it: reading it again", path)
                continue
            self.root.mkdir(parents=True, exist_ok=True)
            atomic_write(path, out.encode("utf-8"))
            if not exists:
                log.info("%s: record created", path)
            return new
        log.warning("%s: kept changing while coachd tried to write it; try next tick", path)
        return None


def records_of(
    folder: RecordFolder, team: Iterable[tuple[str, str]], migrate: bool
) -> Mapping[str, Record]:
    """The team's records; a broken folder costs the records, never the tick."""
    try:
        return folder.read_all(team, migrate=migrate)
    except OSError as e:
        log.warning("%s: records not read this tick: %s", folder.root, os.strerror(e.errno or 0))
        return {}
