"""The manager's policy: typed, validated once, passed to the planner piece by piece.

Every model forbids unknown keys, so a misspelled key is an error rather than a silently
ignored setting. Durations read like `30m`, `4h`, `2 weeks`; times are `"HH:MM"` in the
manager's IANA timezone. File paths stay as written; the loader resolves them against the
folder that holds config.yaml.
"""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    field_validator,
    model_validator,
)

from planner.kpi_sources import AnySource, CsvSource, KpiSources, PeriodFigure
from planner.timeutil import WEEKDAYS, format_duration, parse_duration, parse_hhmm

MAX_KPIS = 7


def _duration(v: Any) -> timedelta:
    if isinstance(v, timedelta):
        return v
    if isinstance(v, bool) or not isinstance(v, str):
        raise ValueError(f"must be a duration like 30m, 4h or 2 weeks (got {v!r})")
    try:
        return parse_duration(v)
    except OverflowError:
        raise ValueError(f"is far too long to be a duration (got {v!r})") from None


def _hhmm(v: Any) -> time:
    if isinstance(v, time):
        return v
    if not isinstance(v, str):
        raise ValueError(f'must be a time written "HH:MM" in quotes (got {v!r})')
    return parse_hhmm(v)


def _weekday(v: Any) -> str:
    if not isinstance(v, str) or v.strip().lower()[:3] not in WEEKDAYS:
        raise ValueError(f"must be a weekday like mon, tue, wed (got {v!r})")
    return v.strip().lower()[:3]


_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")


def _email(v: Any) -> str:
    if not isinstance(v, str) or not _EMAIL.match(v.strip()):
        raise ValueError(f"must be an email address like name@example.com (got {v!r})")
    return v.strip().lower()


# A person's address names their calendar folder and notes file, so it must be a plain one:
# no '/', '\\', '..', NUL or line breaks, ASCII only (a look-alike letter from another script
# could pass for a colleague's address).
_PERSON_LOCAL = re.compile(r"^[a-z0-9_%+-]+(\.[a-z0-9_%+-]+)*$")
_PERSON_DOMAIN = re.compile(r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{1,62}$")


def _person_email(v: Any) -> str:
    email = _email(v)
    local, _, domain = email.rpartition("@")
    if len(email) > 254 or not _PERSON_LOCAL.match(local) or not _PERSON_DOMAIN.match(domain):
        raise ValueError(
            "must be a plain email address like name@example.com (ASCII letters, digits and "
            f". _ % + - only; no '/', '\\' or '..') (got {v!r})"
        )
    return email


# Letter groups that read alike in most fonts: two addresses equal after these are confusable.
_CONFUSABLE = (("rn", "m"), ("vv", "w"), ("cl", "d"), ("0", "o"), ("1", "l"), ("5", "s"))


def confusable_key(email: str) -> str:
    """The address with look-alike letter groups folded together (`arna@x` -> `ama@x`)."""
    key = email.lower()
    for seen, like in _CONFUSABLE:
        key = key.replace(seen, like)
    return key


def _address_or_domain(v: Any) -> str:
    if not isinstance(v, str) or not v.strip() or any(c in v for c in " \r\n\t<>,;\"'"):
        raise ValueError(f"must be an email address or a domain like example.com (got {v!r})")
    return v.strip().lower().lstrip("@")


def _day(v: Any) -> date:
    if isinstance(v, date):
        return v
    if isinstance(v, str):
        try:
            return date.fromisoformat(v.strip())
        except ValueError:
            pass
    raise ValueError(f"must be a date written YYYY-MM-DD (got {v!r})")


def _holiday_region(v: Any) -> str:
    """`US`, or a subdivision like `US-TX`: a region the `holidays` package knows."""
    if not isinstance(v, str) or not re.fullmatch(r"\s*[A-Za-z]{2,3}(-[A-Za-z0-9]{1,6})?\s*", v):
        raise ValueError(f"must be a country code like US, or US-TX for a subdivision (got {v!r})")
    code = v.strip().upper()
    country, _, sub = code.partition("-")
    import holidays  # only when a region is configured: the package takes ~0.1 s to import

    try:
        holidays.country_holidays(country, subdiv=sub or None)
    except NotImplementedError as e:
        raise ValueError(f"unknown holiday region {code!r}: {e}") from None
    return code


def _percent(v: Any) -> float:
    if isinstance(v, bool):
        raise ValueError(f"must be a percentage like 40% (got {v!r})")
    if isinstance(v, int | float):
        f = float(v)
    elif isinstance(v, str) and re.fullmatch(r"\s*\d+(\.\d+)?\s*%?\s*", v):
        f = float(v.strip().rstrip("%"))
    else:
        raise ValueError(f"must be a percentage like 40% (got {v!r})")
    if not 0 <= f <= 100:
        raise ValueError(f"must be between 0% and 100% (got {v!r})")
    return f


Duration = Annotated[
    timedelta, BeforeValidator(_duration), PlainSerializer(format_duration, return_type=str)
]
HHMM = Annotated[time, BeforeValidator(_hhmm), PlainSerializer(lambda t: t.strftime("%H:%M"))]
Weekday = Annotated[str, BeforeValidator(_weekday)]
Email = Annotated[str, BeforeValidator(_email)]
PersonEmail = Annotated[str, BeforeValidator(_person_email)]
AddressOrDomain = Annotated[str, BeforeValidator(_address_or_domain)]
HolidayRegion = Annotated[str, BeforeValidator(_holiday_region)]
Day = Annotated[date, BeforeValidator(_day)]
Percent = Annotated[float, BeforeValidator(_percent)]


class Strict(BaseModel):
    """Base for every section: unknown keys are errors, values are not silently coerced."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Window(Strict):
    """A daily wall-clock window in the manager's timezone."""

    start: HHMM
    end: HHMM

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end <= self.start:
            raise ValueError(f"end ({self.end:%H:%M}) must be after start ({self.start:%H:%M})")
        return self


def _positive(v: timedelta) -> timedelta:
    if v <= timedelta(0):
        raise ValueError(f"must be longer than zero (got {format_duration(v)})")
    return v


class Manager(Strict):
    """The sales manager whose calendar coachd guards."""

    name: str
    email: PersonEmail
    timezone: str
    working_hours: Window = Window(start=time(8, 0), end=time(17, 0))
    working_days: list[Weekday] = Field(default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"])
    boss: Email | None = None
    holidays: HolidayRegion | None = None
    out_of_office_words: list[str] = Field(
        default_factory=lambda: ["out of office", "OOO", "vacation", "PTO"]
    )

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown IANA timezone {v!r} (use a name like America/Chicago)"
            ) from None
        return v

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def domain(self) -> str:
        return self.email.rsplit("@", 1)[1]


class RepOneOnOne(Strict):
    """A rep's own one-on-one settings, each overriding `coaching.one_on_one` for them.

    `day` and `time` are a preference: used when both are free, else the usual search runs.
    """

    every: Duration | None = None
    day: Weekday | None = None
    time: HHMM | None = None
    duration: Duration | None = None

    _pos = field_validator("every", "duration")(lambda v: v if v is None else _positive(v))

    @field_validator("every")
    @classmethod
    def _cadence(cls, v: timedelta | None) -> timedelta | None:
        if v is not None and v < timedelta(days=1):
            raise ValueError(f"must be at least 1 day (got {format_duration(v)})")
        return v


class Rep(Strict):
    """One sales rep on the manager's team. `holidays` defaults to the manager's region."""

    name: str
    email: PersonEmail
    start_date: Day | None = None
    goals: list[str] = Field(default_factory=list)
    minimums: dict[str, float] = Field(default_factory=dict)
    send_agenda: StrictBool | None = None
    holidays: HolidayRegion | None = None
    one_on_one: RepOneOnOne | None = None
    # constants for derived KPIs: a weekly number, or {amount, per: month|quarter|year}
    figures: dict[str, float | PeriodFigure] = Field(default_factory=dict)


class Derived(Strict):
    """A KPI computed as `scale * numerator / (denominator - less)` (see planner.kpi_derive)."""

    numerator: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    denominator: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    less: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")] | None = None
    scale: float = 1.0


class Kpi(Strict):
    """One KPI with the minimum standard every rep must meet and the goal to aim for."""

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    name: str
    unit: str = ""
    higher_is_better: StrictBool = True
    minimum: float
    goal: float
    derived: Derived | None = None

    @model_validator(mode="after")
    def _goal_beyond_minimum(self) -> Kpi:
        if self.higher_is_better and self.goal < self.minimum:
            raise ValueError(f"goal ({self.goal:g}) is below the minimum ({self.minimum:g})")
        if not self.higher_is_better and self.goal > self.minimum:
            raise ValueError(
                f"goal ({self.goal:g}) is above the maximum allowed ({self.minimum:g}); "
                "for lower-is-better KPIs the minimum standard is a ceiling"
            )
        return self


class OneOnOne(Strict):
    """Regular one-on-ones about each rep's goals and KPIs."""

    every: Duration = timedelta(weeks=1)
    duration: Duration = timedelta(minutes=30)
    days: list[Weekday] = Field(default_factory=lambda: ["tue", "wed", "thu"])
    window: Window = Window(start=time(9, 0), end=time(16, 0))
    new_hire_every: Duration = timedelta(weeks=1)
    below_standard_every: Duration = timedelta(weeks=1)
    rebook_deleted: StrictBool = False

    _pos = field_validator("every", "duration", "new_hire_every", "below_standard_every")(_positive)

    @field_validator("every", "new_hire_every", "below_standard_every")
    @classmethod
    def _cadence(cls, v: timedelta) -> timedelta:
        if v < timedelta(days=1):
            raise ValueError(f"must be at least 1 day (got {format_duration(v)})")
        return v


class RideAlong(Strict):
    """Field ride-alongs, rotated across reps, longest-since-last first."""

    enabled: StrictBool = True
    every: Duration = timedelta(weeks=4)
    new_hire_every: Duration = timedelta(weeks=2)
    length: Literal["half_day", "full_day"] = "half_day"
    days: list[Weekday] = Field(default_factory=lambda: ["wed", "thu"])
    per_week: int = Field(default=1, ge=0, le=5)


class Huddle(Strict):
    """Short team huddles at a fixed time."""

    enabled: StrictBool = True
    days: list[Weekday] = Field(default_factory=lambda: ["mon", "wed", "fri"])
    time: HHMM = time(8, 30)
    duration: Duration = timedelta(minutes=15)


class SalesMeeting(Strict):
    """The weekly sales meeting on selling skills, one topic per meeting, in order."""

    enabled: StrictBool = True
    day: Weekday = "tue"
    time: HHMM = time(10, 0)
    duration: Duration = timedelta(hours=1)
    topics: list[str] = Field(default_factory=lambda: ["Discovery questions"])
    first_week: Day | None = None

    @field_validator("topics")
    @classmethod
    def _some_topics(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("needs at least one topic")
        return v


class CallReview(Strict):
    """Blocks for listening to recorded calls, manager only."""

    enabled: StrictBool = True
    per_week: int = Field(default=2, ge=0, le=10)
    duration: Duration = timedelta(minutes=45)
    days: list[Weekday] = Field(default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"])
    window: Window = Window(start=time(13, 0), end=time(17, 0))


class Standards(Strict):
    """When a rep counts as below standard, and when that calls for a conversation."""

    tighten_after: int = Field(default=2, ge=1)
    coach_up_after: int = Field(default=2, ge=1)
    coach_out_after: int = Field(default=6, ge=1)


class RampMilestone(Strict):
    """What a new hire should reach by a week of their ramp (shown in their 1:1 agenda)."""

    week: int = Field(ge=1, le=104)
    goal: str


class Coaching(Strict):
    """Which coaching blocks to book, how often and where in the week."""

    horizon: Duration = timedelta(weeks=2)
    buffer: Duration = timedelta(minutes=10)
    max_per_day: Duration = timedelta(hours=4)
    slot_step: Duration = timedelta(minutes=15)
    ramp_weeks: int = Field(default=12, ge=0)
    ramp_milestones: list[RampMilestone] = Field(default_factory=list)
    standards: Standards = Standards()
    one_on_one: OneOnOne = OneOnOne()
    ride_along: RideAlong = RideAlong()
    huddle: Huddle = Huddle()
    sales_meeting: SalesMeeting = SalesMeeting()
    call_review: CallReview = CallReview()

    @field_validator("horizon")
    @classmethod
    def _horizon(cls, v: timedelta) -> timedelta:
        if not timedelta(days=1) <= v <= timedelta(weeks=12):
            raise ValueError(f"must be between 1 day and 12 weeks (got {format_duration(v)})")
        return v


Category = Literal["coaching", "account_management", "recruiting", "non_sales", "personal"]
Response = Literal["needs_action", "tentative", "accepted", "declined", "none"]
Level = Literal["keep", "flag"]

# Classes of people a rule may name instead of an address or a domain (see planner.people).
PERSON_CLASSES = ("internal", "customer", "external", "leadership", "rep", "boss")
REP_AMONG_GUESTS = "rep_among_guests"


def _who(v: Any) -> str:
    """An address, a domain, or the name of a class or a `triage.groups` group."""
    if isinstance(v, str) and re.fullmatch(r"\s*[a-z][a-z0-9_-]*\s*", v):
        return v.strip()  # a class or group name: checked against triage.groups later
    return _address_or_domain(v)


Who = Annotated[str, BeforeValidator(_who)]


def _who_list(v: Any) -> Any:
    return [v] if isinstance(v, str) else v


WhoList = Annotated[list[Who], BeforeValidator(_who_list)]


class Guests(Strict):
    """Who is among the guests: at least (and at most) so many of these people."""

    who: WhoList
    at_least: int = Field(default=1, ge=0)
    at_most: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _range(self) -> Guests:
        if not self.who:
            raise ValueError("who: name at least one class, group, address or domain")
        if self.at_most is not None and self.at_most < self.at_least:
            raise ValueError(f"at_most ({self.at_most}) is below at_least ({self.at_least})")
        return self


def _guests(v: Any) -> Any:
    # `guests: leadership` or `guests: [rep, hr@acme.com]`: at least one of them.
    return {"who": v} if isinstance(v, str | list) else v


def _responses(v: Any) -> Any:
    return [v] if isinstance(v, str) else v


class Match(Strict):
    """What a triage rule looks at. Every condition given must hold (AND)."""

    title: list[str] = Field(default_factory=list)
    title_regex: str | None = None
    description: list[str] = Field(default_factory=list)
    organizer: WhoList = Field(default_factory=list)
    guests: Annotated[Guests | None, BeforeValidator(_guests)] = None
    response: Annotated[list[Response], BeforeValidator(_responses)] = Field(default_factory=list)
    min_attendees: int | None = Field(default=None, ge=0)
    max_attendees: int | None = Field(default=None, ge=0)
    internal_only: StrictBool | None = None
    recurring: StrictBool | None = None
    min_duration: Duration | None = None
    max_duration: Duration | None = None
    overlaps_coaching: StrictBool | None = None
    negate: Match | None = Field(default=None, alias="not")

    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, populate_by_name=True
    )

    @field_validator("title_regex")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as e:
                raise ValueError(f"not a valid regular expression: {e}") from None
        return v

    def names(self) -> set[str]:
        """Every class or group name this match refers to, nested `not` included."""
        out = {w for w in self.organizer if _is_name(w)}
        if self.guests is not None:
            out |= {w for w in self.guests.who if _is_name(w)}
        if self.negate is not None:
            out |= self.negate.names()
        return out


def _is_name(who: str) -> bool:
    return "@" not in who and "." not in who


def _delegate_to(v: Any) -> str:
    if isinstance(v, str) and v.strip() == REP_AMONG_GUESTS:
        return REP_AMONG_GUESTS
    return _email(v)


DelegateTo = Annotated[str, BeforeValidator(_delegate_to)]


class Rule(Strict):
    """One triage rule. A rule either decides (`action`; the first that matches wins) or
    caps (`at_most`; the strictest cap that matches limits whatever decides)."""

    name: Annotated[str, Field(min_length=1)]
    match: Match
    action: Literal["keep", "flag", "decline", "delegate"] | None = None
    at_most: Level | None = None
    category: Category = "non_sales"
    message: str = "Thank you for the invitation. I protect this time for coaching my team."
    delegate_to: DelegateTo | None = None

    @model_validator(mode="after")
    def _delegate(self) -> Rule:
        if (self.action is None) == (self.at_most is None):
            raise ValueError(
                "give a rule either action (keep, flag, decline, delegate) or at_most "
                "(keep, flag), not both"
                if self.action
                else "needs action (keep, flag, decline, delegate) or at_most (keep, flag)"
            )
        if self.action == "delegate" and not self.delegate_to:
            raise ValueError(
                "action 'delegate' needs delegate_to: an email address or rep_among_guests"
            )
        return self

    @property
    def budgeted(self) -> bool:
        """Whether a keep rule leaves the meeting to the hour budgets: only when the rule
        names its category itself (a keep is otherwise final)."""
        return "category" in self.model_fields_set


class Budgets(Strict):
    """Weekly hour budgets; a meeting that would exceed one is flagged with the figures."""

    non_sales_hours_per_week: Duration = timedelta(hours=5)
    account_management_hours_per_week: Duration = timedelta(hours=6)


class Protections(Strict):
    """How far each protection lets triage go: `keep` (never declined or flagged by a rule or
    a budget) or `flag` (at most flagged). Checked, and named, in this order."""

    accepted: Level = "keep"
    tentative: Level = "keep"
    boss: Level = "keep"
    leadership: Level = "keep"
    never_decline: Level = "keep"
    customer_guest: Level = "keep"


class Triage(Strict):
    """How coachd treats invitations that are not sales. Flag mode never declines."""

    mode: Literal["flag", "decline"] = "flag"
    max_declines_per_tick: int = Field(default=10, ge=0)
    never_decline: list[AddressOrDomain] = Field(default_factory=list)
    customer_domains: list[AddressOrDomain] = Field(default_factory=list)
    internal_domains: list[AddressOrDomain] = Field(default_factory=list)
    groups: dict[str, list[AddressOrDomain]] = Field(default_factory=dict)
    protect: Protections = Protections()
    budgets: Budgets = Budgets()
    rules: list[Rule] = Field(default_factory=list)

    @field_validator("rules")
    @classmethod
    def _unique_names(cls, v: list[Rule]) -> list[Rule]:
        seen: set[str] = set()
        for r in v:
            if r.name in seen:
                raise ValueError(f"rule name {r.name!r} is used twice")
            seen.add(r.name)
        return v

    @field_validator("groups")
    @classmethod
    def _group_names(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for name in v:
            if not re.fullmatch(r"[a-z][a-z0-9_-]*", name):
                raise ValueError(f"group name {name!r}: use lower-case letters, digits, - and _")
            if name in PERSON_CLASSES and name != "leadership":
                raise ValueError(f"group name {name!r} is a built-in class; pick another name")
        return v

    @model_validator(mode="after")
    def _known_names(self) -> Triage:
        known = set(PERSON_CLASSES) | set(self.groups)
        for r in self.rules:
            unknown = sorted(r.match.names() - known)
            if unknown:
                raise ValueError(
                    f"rule {r.name!r}: {unknown[0]!r} is neither an address, a domain, a class "
                    f"({', '.join(PERSON_CLASSES)}) nor a group in triage.groups"
                )
        return self


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


def _default_sources() -> list[AnySource]:
    return [CsvSource()]


class Policy(Strict):
    """The whole of config.yaml."""

    manager: Manager
    team: list[Rep]
    kpis: list[Kpi] = Field(default_factory=list, max_length=MAX_KPIS)
    coaching: Coaching = Coaching()
    triage: Triage = Triage()
    kpi_source: KpiSources = Field(default_factory=_default_sources)
    email: EmailSettings = EmailSettings()
    inbox: InboxSettings = InboxSettings()
    records: RecordSettings = RecordSettings()
    calendar: CalendarSettings = CalendarSettings()
    state: StateSettings = StateSettings()
    audit: Audit = Audit()
    daemon: DaemonSettings = DaemonSettings()

    @field_validator("kpis")
    @classmethod
    def _unique_kpis(cls, v: list[Kpi]) -> list[Kpi]:
        ids = [k.id for k in v]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"KPI id {sorted(dup)[0]!r} is used twice")
        return v

    @field_validator("team")
    @classmethod
    def _unique_reps(cls, v: list[Rep]) -> list[Rep]:
        emails = [r.email for r in v]
        dup = {e for e in emails if emails.count(e) > 1}
        if dup:
            raise ValueError(f"rep {sorted(dup)[0]} is listed twice")
        seen: dict[str, str] = {}
        for e in emails:
            other = seen.setdefault(confusable_key(e), e)
            if other != e:
                raise ValueError(
                    f"rep {e} looks like rep {other} (letters that read alike); "
                    "two addresses on one team must be told apart at a glance"
                )
        return v

    @model_validator(mode="after")
    def _manager_not_confusable(self) -> Policy:
        mine = confusable_key(self.manager.email)
        for r in self.team:
            if r.email != self.manager.email and confusable_key(r.email) == mine:
                raise ValueError(
                    f"team: rep {r.email} looks like the manager's address "
                    f"{self.manager.email} (letters that read alike)"
                )
        return self

    def rep(self, email: str) -> Rep | None:
        return next((r for r in self.team if r.email == email), None)

    def kpi(self, kpi_id: str) -> Kpi | None:
        return next((k for k in self.kpis if k.id == kpi_id), None)
