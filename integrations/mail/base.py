"""The Mailer port: deliver one fully built message."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Protocol


class Mailer(Protocol):
    """A mail transport. `send` raises TransientError for faults worth retrying next tick."""

    def send(self, message: EmailMessage) -> None: ...
