"""A plausible month of the sample manager's calendar, and the audit and leadership report
built from it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, time, timedelta
from typing import Any

from planner.audit import (
    AuditWeek,
    Bucket,
    audit_email_context,
    audit_weeks,
    leadership_context,
)
from planner.model import Attendee, CoachdTag, Event, PartStat
from planner.policy import Policy
from planner.samples.team import sample_policy
from planner.timeutil import local_dt

_DAY = timedelta(days=1)


def sample_events(policy: Policy, last_week_start: date, weeks: int = 4) -> list[Event]:
    """A plausible month of a sales manager's calendar, coaching growing week by week."""
    tz = policy.manager.tz
    me = policy.manager.email
    out: list[Event] = []

    def add(
        d: date,
        hh: int,
        mm: int,
        mins: int,
        title: str,
        org: str,
        kind: str = "",
        status: PartStat = "accepted",
    ) -> None:
        start = local_dt(d, time(hh, mm), tz)
        n = len(out)
        tag = CoachdTag(f"{kind}:-:{d}", kind, None, str(d)) if kind else None
        out.append(
            Event(
                id=f"sample-{n}",
                uid=f"sample-{n}",
                calendar=me,
                title=title,
                start=start,
                end=start + timedelta(minutes=mins),
                organizer=org,
                attendees=(Attendee(me, status="accepted"),),
                self_status=None if org == me else status,
                tag=tag,
            )
        )

    for n in range(weeks):
        mon = last_week_start - 7 * _DAY * (weeks - 1 - n)
        for day in (0, 2, 4):
            add(mon + day * _DAY, 8, 30, 15, "Team huddle", me, "huddle")
        add(mon + _DAY, 10, 0, 60, "Sales meeting: discovery questions", me, "sales_meeting")
        for i, rep in enumerate(policy.team):
            add(mon + (1 + i % 3) * _DAY, 14, 0, 30, f"1:1 {rep.name}", me, "one_on_one")
        if n >= 1:
            ride = f"Ride-along: {policy.team[1].name}"
            add(mon + 3 * _DAY, 8, 0, 240 + 60 * n, ride, me, "ride_along")
        add(mon, 13, 0, 45, "Call review", me, "call_review")
        add(mon + 2 * _DAY, 9, 0, 90 - 15 * n, "Facilities committee", "ops@acme-hq.example")
        add(mon + 4 * _DAY, 11, 0, 120 - 30 * (n % 2), "Key account review: Globex", me)
        add(mon + 4 * _DAY, 15, 0, 60, "Interview: SDR candidate", "talent@acme-hq.example")
        add(mon, 15, 0, 60, "Quarterly compliance training", "hr@acme-hq.example")
        add(mon + 3 * _DAY, 16, 0, 30, "Catch-up", "vp@acme-hq.example")
        add(mon + 2 * _DAY, 13, 0, 45 if n < 2 else 60, "Call review", me, "call_review")
        add(mon + 1 * _DAY, 12, 0, 60, "Dentist", me)
        add(mon + 2 * _DAY, 18, 30, 120, "Customer dinner: Initech", "buyer@initech.example")
        if n >= 2:
            add(
                mon + 3 * _DAY,
                13,
                0,
                60,
                "Office move planning",
                "ops@acme-hq.example",
                status="declined",
            )
    return out


_SAMPLE_CATEGORIES: Mapping[str, Bucket] = {
    "facilities": "non_sales",
    "compliance": "non_sales",
    "key account": "account_management",
    "interview": "recruiting",
    "customer dinner": "account_management",
    "dentist": "personal",
}


def _sample_classifier(ev: Event) -> tuple[str, str]:
    low = ev.title.lower()
    for word, cat in _SAMPLE_CATEGORIES.items():
        if word in low:
            return cat, f"title mentions {word!r}"
    return "unclassified", "no rule or category matched"


def sample_audit_weeks(weeks: int = 4) -> tuple[Policy, list[AuditWeek]]:
    """The sample policy and its audited weeks (fixed dates: the month before 30 Nov 2026)."""
    policy = sample_policy()
    last = date(2026, 11, 23)
    events = sample_events(policy, last, weeks)
    return policy, audit_weeks(policy, events, last, weeks, classifier=_sample_classifier)


def sample_audit_context() -> dict[str, Any]:
    """A complete `audit` email context from sample data, for `coachd check` and previews."""
    policy, weeks = sample_audit_weeks()
    return audit_email_context(policy, weeks)


def sample_leadership_context() -> dict[str, Any]:
    """A complete `leadership_report` email context from the same sample month."""
    policy, weeks = sample_audit_weeks()
    return leadership_context(policy, weeks)


def audit_sample(kind: str) -> dict[str, Any]:
    """Sample context for the email kinds this module owns; KeyError for any other kind."""
    if kind == "audit":
        return sample_audit_context()
    if kind == "leadership_report":
        return sample_leadership_context()
    raise KeyError(kind)
