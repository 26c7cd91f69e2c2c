"""IMAP inbox over TLS (imaplib): the messages received since a date, read without marking
them seen (BODY.PEEK), the mailbox opened read-only.

Login with a password, or SASL XOAUTH2 with an OAuth 2 access token (Gmail, Microsoft 365).
The password and token are never logged or shown in a repr. Network faults, refused logins
and protocol errors become TransientError (the tick goes on without replies and says why);
a message that cannot be parsed is skipped with a warning naming its UID.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import os
import ssl
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from integrations.errors import TransientError, UserError
from integrations.inbox.base import InboxRead
from integrations.inbox.parse import parse_message
from planner.policy import ImapSettings

log = logging.getLogger(__name__)

ENV_USERNAME = "COACHD_IMAP_USERNAME"
ENV_PASSWORD = "COACHD_IMAP_PASSWORD"
ENV_TOKEN = "COACHD_IMAP_OAUTH2_TOKEN"
MAX_MESSAGES = 500


class ImapInbox:
    """One IMAP mailbox; a connection per `read`, closed before it returns."""

    def __init__(
        self,
        *,
        host: str,
        port: int = 993,
        username: str,
        password: str | None = None,
        oauth2_token: str | None = None,
        mailbox: str = "INBOX",
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if not username:
            raise UserError(f"inbox.imap: no username (set it, or {ENV_USERNAME})")
        if not (password or oauth2_token):
            raise UserError(
                f"inbox.imap: no password or oauth2_token (set one, or {ENV_PASSWORD} / "
                f"{ENV_TOKEN})"
            )
        self.host = host
        self.port = port
        self.username = username
        self._password = password
        self._token = oauth2_token
        self.mailbox = mailbox
        self.timeout = timeout
        self._ssl_context = ssl_context or ssl.create_default_context()

    @classmethod
    def from_settings(
        cls, settings: ImapSettings, base_dir: Path, env: Mapping[str, str] | None = None
    ) -> ImapInbox:
        """Build from `inbox.imap`; credentials fall back to the COACHD_IMAP_* variables."""
        env = os.environ if env is None else env
        context = ssl.create_default_context()
        if settings.cafile:
            context.load_verify_locations(cafile=str(base_dir / settings.cafile))
        xoauth2 = settings.auth == "xoauth2"
        return cls(
            host=settings.host,
            port=settings.port,
            username=settings.username or env.get(ENV_USERNAME) or "",
            password=None if xoauth2 else settings.password or env.get(ENV_PASSWORD),
            oauth2_token=settings.oauth2_token or env.get(ENV_TOKEN) if xoauth2 else None,
            mailbox=settings.mailbox,
            timeout=settings.timeout.total_seconds(),
            ssl_context=context,
        )

    def __repr__(self) -> str:
        how = "xoauth2" if self._token else "password"
        return f"ImapInbox(host={self.host!r}, port={self.port}, username={self.username!r}, {how})"

    def read(self, since: datetime) -> InboxRead:
        where = f"inbox imap://{self.host}:{self.port}/{self.mailbox}"
        try:
            conn = imaplib.IMAP4_SSL(
                self.host, self.port, ssl_context=self._ssl_context, timeout=self.timeout
            )
        except (OSError, imaplib.IMAP4.error) as e:
            raise TransientError(f"{where}: cannot connect: {e}") from None
        try:
            self._login(conn)
            return self._fetch(conn, since, where)
        except imaplib.IMAP4.error as e:
            raise TransientError(f"{where}: {e}") from None
        except (TimeoutError, OSError) as e:
            raise TransientError(f"{where}: connection lost: {e}") from None
        finally:
            with contextlib.suppress(OSError, imaplib.IMAP4.error):
                conn.logout()

    def _login(self, conn: imaplib.IMAP4_SSL) -> None:
        if self._token:
            sasl = f"user={self.username}\x01auth=Bearer {self._token}\x01\x01".encode()
            conn.authenticate("XOAUTH2", lambda _challenge: sasl)
        else:
            conn.login(self.username, self._password or "")

    def _fetch(self, conn: imaplib.IMAP4_SSL, since: datetime, where: str) -> InboxRead:
        out = InboxRead()
        status, _ = conn.select(_quoted(self.mailbox), readonly=True)
        if status != "OK":
            raise TransientError(f"{where}: cannot open the mailbox")
        # SINCE compares dates only (the server's date of arrival): a day's slack is built in.
        status, data = conn.uid("SEARCH", "SINCE", since.strftime("%d-%b-%Y"))
        if status != "OK":
            raise TransientError(f"{where}: search failed")
        uids = [u.decode() for u in (data[0] or b"").split()[-MAX_MESSAGES:]]
        for uid in uids:
            status, parts = conn.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next(
                (p[1] for p in parts if isinstance(p, tuple) and isinstance(p[1], bytes)), None
            )
            if status != "OK" or raw is None:
                out.warnings.append(f"{where}: message UID {uid} could not be fetched")
                continue
            try:
                out.messages.append(parse_message(raw))
            except ValueError as e:
                out.warnings.append(f"{where}: message UID {uid} skipped: {e}")
        return out


def _quoted(mailbox: str) -> str:
    """A mailbox name as an IMAP quoted string (names may hold spaces)."""
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'
