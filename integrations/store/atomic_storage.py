"""A TinyDB storage that survives `kill -9`: write a temp file, fsync, rename, fsync the folder.

TinyDB's own JSONStorage rewrites the file in place, so a kill mid-write leaves half a JSON
document. Here the target is only ever replaced by a complete, flushed file (`os.replace` is
atomic on POSIX), so a reader sees either the old state or the new one, never a mix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tinydb.storages import Storage

from integrations.errors import UserError
from integrations.fsutil import atomic_write


class CorruptStateError(UserError):
    """The state file exists but does not hold a TinyDB JSON document (empty, truncated...)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            f"state file {path} is unreadable ({reason}); the next `coachd run` or "
            "`coachd once` keeps it as a backup and starts a fresh state"
        )
        self.path = path
        self.reason = reason


class AtomicJSONStorage(Storage):
    """Reads and atomically replaces one JSON file (mode 0600); extra kwargs go to json.dumps."""

    def __init__(self, path: str | Path, **json_kwargs: Any) -> None:
        self.path = Path(path)
        self.json_kwargs = json_kwargs or {"ensure_ascii": False, "separators": (",", ":")}

    def read(self) -> dict[str, Any] | None:
        """The whole document; None when the file does not exist yet."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        if not raw.strip():
            raise CorruptStateError(self.path, "the file is empty")
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise CorruptStateError(self.path, f"not valid JSON: {e}") from e
        if not isinstance(data, dict) or not all(
            isinstance(t, dict) and all(isinstance(d, dict) for d in t.values())
            for t in data.values()
        ):
            raise CorruptStateError(self.path, "valid JSON, but not a table of records")
        return data

    def write(self, data: dict[str, Any]) -> None:
        """Durably replace the file with `data`: complete on disk when this returns."""
        text = json.dumps(data, **self.json_kwargs).encode("utf-8")
        atomic_write(self.path, text, mode=0o600)

    def close(self) -> None:
        """Nothing stays open between calls."""
