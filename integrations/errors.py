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
