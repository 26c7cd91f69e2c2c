"""Triage rule matching: does a rule's `match` block describe this event, and why (not).

A rule matches when every condition it states holds (AND); within a list condition
(`title`, `description`, `organizer`, `response`) any entry is enough (OR); `not` holds when
its own block does not match. Word lists match whole words or phrases in the normalised form
of planner.text (case, accents, typographic quotes and dashes, invisible characters do not
matter), so `desk` matches "Desk booking" but not "Deskside", `comite` matches "Comité", and
a phrase matches across spaces or hyphens ("all hands" matches "All-Hands").

People are named by address, by domain (`acme.com` matches `x@acme.com` and
`x@eu.acme.com`), or by class: `internal` (the manager's or an internal domain), `customer`
(an outside address in `triage.customer_domains`), `external` (neither), `rep` (on the
team), `boss`, `leadership` (the boss and `triage.groups.leadership`), or the name of any
group in `triage.groups`. `guests` counts everyone on the event but the manager (the
organizer included).

Pure: everything the matcher needs about the world is in a `MatchContext`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from planner.model import Event
from planner.policy import Match, Policy, Rule
from planner.text import normalise
from planner.timeutil import Interval, any_overlap, merge

__all__ = [
    "MatchContext",
    "RuleCheck",
    "RuleMatch",
    "address_matches",
    "check_rule",
    "domain_of",
    "explain_match",
    "first_match",
    "guests",
    "hours_text",
    "match_rule",
    "matching_caps",
    "word_hit",
]

_RESPONSE = {
    "needsAction": "needs_action",
    "tentative": "tentative",
    "accepted": "accepted",
    "declined": "declined",
}


@dataclass(frozen=True)
class MatchContext:
    """What matching needs beyond the event: who the manager is, who counts as what, and
    where coaching sits. `coaching` holds sorted, merged intervals (use `build`)."""

    manager_email: str
    manager_domain: str
    internal_domains: tuple[str, ...] = ()
    coaching: tuple[Interval, ...] = ()
    boss: str = ""
    reps: frozenset[str] = frozenset()
    customer_domains: tuple[str, ...] = ()
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def build(cls, policy: Policy, coaching: Iterable[Interval] = ()) -> MatchContext:
        """The context for a policy and this tick's coaching blocks (merged here)."""
        return cls(
            manager_email=policy.manager.email.lower(),
            manager_domain=policy.manager.domain.lower(),
            internal_domains=tuple(d.lower() for d in policy.triage.internal_domains),
            coaching=tuple(merge(coaching)),
            boss=(policy.manager.boss or "").lower(),
            reps=frozenset(r.email.lower() for r in policy.team),
            customer_domains=tuple(policy.triage.customer_domains),
            groups={k: tuple(v) for k, v in policy.triage.groups.items()},
        )

    def is_internal(self, address: str) -> bool:
        """Whether an address belongs to the manager's domain or an internal domain."""
        return address_matches(address, (self.manager_domain, *self.internal_domains))

    def is_customer(self, address: str) -> bool:
        """An outside address from a customer domain (never one of the manager's own)."""
        return not self.is_internal(address) and address_matches(address, self.customer_domains)

    def is_(self, address: str, who: str) -> bool:
        """Whether an address is `who`: an address, a domain, a class or a group name."""
        a = address.strip().lower()
        if who == "internal":
            return self.is_internal(a)
        if who == "customer":
            return self.is_customer(a)
        if who == "external":
            return not self.is_internal(a) and not self.is_customer(a)
        if who == "rep":
            return a in self.reps
        if who == "boss":
            return bool(self.boss) and a == self.boss
        if who == "leadership":
            return (bool(self.boss) and a == self.boss) or address_matches(
                a, self.groups.get("leadership", ())
            )
        if who in self.groups:
            return address_matches(a, self.groups[who])
        return address_matches(a, (who,))

    def first_who(self, address: str, entries: Iterable[str]) -> str | None:
        """The first entry that the address is, or None."""
        return next((w for w in entries if self.is_(address, w)), None)


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


@functools.lru_cache(maxsize=4096)
def _normal(text: str) -> str:
    return normalise(text)


@functools.lru_cache(maxsize=1024)
def _word_pattern(term: str) -> re.Pattern[str] | None:
    # Words of a phrase may be separated by any run of spaces, hyphens or underscores;
    # lookarounds instead of \b so terms that start or end with punctuation ("Q&A") work.
    parts = [re.escape(p) for p in re.split(r"[\s\-_]+", _normal(term)) if p]
    if not parts:
        return None
    body = r"[\s\-_]+".join(parts)
    return re.compile(rf"(?<!\w){body}(?!\w)")


def word_hit(terms: Iterable[str], text: str) -> str | None:
    """The first term found in text as a whole word or phrase (normalised), or None."""
    normal = _normal(text)
    for term in terms:
        pattern = _word_pattern(term)
        if pattern is not None and pattern.search(normal):
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


@dataclass(frozen=True)
class RuleCheck:
    """One rule checked against one event: whether it matched, and the phrases saying why
    (every condition that held) or why not (the first condition that failed)."""

    rule: Rule
    matched: bool
    because: tuple[str, ...]

    def describe(self) -> str:
        """`matched the title word 'desk'` or `not matched: the title has none of 'desk'`."""
        if self.matched:
            return "matched " + (" and ".join(self.because) or "every invitation")
        return "not matched: " + "; ".join(self.because)


def check_rule(rule: Rule, event: Event, ctx: MatchContext) -> RuleCheck:
    """The rule checked against the event, with reasons either way (for `coachd explain`)."""
    ok, why = _check(rule.match, event, ctx)
    return RuleCheck(rule, ok, tuple(why))


def explain_match(rule: Rule, event: Event, ctx: MatchContext) -> tuple[str, ...] | None:
    """The phrases saying why `rule` matches `event`, or None when it does not match."""
    ok, why = _check(rule.match, event, ctx)
    return tuple(why) if ok else None


def _quoted(items: Iterable[object]) -> str:
    return ", ".join(repr(i) for i in items)


def _people(event: Event, ctx: MatchContext) -> list[str]:
    """Everyone on the event but the manager, organizer included."""
    return [p for p in guests(event) if p != ctx.manager_email]


def _check(m: Match, event: Event, ctx: MatchContext) -> tuple[bool, list[str]]:
    """(True, every reason) when all conditions hold, else (False, [the first failure])."""
    why: list[str] = []
    for step in (_check_text, _check_guests, _check_people, _check_shape):
        failure = step(m, event, ctx, why)
        if failure is not None:
            return False, [failure]
    if m.negate is not None:
        inner_ok, inner_why = _check(m.negate, event, ctx)
        if inner_ok:
            return False, [f"`not` failed: {' and '.join(inner_why) or 'its block matches'}"]
        why.append(f"not ({inner_why[0]})" if inner_why else "not")
    return True, why


def _check_text(m: Match, event: Event, ctx: MatchContext, why: list[str]) -> str | None:
    """Check title, title_regex, description and organizer, in that order.

    Appends a reason to `why` for each condition that holds; returns the first
    failure's phrase, or None when all of them hold.
    """
    if m.title:
        hit = word_hit(m.title, event.title)
        if hit is None:
            return f"the title has none of {_quoted(m.title)}"
        why.append(f"the title {_kind(hit)} {hit!r}")
    if m.title_regex is not None:
        found = re.search(m.title_regex, event.title, re.IGNORECASE)
        if found is None:
            return f"the title does not match title_regex {m.title_regex!r}"
        # The text that matched says more to a person than the (often long) pattern does.
        why.append(f"the title text {found.group(0)!r} (title_regex)")
    if m.description:
        hit = word_hit(m.description, event.description)
        if hit is None:
            return f"the description has none of {_quoted(m.description)}"
        why.append(f"the description {_kind(hit)} {hit!r}")
    if m.organizer:
        org = (event.organizer or "").lower()
        entry = ctx.first_who(org, m.organizer) if org else None
        if entry is None:
            return f"the organizer {org or '(none)'} is none of {_quoted(m.organizer)}"
        why.append(f"the organizer {org} ({entry!r})")
    return None


def _check_guests(m: Match, event: Event, ctx: MatchContext, why: list[str]) -> str | None:
    """Check the `guests` condition (how many guests are among its `who`).

    Appends the reason to `why` when it holds; returns the failure's phrase, or None.
    """
    if m.guests is None:
        return None
    g = m.guests
    among = [p for p in _people(event, ctx) if ctx.first_who(p, g.who) is not None]
    n, who = len(among), " or ".join(g.who)
    if n < g.at_least:
        return f"{n} of the guests {'is' if n == 1 else 'are'} {who} (at least {g.at_least} needed)"
    if g.at_most is not None and n > g.at_most:
        return f"{n} of the guests are {who} (at most {g.at_most} allowed)"
    named = f": {', '.join(among[:3])}{', ...' if n > 3 else ''}" if among else ""
    why.append(f"{n} {who} among the guests{named}")
    return None


def _check_people(m: Match, event: Event, ctx: MatchContext, why: list[str]) -> str | None:
    """Check response, min/max_attendees and internal_only, in that order.

    Appends a reason to `why` for each condition that holds; returns the first
    failure's phrase, or None when all of them hold.
    """
    if m.response:
        said = _RESPONSE.get(event.self_status or "", "none")
        if said not in m.response:
            return f"your response is {said}, not {' or '.join(m.response)}"
        why.append(f"your response {said}")
    people = guests(event)
    if m.min_attendees is not None:
        if len(people) < m.min_attendees:
            return f"{len(people)} people invited (fewer than {m.min_attendees})"
        why.append(f"{len(people)} people invited (at least {m.min_attendees})")
    if m.max_attendees is not None:
        if len(people) > m.max_attendees:
            return f"{len(people)} people invited (more than {m.max_attendees})"
        why.append(f"{len(people)} people invited (at most {m.max_attendees})")
    if m.internal_only is not None:
        external = [p for p in people if not ctx.is_internal(p)]
        if m.internal_only and external:
            return f"an external guest ({external[0]})"
        if not m.internal_only and not external:
            return "only internal guests"
        why.append(
            "only internal guests" if m.internal_only else f"an external guest ({external[0]})"
        )
    return None


def _check_shape(m: Match, event: Event, ctx: MatchContext, why: list[str]) -> str | None:
    """Check recurring, min/max_duration and overlaps_coaching, in that order.

    Appends a reason to `why` for each condition that holds; returns the first
    failure's phrase, or None when all of them hold.
    """
    if m.recurring is not None:
        if event.recurring != m.recurring:
            return "a one-off meeting" if m.recurring else "a recurring meeting"
        why.append("a recurring meeting" if m.recurring else "a one-off meeting")
    length = event.interval.duration  # elapsed time, right across DST
    if m.min_duration is not None:
        if length < m.min_duration:
            return f"a length of {hours_text(length)} (shorter than {hours_text(m.min_duration)})"
        why.append(f"a length of {hours_text(length)} (at least {hours_text(m.min_duration)})")
    if m.max_duration is not None:
        if length > m.max_duration:
            return f"a length of {hours_text(length)} (longer than {hours_text(m.max_duration)})"
        why.append(f"a length of {hours_text(length)} (at most {hours_text(m.max_duration)})")
    if m.overlaps_coaching is not None:
        overlaps = any_overlap(event.interval, list(ctx.coaching))
        said = "an overlap with a coaching block" if overlaps else "no overlap with coaching"
        if overlaps != m.overlaps_coaching:
            return said
        why.append(said)
    return None


def first_match(rules: Sequence[Rule], event: Event, ctx: MatchContext) -> RuleMatch | None:
    """The first deciding rule (one with an `action`) that matches, with the reasons."""
    for rule in rules:
        if rule.action is None:
            continue
        ok, because = _check(rule.match, event, ctx)
        if ok:
            return RuleMatch(rule, tuple(because))
    return None


def matching_caps(rules: Sequence[Rule], event: Event, ctx: MatchContext) -> list[RuleMatch]:
    """Every capping rule (one with `at_most`) that matches, in the order written."""
    out = []
    for rule in rules:
        if rule.at_most is None:
            continue
        ok, because = _check(rule.match, event, ctx)
        if ok:
            out.append(RuleMatch(rule, tuple(because)))
    return out


def match_rule(rules: Sequence[Rule], event: Event, ctx: MatchContext) -> Rule | None:
    """The first deciding rule whose every condition holds for the event, or None."""
    found = first_match(rules, event, ctx)
    return found.rule if found else None
