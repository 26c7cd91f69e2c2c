"""SMTP transport: STARTTLS, SSL, or plain on loopback; login when a username is given.

Faults are sorted for the executor: connection problems, timeouts and 4xx answers are
TransientError (retry next tick); 5xx answers are RemoteError naming what was refused. The
password is never logged or shown in a repr.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Literal

from integrations.errors import RemoteError, TransientError, UserError
from planner.policy import SmtpSettings

log = logging.getLogger(__name__)

Security = Literal["starttls", "ssl", "none"]
ENV_USERNAME = "COACHD_SMTP_USERNAME"
ENV_PASSWORD = "COACHD_SMTP_PASSWORD"


def is_loopback(host: str) -> bool:
    """Whether host names this machine (credentials in clear text never leave it)."""
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class SmtpMailer:
    """Sends each message in its own SMTP session (coachd sends a few emails a day)."""

    def __init__(
        self,
        host: str,
        port: int,
        security: Security = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if security not in ("starttls", "ssl", "none"):
            raise UserError(
                f"email.smtp.security: must be starttls, ssl or none (got {security!r})"
            )
        if security == "none" and username and not is_loopback(host):
            raise UserError(
                f"email.smtp: refusing to send the password for {username} to {host} without "
                "TLS; use security: starttls or ssl (plain is allowed only to localhost)"
            )
        self.host = host
        self.port = port
        self.security: Security = security
        self.username = username or None
        self._password = password or ""
        self.timeout = timeout
        self._ssl_context = ssl_context

    @classmethod
    def from_settings(
        cls, settings: SmtpSettings, env: Mapping[str, str] | None = None
    ) -> SmtpMailer:
        """Build from `email.smtp`; credentials fall back to COACHD_SMTP_USERNAME/_PASSWORD."""
        env = os.environ if env is None else env
        return cls(
            host=settings.host,
            port=settings.port,
            security=settings.security,
            username=settings.username or env.get(ENV_USERNAME) or None,
            password=settings.password or env.get(ENV_PASSWORD) or None,
            timeout=settings.timeout.total_seconds(),
        )

    def __repr__(self) -> str:
        return (
            f"SmtpMailer(host={self.host!r}, port={self.port}, security={self.security!r}, "
            f"username={self.username!r})"
        )

    def _context(self) -> ssl.SSLContext:
        return self._ssl_context or ssl.create_default_context()

    def _connect(self) -> smtplib.SMTP:
        if self.security == "ssl":
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self._context()
            )
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            smtp.ehlo()
            if self.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise RemoteError(
                        f"SMTP server {self.host}:{self.port} does not offer STARTTLS; "
                        "refusing to send in clear text (set email.smtp.security)"
                    )
                smtp.starttls(context=self._context())
                smtp.ehlo()
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, message: EmailMessage) -> None:
        """Deliver one message; raise TransientError or RemoteError as described above."""
        where = f"{self.host}:{self.port}"
        mid = message.get("Message-ID", "")
        try:
            with self._connect() as smtp:
                if self.username:
                    smtp.login(self.username, self._password)
                refused = smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as e:
            raise _refused(where, e.recipients) from None
        except smtplib.SMTPAuthenticationError as e:
            raise RemoteError(
                f"SMTP server {where} refused the login for {self.username}: "
                f"{e.smtp_code} {_text(e.smtp_error)} (check the username and password)"
            ) from None
        except smtplib.SMTPSenderRefused as e:
            raise _by_code(
                e.smtp_code, f"SMTP server {where} refused the sender {e.sender}", e
            ) from None
        except smtplib.SMTPResponseException as e:
            raise _by_code(e.smtp_code, f"SMTP server {where} answered", e) from None
        except smtplib.SMTPNotSupportedError as e:
            raise RemoteError(f"SMTP server {where}: {e}") from None
        except ssl.SSLCertVerificationError as e:
            raise RemoteError(
                f"SMTP server {where}: TLS certificate not trusted ({e.verify_message})"
            ) from None
        except (smtplib.SMTPException, OSError) as e:
            # Connection refused, reset, timeout, TLS handshake trouble, server hung up.
            raise TransientError(f"SMTP server {where}: {type(e).__name__}: {e}") from None
        if refused:
            # Delivered to some recipients: resending would duplicate it for them, so report.
            log.warning(
                "SMTP server %s accepted %s but refused %s",
                where,
                mid,
                ", ".join(f"{r} ({c} {_text(m)})" for r, (c, m) in refused.items()),
            )
        log.info("SMTP server %s accepted %s", where, mid)


def _text(msg: bytes | str) -> str:
    return msg.decode("utf-8", "replace") if isinstance(msg, bytes) else str(msg)


def _by_code(code: int, what: str, e: smtplib.SMTPResponseException) -> Exception:
    text = f"{what}: {code} {_text(e.smtp_error)}"
    return TransientError(text) if 400 <= code < 500 else RemoteError(text)


def _refused(where: str, recipients: Mapping[str, tuple[int, bytes]]) -> Exception:
    detail = ", ".join(f"{r} ({c} {_text(m)})" for r, (c, m) in recipients.items())
    text = f"SMTP server {where} refused every recipient: {detail}"
    if all(400 <= c < 500 for c, _ in recipients.values()):
        return TransientError(text)
    return RemoteError(text)
