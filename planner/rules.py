"""Triage rule matching: does a rule's `match` block describe this event, and why.

A rule matches when every condition it states holds (AND); within a list condition
(`title`, `description`, `organizer`) any entry is enough (OR). The first rule that matches
wins. Word lists match whole words or phrases, case-insensitively, so `desk` matches
"Desk booking" but not "Deskside"; a phrase matches across spaces or hyphens ("all hands"
matches "All-Hands"). Addresses and domains match exactly or as a parent domain
(`acme.com` matches `x@acme.com` and `x@eu.acme.com`).

Pure: everything the matcher needs about the world is in a `MatchContext`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from planner.model import Event
from planner.policy import Match, Policy, Rule
from planner.timeutil import Interval, any_overlap, merge

__all__ = [
    "MatchContext",
    "RuleMatch",
    "address_matches",
    "domain_of",
    "explain_match",
    "first_match",
    "guests",
    "hours_text",
    "match_rule",
    "word_hit",
]


@dataclass(frozen=True)
class MatchContext:
    """What matching needs beyond the event: who the manager is and where coaching sits.

    `coaching` holds the coaching blocks as sorted, merged intervals (use `build`).
    """

    manager_email: str
    manager_domain: str
    internal_domains: tuple[str, ...] = ()
    coaching: tuple[Interval, ...] = ()

    @classmethod
    def build(cls, policy: Policy, coaching: Iterable[Interval] = ()) -> MatchContext:
        """The context for a policy and this tick's coaching blocks (merged here)."""
        return cls(
            manager_email=policy.manager.email.lower(),
            manager_domain=policy.manager.domain.lower(),
            internal_domains=tuple(d.lower() for d in policy.triage.internal_domains),
            coaching=tuple(merge(coaching)),
        )

    def is_internal(self, address: str) -> bool:
        """Whether an address belongs to the manager's domain or an internal domain."""
        return address_matches(address, (self.manager_domain, *self.internal_domains))


@dataclass(frozen=True)
class RuleMatch:
    """A rule that matched and the conditions that made it match, as readable phrases."""

    rule: Rule
    because: tuple[str, ...]

    def describe(self) -> str:
        """`rule 'facilities' matched the title word 'desk'`."""
        if not self.because:
            return f"rule {self.rule.name!r} matches every invitation"
        return f"rule {self.rule.name!r} matched " + " and ".join(self.because)


def domain_of(address: str) -> str:
    """The lower-cased domain of an address (`''` when there is none)."""
    return address.rsplit("@", 1)[1].lower() if "@" in address else ""


def address_matches(address: str, entries: Iterable[str]) -> bool:
    """True if the address equals an entry, or its domain is an entry or a subdomain of one."""
    return _first_entry(address, entries) is not None


def _first_entry(address: str, entries: Iterable[str]) -> str | None:
    addr = address.strip().lower()
    dom = domain_of(addr)
    for raw in entries:
        entry = raw.strip().lower().lstrip("@")
        if not entry:
            continue
        if "@" in entry:
            if addr == entry:
                return raw
        elif dom and (dom == entry or dom.endswith("." + entry)):
            return raw
    return None


def guests(event: Event) -> list[str]:
    """Everyone on the event, organizer included, lower-cased and without duplicates."""
    seen: dict[str, None] = {}
    if event.organizer:
        seen[event.organizer.lower()] = None
    for a in event.attendees:
        if a.email:
            seen[a.email.lower()] = None
    return list(seen)


@functools.lru_cache(maxsize=1024)
def _word_pattern(term: str) -> re.Pattern[str]:
    # Words of a phrase may be separated by any run of spaces, hyphens or underscores;
    # lookarounds instead of \b so terms that start or end with punctuation ("Q&A") work.
    parts = [re.escape(p) for p in re.split(r"[\s\-_]+", term.strip()) if p]
    body = r"[\s\-_]+".join(parts)
    return re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)


def word_hit(terms: Iterable[str], text: str) -> str | None:
    """The first term found in text as a whole word or phrase (case-insensitive), or None."""
    for term in terms:
        if term.strip() and _word_pattern(term).search(text):
            return term
    return None


def _kind(term: str) -> str:
    return "phrase" if re.search(r"[\s\-_]", term.strip()) else "word"


def hours_text(td: timedelta) -> str:
    """`4h30`, `1h`, `45m`: how people write a length of time in a sentence."""
    h, m = divmod(round(td.total_seconds() / 60), 60)
    if h and m:
        return f"{h}h{m:02d}"
    return f"{h}h" if h else f"{m}m"


def explain_match(rule: Rule, event: Event, ctx: MatchContext) -> tuple[str, ...] | None:
    """The phrases saying why `rule` matches `event`, or None when it does not match."""
    return _explain(rule.match, event, ctx)


def _explain(m: Match, event: Event, ctx: MatchContext) -> tuple[str, ...] | None:
    why: list[str] = []
    if m.title:
        hit = word_hit(m.title, event.title)
        if hit is None:
            return None
        why.append(f"the title {_kind(hit)} {hit!r}")
    if m.title_regex is not None:
        found = re.search(m.title_regex, event.title, re.IGNORECASE)
        if found is None:
            return None
        # The text that matched says more to a person than the (often long) pattern does.
        why.append(f"the title text {found.group(0)!r} (title_regex)")
    if m.description:
        hit = word_hit(m.description, event.description)
        if hit is None:
            return None
        why.append(f"the description {_kind(hit)} {hit!r}")
    if m.organizer:
        entry = _first_entry(event.organizer, m.organizer) if event.organizer else None
        if entry is None:
            return None
        why.append(f"the organizer {event.organizer} ({entry!r})")
    people = guests(event)
    if m.min_attendees is not None:
        if len(people) < m.min_attendees:
            return None
        why.append(f"{len(people)} people invited (at least {m.min_attendees})")
    if m.max_attendees is not None:
        if len(people) > m.max_attendees:
            return None
        why.append(f"{len(people)} people invited (at most {m.max_attendees})")
    if m.internal_only is not None:
        external = [p for p in people if not ctx.is_internal(p)]
        if m.internal_only and external:
            return None
        if not m.internal_only and not external:
            return None
        why.append(
            "only internal guests" if m.internal_only else f"an external guest ({external[0]})"
        )
    if m.recurring is not None:
        if event.recurring != m.recurring:
            return None
        why.append("a recurring meeting" if m.recurring else "a one-off meeting")
    length = event.interval.duration  # elapsed time, right across DST
    if m.min_duration is not None:
        if length < m.min_duration:
            return None
        why.append(f"a length of {hours_text(length)} (at least {hours_text(m.min_duration)})")
    if m.max_duration is not None:
        if length > m.max_duration:
            return None
        why.append(f"a length of {hours_text(length)} (at most {hours_text(m.max_duration)})")
    if m.overlaps_coaching is not None:
        overlaps = any_overlap(event.interval, list(ctx.coaching))
        if overlaps != m.overlaps_coaching:
            return None
        why.append("an overlap with a coaching block" if overlaps else "no overlap with coaching")
    return tuple(why)


def first_match(rules: Sequence[Rule], event: Event, ctx: MatchContext) -> RuleMatch | None:
    """The first rule that matches the event, with the reasons; None when none does."""
    for rule in rules:
        because = _explain(rule.match, event, ctx)
        if because is not None:
            return RuleMatch(rule, because)
    return None


def match_rule(rules: Sequence[Rule], event: Event, ctx: MatchContext) -> Rule | None:
    """The first rule whose every condition holds for the event, or None."""
    found = first_match(rules, event, ctx)
    return found.rule if found else None
