"""An append-only log of the email keys handed to the transport, beside the state file.

The state records every email sent, but a state file that was lost or found corrupt is
rebuilt empty, and then every agenda, summary and digest would go out again (SMTP and Gmail
cannot recognise a copy the way the Maildir does). This log survives that: one line per
email, `<UTC time> <key>`, appended and fsynced after the transport accepted it. The outbox
checks it before sending and copies what it finds back into the state.
"""

from __future__ import annotations

import contextlib
import logging
import os
from datetime import datetime
from pathlib import Path

from integrations.fsutil import atomic_write

log = logging.getLogger(__name__)

NAME = "sent-emails.log"
# Past this size the oldest half is dropped (about 20,000 keys: years of email).
MAX_BYTES = 2_000_000


def log_path(state: Path) -> Path:
    return state.parent / NAME


class SentLog:
    """The keys in `path`, read once; `add` appends durably. Problems reading or writing
    it are logged, never fatal: the state remains the first record."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._keys: set[str] | None = None

    def __contains__(self, key: object) -> bool:
        return key in self._load()

    def _load(self) -> set[str]:
        if self._keys is None:
            keys: set[str] = set()
            try:
                text = self.path.read_text(encoding="utf-8", errors="replace")
            except FileNotFoundError:
                text = ""
            except OSError as e:
                log.warning("cannot read the sent-email log %s: %s", self.path, e)
                text = ""
            for line in text.splitlines():
                _, _, key = line.partition(" ")
                if key.strip():
                    keys.add(key.strip())
            self._keys = keys
        return self._keys

    def add(self, key: str, at: datetime) -> None:
        """Append `key` (one line, fsynced); trims the file when it grew past MAX_BYTES."""
        keys = self._load()
        if key in keys or "\n" in key:
            return
        line = f"{at.isoformat()} {key}\n".encode()
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as e:
            log.warning("cannot append to the sent-email log %s: %s", self.path, e)
            return
        keys.add(key)
        with contextlib.suppress(OSError):
            if self.path.stat().st_size > MAX_BYTES:
                self._trim()

    def _trim(self) -> None:
        lines = self.path.read_bytes().splitlines(keepends=True)
        atomic_write(self.path, b"".join(lines[len(lines) // 2 :]), mode=0o600)
        self._keys = None
