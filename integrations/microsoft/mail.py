"""GraphMailer: the Mailer port over Graph `sendMail`, in its MIME form.

The message goes out exactly as built (headers, Message-ID, both parts): Graph's sendMail
accepts the RFC 5322 bytes base64-encoded with `Content-Type: text/plain`, and answers 202.
Graph sends from the mailbox it acts for, so `email.from` should be that mailbox (or an
address it may send as).
"""

from __future__ import annotations

import base64
import logging
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

from integrations.google.retry import Backoff
from integrations.microsoft import retry
from integrations.microsoft.client import DEFAULT_TIMEOUT, GraphClient
from planner.policy import MicrosoftSettings

log = logging.getLogger(__name__)


def encode_mime(message: EmailMessage) -> bytes:
    """The message as sendMail's MIME body: RFC 5322 bytes, base64."""
    return base64.b64encode(message.as_bytes())


class GraphMailer:
    """Sends through Graph as the client's mailbox.

    Raises TransientError for faults worth retrying next tick (after in-call backoff),
    RemoteError for refusals (403: the app lacks Mail.Send, or the access policy excludes
    the mailbox), UserError for missing or refused credentials.
    """

    def __init__(self, client: GraphClient, *, backoff: Backoff | None = None) -> None:
        self.client = client
        self.backoff = backoff or Backoff()

    def send(self, message: EmailMessage) -> None:
        data = encode_mime(message)
        url = f"{self.client.user_path}/sendMail"
        retry.call(
            lambda: self.client.request(
                "POST", url, data=data, headers={"Content-Type": "text/plain"}
            ),
            "sendMail",
            self.backoff,
        )
        log.info("sent %s through Microsoft Graph", message.get("Message-ID", "?"))


def open_graph_mailer(
    settings: MicrosoftSettings,
    base_dir: Path,
    *,
    manager: str,
    tz: ZoneInfo,
    timeout: float = DEFAULT_TIMEOUT,
    backoff: Backoff | None = None,
) -> GraphMailer:
    """The Graph transport, with the `calendar.microsoft` app registration and sign-in.
    Touches neither the network nor the token cache until the first send."""
    from integrations.microsoft.auth import client_for, delegated_scopes

    client = client_for(
        settings,
        manager=manager,
        tz=tz,
        base_dir=base_dir,
        timeout=timeout,
        scopes=delegated_scopes(send_mail=True),
    )
    return GraphMailer(client, backoff=backoff)
