"""One writer per state file: an flock on `<state>.lock` that holds the owner's pid.

flock locks belong to the open file, so the OS drops them when the holder exits or is
killed: a lock file left behind by a `kill -9` never blocks the next start.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from pathlib import Path
from types import TracebackType

from integrations.errors import UserError

log = logging.getLogger(__name__)

# `coachd status` briefly holds a shared lock to look; a starting daemon waits this long
# before it calls the lock taken, so the two never trip over each other.
_CONTENTION_WAIT = 0.5


def lock_path(state: Path) -> Path:
    """Where the lock for `state` lives: next to it, `<name>.lock`."""
    return state.with_name(state.name + ".lock")


def _read_pid(fd: int) -> int | None:
    try:
        raw = os.pread(fd, 32, 0)
        return int(raw.decode("ascii").strip())
    except (OSError, ValueError, UnicodeDecodeError):
        return None


class StateLock:
    """An exclusive lock on a state file; `acquire()` raises UserError if another holds it."""

    def __init__(self, state: Path) -> None:
        self.state = state
        self.path = lock_path(state)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock and write our pid into the lock file."""
        if self._fd is not None:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + _CONTENTION_WAIT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() < deadline:
                    time.sleep(0.02)
                    continue
                pid = _read_pid(fd)
                os.close(fd)
                who = f"pid {pid}" if pid else "unknown pid"
                raise UserError(
                    f"another coachd ({who}) is already using {self.state}; stop it first"
                ) from None
            except BaseException:
                os.close(fd)
                raise
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        except OSError:
            os.close(fd)
            raise
        self._fd = fd
        log.debug("took the state lock %s", self.path)

    def release(self) -> None:
        """Drop the lock. The file stays (removing it would race with a new holder)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)  # so nobody reads a stale pid from it
        os.close(fd)  # closing the descriptor releases the flock

    close = release

    def __enter__(self) -> StateLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def lock_holder(state: Path) -> int | None:
    """The pid of the live process holding the lock on `state`, or None if nobody does.

    Takes no lock that could stop a daemon from starting: a shared lock is tried and at once
    released. Returns -1 when the lock is held but the holder has not written its pid yet.
    """
    try:
        fd = os.open(lock_path(state), os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            # The holder writes its pid right after locking; give it a moment to.
            for _ in range(10):
                pid = _read_pid(fd)
                if pid:
                    return pid
                time.sleep(0.02)
            return -1
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
