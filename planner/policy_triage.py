"""The triage section of the policy: who is who among guests, the rules that decide a
meeting, budgets and protections."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    field_validator,
    model_validator,
)

from planner.policy_types import (
    AddressOrDomain,
    Duration,
    Strict,
    _address_or_domain,
    _email,
)

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
