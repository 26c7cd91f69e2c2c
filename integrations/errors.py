"""One error hierarchy; daemon.py translates each into a message and an exit code."""

from __future__ import annotations


class CoachdError(Exception):
    """Base of every error coachd raises on purpose. `str(e)` is what the user reads."""

    exit_code = 1


class ConfigError(CoachdError):
    """config.yaml is invalid. `errors` holds every problem as `file:line: key.path: message`."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


class UserError(CoachdError):
    """Something the person running coachd must fix (a missing file, a lock held...)."""


class TransientError(CoachdError):
    """A fault that may pass (network, rate limit, 5xx): retry on the next tick."""


class RemoteError(CoachdError):
    """A remote service refused for good (403 forbidden, 400, 404): do not retry."""


def describe_os_error(e: OSError) -> str:
    """One sentence a person can act on for a file-system error (no traceback)."""
    import errno

    where = f" ({e.filename})" if e.filename else ""
    if e.errno == errno.ENOSPC:
        return f"disk full: no space left on the device{where}; free some space"
    if e.errno == errno.EDQUOT:
        return f"disk quota exceeded{where}; free some space or raise the quota"
    if e.errno == errno.EROFS:
        return f"read-only file system{where}: coachd cannot write there"
    if e.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied{where}: check the owner and mode of the file and its folder"
    return f"{e.strerror or type(e).__name__}{where}"
