"""The manager's policy: typed, validated once, passed to the planner piece by piece.

Every model forbids unknown keys, so a misspelled key is an error rather than a silently
ignored setting. Durations read like `30m`, `4h`, `2 weeks`; times are `"HH:MM"` in the
manager's IANA timezone. File paths stay as written; the loader resolves them against the
folder that holds config.yaml.
"""

from __future__ import annotations

from datetime import time, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    Field,
    StrictBool,
    field_validator,
    model_validator,
)

from planner.kpi_sources import AnySource, CsvSource, KpiSources, PeriodFigure
from planner.policy_settings import (
    AgendaEmail,
    Audit,
    AuditTargets,
    CalendarSettings,
    DaemonSettings,
    DigestEmail,
    EmailSettings,
    GoogleSettings,
    ImapSettings,
    InboxMaildir,
    InboxSettings,
    LeadershipReport,
    LocalCalendar,
    MaildirSettings,
    MicrosoftSettings,
    RecordSettings,
    SalesMeetingEmail,
    SmtpSettings,
    StateSettings,
    SummaryEmail,
)
from planner.policy_triage import (
    PERSON_CLASSES,
    REP_AMONG_GUESTS,
    Budgets,
    Category,
    DelegateTo,
    Guests,
    Level,
    Match,
    Protections,
    Response,
    Rule,
    Triage,
    Who,
    WhoList,
)
from planner.policy_types import (
    HHMM,
    AddressOrDomain,
    Day,
    Duration,
    Email,
    HolidayRegion,
    Percent,
    PersonEmail,
    Strict,
    TimeZoneName,
    Weekday,
    confusable_key,
)
from planner.timeutil import format_duration

__all__ = [
    "HHMM",
    "MAX_KPIS",
    "PERSON_CLASSES",
    "REP_AMONG_GUESTS",
    "AddressOrDomain",
    "AgendaEmail",
    "Audit",
    "AuditTargets",
    "Budgets",
    "CalendarSettings",
    "CallReview",
    "Category",
    "Coaching",
    "DaemonSettings",
    "Day",
    "DelegateTo",
    "Derived",
    "DigestEmail",
    "Duration",
    "Email",
    "EmailSettings",
    "GoogleSettings",
    "Guests",
    "HolidayRegion",
    "Huddle",
    "ImapSettings",
    "InboxMaildir",
    "InboxSettings",
    "Kpi",
    "LeadershipReport",
    "Level",
    "LocalCalendar",
    "MaildirSettings",
    "Manager",
    "Match",
    "MicrosoftSettings",
    "OneOnOne",
    "Percent",
    "PersonEmail",
    "Policy",
    "Protections",
    "RampMilestone",
    "RecordSettings",
    "Rep",
    "RepOneOnOne",
    "Response",
    "RideAlong",
    "Rule",
    "SalesMeeting",
    "SalesMeetingEmail",
    "SmtpSettings",
    "Standards",
    "StateSettings",
    "Strict",
    "SummaryEmail",
    "Triage",
    "Weekday",
    "Who",
    "WhoList",
    "Window",
    "confusable_key",
]


MAX_KPIS = 7


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
    timezone: TimeZoneName
    working_hours: Window = Window(start=time(8, 0), end=time(17, 0))
    working_days: list[Weekday] = Field(default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"])
    boss: Email | None = None
    holidays: HolidayRegion | None = None
    out_of_office_words: list[str] = Field(
        default_factory=lambda: ["out of office", "OOO", "vacation", "PTO"]
    )

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
