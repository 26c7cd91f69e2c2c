"""What limits a triage decision: the protections that cap it (own, accepted, boss,
never_decline, customer ...), the weekly budgets, and clashes with coaching."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from planner.classify import classify, customer_guest
from planner.contexts import fmt_datetime, fmt_time
from planner.model import Event
from planner.policy import Policy
from planner.rules import (
    MatchContext,
    address_matches,
    guests,
    hours_text,
)
from planner.timeutil import week_monday
from planner.triage_inputs import BUDGETED, Invitation, Protection


def protections(policy: Policy, event: Event, ctx: MatchContext) -> list[Protection]:
    """Every protection that applies to the event, in the documented order (see
    `PROTECTION_ORDER`), each with its level from `triage.protect`."""
    manager = ctx.manager_email
    if event.organizer is None:
        return [
            Protection(
                "protected:organizer-is-manager", "it has no organizer, so it counts as your own"
            )
        ]
    organizer = event.organizer.lower()
    if organizer == manager:
        return [Protection("protected:organizer-is-manager", "you organize this meeting")]
    return [
        *_answer_protections(policy, event),
        *_organizer_protections(policy, organizer, ctx),
        *_guest_protections(policy, event, ctx, organizer),
    ]


def _answer_protections(policy: Policy, event: Event) -> list[Protection]:
    """Protections from the manager's own answer: already accepted, then tentative."""
    levels = policy.triage.protect
    out: list[Protection] = []
    if event.self_status == "accepted":
        out.append(
            Protection("protected:already-accepted", "you already accepted it", levels.accepted)
        )
    if event.self_status == "tentative":
        out.append(Protection("protected:tentative", "you answered tentative", levels.tentative))
    return out


def _organizer_protections(policy: Policy, organizer: str, ctx: MatchContext) -> list[Protection]:
    """Protections from who organizes it: the boss (else leadership), then never_decline."""
    levels = policy.triage.protect
    boss = (policy.manager.boss or "").lower()
    out: list[Protection] = []
    if boss and organizer == boss:
        out.append(Protection("protected:boss", f"your boss {boss} organizes it", levels.boss))
    elif ctx.is_(organizer, "leadership"):
        out.append(
            Protection(
                "protected:leadership",
                f"the organizer {organizer} is leadership (triage.groups.leadership)",
                levels.leadership,
            )
        )
    entry = _entry_for(organizer, policy.triage.never_decline)
    if entry is not None:
        out.append(
            Protection(
                "protected:never-decline",
                f"the organizer {organizer} is on triage.never_decline ({entry!r})",
                levels.never_decline,
            )
        )
    return out


def _guest_protections(
    policy: Policy, event: Event, ctx: MatchContext, organizer: str
) -> list[Protection]:
    """Protections from the guests: the boss invited, the first never_decline guest (other
    than the organizer), then a guest from a customer domain."""
    levels = policy.triage.protect
    boss = (policy.manager.boss or "").lower()
    never = policy.triage.never_decline
    people = guests(event)
    out: list[Protection] = []
    if boss and organizer != boss and boss in people:
        out.append(Protection("protected:boss", f"your boss {boss} is invited", levels.boss))
    for who in people:
        entry = _entry_for(who, never)
        if who != organizer and entry is not None:
            out.append(
                Protection(
                    "protected:never-decline",
                    f"the guest {who} is on triage.never_decline ({entry!r})",
                    levels.never_decline,
                )
            )
            break
    customer = customer_guest(policy, event, ctx)
    if customer is not None:
        out.append(
            Protection(
                "protected:customer-guest",
                f"{customer} is a guest from a customer domain",
                levels.customer_guest,
            )
        )
    return out


def protection(policy: Policy, event: Event, ctx: MatchContext) -> Protection | None:
    """The protection that limits triage most: the first (in the documented order) of the
    strictest level that applies, or None when nothing protects the event."""
    found = protections(policy, event, ctx)
    return next((p for p in found if p.level == "keep"), found[0] if found else None)


def _entry_for(address: str, entries: Sequence[str]) -> str | None:
    return next((e for e in entries if address_matches(address, (e,))), None)


@dataclass
class _Budgets:
    """Each week's hours per budgeted category, as the plan for this tick stands."""

    policy: Policy
    ctx: MatchContext
    used: dict[tuple[date, str], timedelta]

    @classmethod
    def build(
        cls,
        policy: Policy,
        ctx: MatchContext,
        events: Iterable[Event],
        deciding: set[str],
        weeks: set[date],
    ) -> _Budgets:
        """Count the meetings already on the calendar (accepted or pending) in the given weeks.

        Upcoming invitations (`deciding`) are left out: they are added in time order, as each
        decision keeps them. Declined and cancelled events take no time and are skipped;
        all-day events are skipped too (a day-long marker is not hours in meetings).
        """
        used: dict[tuple[date, str], timedelta] = defaultdict(timedelta)
        tz = policy.manager.tz
        for e in events:
            if e.id in deciding or e.all_day or not e.blocks_time():
                continue
            week = week_monday(e.start.astimezone(tz).date())
            if week not in weeks:
                continue
            category, _ = classify(policy, e, ctx)
            if category in BUDGETED:
                used[(week, category)] += e.interval.duration
        return cls(policy, ctx, used)

    def limit(self, category: str) -> timedelta:
        b = self.policy.triage.budgets
        if category == "non_sales":
            return b.non_sales_hours_per_week
        return b.account_management_hours_per_week

    def load(self, inv: Invitation) -> tuple[date, timedelta]:
        """The invitation's week and its hours in that week (every occurrence of a series)."""
        tz = self.policy.manager.tz
        week = week_monday(inv.event.start.astimezone(tz).date())
        hours = sum(
            (
                e.interval.duration
                for e in inv.members
                if not e.all_day and week_monday(e.start.astimezone(tz).date()) == week
            ),
            timedelta(),
        )
        return week, hours

    def excess(self, inv: Invitation, category: str) -> str | None:
        """The figures when keeping the invitation would exceed its category's budget."""
        if category not in BUDGETED or inv.event.all_day:
            return None
        week, hours = self.load(inv)
        used, limit = self.used[(week, category)], self.limit(category)
        if used + hours <= limit:
            return None
        label = "non-sales" if category == "non_sales" else "account-management"
        return (
            f"{label} meetings this week: {hours_text(used)} + {hours_text(hours)} would exceed "
            f"the {hours_text(limit)} budget"
        )

    def add(self, inv: Invitation, category: str) -> None:
        if category in BUDGETED and not inv.event.all_day:
            week, hours = self.load(inv)
            self.used[(week, category)] += hours


def _conflict(inv: Invitation, ctx: MatchContext, policy: Policy) -> str | None:
    """`overlaps coaching time Tue 1 Dec 2026 10:00-10:30` for the first clash, or None."""
    tz = policy.manager.tz
    for e in inv.members:
        for block in ctx.coaching:
            if block.overlaps(e.interval):
                s, t = block.start.astimezone(tz), block.end.astimezone(tz)
                return f"overlaps coaching time {fmt_datetime(s)}-{fmt_time(t)}"
            if block.start >= e.end:
                break
    return None
