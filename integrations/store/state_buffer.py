"""The state file's write buffer: each batch of changes goes to the journal as one fsynced
line, and the whole file is rewritten (temp file, fsync, rename) only when the journal has
grown large enough. Used by StateStore through TinyDB's middleware hook."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from tinydb.middlewares import Middleware

from integrations.store import state_journal
from integrations.store.atomic_storage import AtomicJSONStorage, CorruptStateError

# The journal is folded into the state file once it holds this much, or as much as the file.
JOURNAL_MIN_BYTES = 64 * 1024


class _Buffer(Middleware):
    """Keeps the document in memory (we are the only writer) and writes through to disk,
    except inside a batch, where the write waits for the end of the outermost batch.

    A writable store journals: the StateStore `track()`s the operations of each change and
    they are appended to the journal; a change made without `track()` (none should be) is
    written by rewriting the whole file, so nothing is ever lost for want of a journal line.
    """

    def __init__(self, storage_cls: Any) -> None:
        super().__init__(storage_cls)
        self.data: dict[str, Any] | None = None
        self.loaded = False
        self.depth = 0
        self.dirty = False
        self.journal: state_journal.Journal | None = None
        self.ops: list[state_journal.Op] = []
        self.untracked = False
        self.file_size = 0

    def _path(self) -> Path:
        return cast(AtomicJSONStorage, self.storage).path

    def read(self) -> dict[str, Any] | None:
        if not self.loaded:
            data = self.storage.read()
            if data is not None:
                try:
                    ops, _ = state_journal.read(state_journal.journal_path(self._path()))
                except state_journal.JournalDamaged as e:
                    raise CorruptStateError(self._path(), str(e)) from e
                state_journal.apply(data, ops)
            # Without a state file, a journal left beside it belongs to a state that is gone.
            self.data = data
            self.loaded = True
        return self.data

    def write(self, data: dict[str, Any]) -> None:
        self.data = data
        self.loaded = True
        if self.journal is not None:
            self.untracked, self.dirty = True, True
            return  # the change's `track()` writes it
        if self.depth:
            self.dirty = True
            return
        self.flush()

    def track(self, ops: list[state_journal.Op]) -> None:
        """The operations of the change just made in memory; written now unless in a batch."""
        self.ops += ops
        self.untracked = False
        self.dirty = True
        if not self.depth:
            self.flush()

    def flush(self) -> None:
        self.dirty = False
        if self.data is None:
            return
        try:
            if self.journal is None or self.untracked or not self.file_size:
                self._write_file()
            elif self.ops:
                if self.journal.size > max(JOURNAL_MIN_BYTES, self.file_size):
                    self._write_file()
                else:
                    self.journal.append(self.ops)
            self.ops, self.untracked = [], False
        except BaseException:
            # Memory must not run ahead of the disk: forget it and read the file again.
            self.forget()
            raise

    def _write_file(self) -> None:
        """The whole document to the state file, then the journal it now includes removed."""
        assert self.data is not None
        self.storage.write(self.data)
        self.file_size = max(1, self._path().stat().st_size)
        if self.journal is not None:
            self.journal.remove()
        self.ops, self.untracked = [], False

    def checkpoint(self) -> None:
        """Fold the journal into the state file (nothing to do when it is empty)."""
        if self.journal is not None and self.data is not None and self.journal.size:
            try:
                self._write_file()
            except BaseException:
                self.forget()
                raise

    def forget(self) -> None:
        self.data, self.loaded, self.dirty = None, False, False
        self.ops, self.untracked = [], False
