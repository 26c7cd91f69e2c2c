"""The shell's settings in the policy: email, inbox, calendar backend, state, audit and
daemon sections (what coachd talks to and how often)."""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    field_validator,
    model_validator,
)

from planner.policy_triage import (
    Category,
)
from planner.policy_types import (
    HHMM,
    Duration,
    Email,
    Percent,
    Strict,
    Weekday,
)
from planner.timeutil import format_duration


class MaildirSettings(Strict):
    path: str = "outbox"


class SmtpSettings(Strict):
    host: str = "localhost"
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password: str | None = None
    timeout: Duration = timedelta(seconds=30)


class AgendaEmail(Strict):
    before: Duration = timedelta(hours=24)
    send_to_rep: StrictBool = False


class SummaryEmail(Strict):
    enabled: StrictBool = True
    day: Weekday = "mon"
    time: HHMM = time(7, 30)


class DigestEmail(Strict):
    enabled: StrictBool = True
    time: HHMM = time(17, 0)


class SalesMeetingEmail(Strict):
    enabled: StrictBool = True
    before: Duration = timedelta(hours=24)


class EmailSettings(Strict):
    """How coachd sends its emails and when."""

    transport: Literal["maildir", "smtp", "gmail", "microsoft"] = "maildir"
    sender: Email = Field(default="coachd@localhost.localdomain", alias="from")
    maildir: MaildirSettings = MaildirSettings()
    smtp: SmtpSettings = SmtpSettings()
    templates_dir: str | None = None
    notes_dir: str = "notes"
    agenda: AgendaEmail = AgendaEmail()
    summary: SummaryEmail = SummaryEmail()
    digest: DigestEmail = DigestEmail()
    sales_meeting: SalesMeetingEmail = SalesMeetingEmail()

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class InboxMaildir(Strict):
    path: str = "inbox"


class ImapSettings(Strict):
    """An IMAP mailbox over TLS (port 993). Credentials: `username` and `password` (or
    `oauth2_token` with `auth: xoauth2`), best written as `${ENV_VAR}`; when left out they
    come from COACHD_IMAP_USERNAME, COACHD_IMAP_PASSWORD and COACHD_IMAP_OAUTH2_TOKEN."""

    host: str = "localhost"
    port: int = Field(default=993, ge=1, le=65535)
    auth: Literal["password", "xoauth2"] = "password"
    username: str | None = None
    password: str | None = None
    oauth2_token: str | None = None
    mailbox: str = "INBOX"
    cafile: str | None = None
    timeout: Duration = timedelta(seconds=30)


class InboxSettings(Strict):
    """Where replies to coachd's emails arrive (the mailbox of `email.from`): a Maildir (the
    default; a missing folder means no replies yet), an IMAP mailbox, or `none`."""

    type: Literal["maildir", "imap", "none"] = "maildir"
    maildir: InboxMaildir = InboxMaildir()
    imap: ImapSettings = ImapSettings()
    lookback: Duration = timedelta(days=14)


class RecordSettings(Strict):
    """The coaching records: one Markdown file per rep in `dir` (`records/<rep email>.md`)."""

    dir: str = "records"


class GoogleSettings(Strict):
    credentials: Literal["oauth", "service_account", "none"] = "oauth"
    client_secrets: str = "client_secret.json"
    token_file: str = "secrets/google-token.json"
    service_account_key: str | None = None
    calendar_id: str = "primary"
    api_endpoint: str | None = None


def _size(v: Any) -> int:
    """`1 MB`, `512 KB`, `2MB` or a number of bytes -> bytes (KB = 1000 bytes, as du -si)."""
    units = {"": 1, "B": 1, "KB": 1000, "MB": 1000**2, "GB": 1000**3}
    if isinstance(v, int) and not isinstance(v, bool):
        n = v
    elif isinstance(v, str) and (m := re.fullmatch(r"\s*(\d{1,12})\s*([KMG]?B?)\s*", v.upper())):
        n = int(m.group(1)) * units[m.group(2)]
    else:
        raise ValueError(f"must be a size like 1 MB or 500 KB (got {v!r})")
    if not 1000 <= n <= 1000**3:
        raise ValueError(f"must be between 1 KB and 1 GB (got {v!r})")
    return n


class MicrosoftSettings(Strict):
    """Microsoft 365 through Graph: which app registration, and how it signs in.

    `device_code`: one manager signs in once (`coachd auth microsoft`); `client_secret` or
    `certificate`: app-only access for an organisation; `none`: loopback test servers only.
    """

    tenant: str = "organizations"
    client_id: str = ""
    credentials: Literal["device_code", "client_secret", "certificate", "none"] = "device_code"
    client_secret: str | None = None
    certificate: str | None = None
    certificate_thumbprint: str | None = None
    token_cache: str = "secrets/microsoft-token-cache.json"
    authority_host: str = "https://login.microsoftonline.com"
    api_endpoint: str | None = None


class LocalCalendar(Strict):
    """The vdir folder, and the caps on what one outside .ics file may cost a tick."""

    path: str = "calendar"
    max_file_size: Annotated[int, BeforeValidator(_size)] = 1_000_000
    max_instances: int = Field(default=3000, ge=10, le=100_000)
    read_budget: Duration = timedelta(minutes=2)

    @field_validator("read_budget")
    @classmethod
    def _read_budget(cls, v: timedelta) -> timedelta:
        if not timedelta(seconds=1) <= v <= timedelta(hours=1):
            raise ValueError(f"must be between 1s and 1h (got {format_duration(v)})")
        return v


_LOOPBACK = r"^http://(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?/"


class CalendarSettings(Strict):
    """Which calendar coachd reads and writes."""

    backend: Literal["local", "google", "microsoft"] = "local"
    local: LocalCalendar = LocalCalendar()
    google: GoogleSettings = GoogleSettings()
    microsoft: MicrosoftSettings = MicrosoftSettings()

    @model_validator(mode="after")
    def _no_credentials_only_on_loopback(self) -> CalendarSettings:
        g = self.google
        if self.backend == "google" and g.credentials == "none":
            ep = g.api_endpoint or ""
            if not re.match(r"^http://(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?/", ep):
                raise ValueError(
                    "google.credentials: none is only allowed with a loopback "
                    "google.api_endpoint (http://127.0.0.1:PORT/...)"
                )
        return self

    @model_validator(mode="after")
    def _microsoft_credentials_complete(self) -> CalendarSettings:
        m = self.microsoft
        if self.backend != "microsoft":
            return self
        if m.credentials == "none":
            if not re.match(_LOOPBACK, m.api_endpoint or ""):
                raise ValueError(
                    "microsoft.credentials: none is only allowed with a loopback "
                    "microsoft.api_endpoint (http://127.0.0.1:PORT/...)"
                )
            return self
        if not m.client_id:
            raise ValueError("microsoft.client_id is required (the app registration's ID)")
        if m.credentials == "client_secret" and not m.client_secret:
            raise ValueError(
                "microsoft.credentials: client_secret needs microsoft.client_secret "
                "(write it as ${ENV_VAR}, never the secret itself)"
            )
        if m.credentials == "certificate" and not (m.certificate and m.certificate_thumbprint):
            raise ValueError(
                "microsoft.credentials: certificate needs microsoft.certificate (a PEM file "
                "with the private key) and microsoft.certificate_thumbprint"
            )
        return self


class StateSettings(Strict):
    path: str = "state/coachd.json"
    keep_weeks: int = Field(default=26, ge=4)


class AuditTargets(Strict):
    coaching_min_share: Percent = 40.0
    non_sales_max: Duration = timedelta(hours=5)
    account_management_max: Duration = timedelta(hours=6)


class LeadershipReport(Strict):
    enabled: StrictBool = False
    to: list[Email] = Field(default_factory=list)
    day_of_month: int = Field(default=1, ge=1, le=28)
    time: HHMM = time(8, 0)


class Audit(Strict):
    """Where the manager's hours went, against these targets."""

    targets: AuditTargets = AuditTargets()
    categories: dict[Category, list[str]] = Field(default_factory=dict)
    leadership_report: LeadershipReport = LeadershipReport()


class DaemonSettings(Strict):
    tick: Duration = timedelta(minutes=10)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("tick")
    @classmethod
    def _tick(cls, v: timedelta) -> timedelta:
        if not timedelta(seconds=1) <= v <= timedelta(hours=6):
            raise ValueError(f"must be between 1s and 6h (got {format_duration(v)})")
        return v
