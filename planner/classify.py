"""Which kind of time an event is: coaching, account management, non-sales, ... or unknown.

The routes, in order (the first that applies wins):

1. coachd's own tag: `coaching` (with the kind, e.g. "coachd one_on_one");
2. the first matching triage rule: that rule's `category`;
3. a title word listed under `audit.categories`: that category;
4. an external guest (or organizer) from `triage.customer_domains`: `account_management`;
5. otherwise `unclassified`: nothing is ever guessed silently.

Callers decide which events to classify: events the manager declined or that were cancelled
take no time and are skipped by the callers (triage budgets, the time audit), not here.
The time audit builds on `classify`; keep its signature stable.
"""

from __future__ import annotations

from typing import Literal

from planner.model import Event
from planner.policy import Category, Policy
from planner.rules import MatchContext, address_matches, first_match, guests, word_hit

__all__ = ["UNCLASSIFIED", "Classification", "classify", "customer_guest"]

UNCLASSIFIED: Literal["unclassified"] = "unclassified"
Classification = tuple[Category | Literal["unclassified"], str]


def customer_guest(policy: Policy, event: Event, ctx: MatchContext) -> str | None:
    """The first external guest or organizer from a customer domain, or None.

    An address inside the manager's own or an internal domain never counts as a customer,
    even if a customer domain is written broadly.
    """
    customers = policy.triage.customer_domains
    if not customers:
        return None
    for who in guests(event):
        if not ctx.is_internal(who) and address_matches(who, customers):
            return who
    return None


def classify(policy: Policy, event: Event, ctx: MatchContext) -> Classification:
    """The event's category and a sentence saying why (see the module docstring)."""
    if event.tag is not None:
        return "coaching", f"coachd {event.tag.kind}"
    found = first_match(policy.triage.rules, event, ctx)
    if found is not None:
        return found.rule.category, found.describe()
    for category, words in policy.audit.categories.items():
        hit = word_hit(words, event.title)
        if hit is not None:
            return category, f"the title word {hit!r} is listed under audit.categories.{category}"
    customer = customer_guest(policy, event, ctx)
    if customer is not None:
        return "account_management", f"the customer guest {customer}"
    return UNCLASSIFIED, "no triage rule, audit keyword or customer guest matched"
