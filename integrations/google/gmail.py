"""GmailMailer: the Mailer port over Gmail API users.messages.send.

The message is sent exactly as built (headers, Message-ID, both parts), base64url-encoded in
the `raw` field. Gmail sets the envelope from the authorized account, so `email.from` should
be that account or one of its verified aliases.
"""

from __future__ import annotations

import base64
import logging
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from integrations.errors import UserError
from integrations.google import retry
from integrations.google.auth import SCOPE_GMAIL_SEND
from integrations.google.client import DEFAULT_TIMEOUT, Connection
from integrations.google.retry import Backoff
from planner.policy import GoogleSettings

log = logging.getLogger(__name__)


def encode_raw(message: EmailMessage) -> str:
    """The message in Gmail's `raw` form: RFC 5322 bytes, base64url."""
    return base64.urlsafe_b64encode(message.as_bytes()).decode("ascii")


class GmailMailer:
    """Sends through the Gmail API as the authorized user ("me").

    Raises TransientError for faults worth retrying next tick (after in-call backoff),
    RemoteError for refusals (e.g. 403 insufficient scope: run `coachd auth google` again),
    UserError for missing or unsafe credentials.
    """

    def __init__(self, connection: Connection, *, backoff: Backoff | None = None) -> None:
        self.conn = connection
        self.backoff = backoff or Backoff()

    def send(self, message: EmailMessage) -> None:
        if self.conn.credentials == "service_account" and not self.conn.subject:
            # A service account has no mailbox of its own: it must act for the manager.
            raise UserError(
                "sending through Gmail with a service account needs the mailbox to act for "
                "(the manager's address)"
            )
        body = {"raw": encode_raw(message)}
        try:
            messages = self.conn.gmail().users().messages()

            def do() -> Any:
                return messages.send(userId="me", body=body).execute(num_retries=0)

            resp = retry.call(do, "gmail users.messages.send", self.backoff)
        finally:
            self.conn.persist()
        log.info(
            "sent %s through Gmail (id %s)",
            message.get("Message-ID", "?"),
            resp.get("id", "?") if isinstance(resp, dict) else "?",
        )


def open_gmail(
    settings: GoogleSettings,
    base_dir: Path,
    *,
    subject: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    backoff: Backoff | None = None,
) -> GmailMailer:
    """The Gmail transport, using the `calendar.google` credentials.

    With a service account, `subject` is the mailbox it acts for (the manager) and is
    required. Touches neither the network nor the token file until the first send.
    """
    conn = Connection(
        credentials=settings.credentials,
        scopes=[SCOPE_GMAIL_SEND],
        token_file=base_dir / settings.token_file,
        service_account_key=(
            base_dir / settings.service_account_key if settings.service_account_key else None
        ),
        subject=subject,
        endpoint=settings.api_endpoint,
        timeout=timeout,
    )
    return GmailMailer(conn, backoff=backoff)
