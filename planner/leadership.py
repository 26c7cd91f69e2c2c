"""The optional monthly leadership report: due on `audit.leadership_report.day_of_month`."""

from __future__ import annotations

from datetime import date, datetime, time

from planner.actions import SendEmail
from planner.audit import audit_week, leadership_context, month_week_starts
from planner.case_report import open_cases_rows
from planner.model import Snapshot
from planner.policy import Policy
from planner.timeutil import local_dt


def previous_month(d: date) -> tuple[int, int]:
    return (d.year, d.month - 1) if d.month > 1 else (d.year - 1, 12)


def plan_leadership_report(policy: Policy, snapshot: Snapshot, now: datetime) -> list[SendEmail]:
    """The last month's report, once, from its due time until the end of the month.

    Only weeks the snapshot fully covers are counted; a month with none is not reported
    rather than reported as empty.
    """
    lr = policy.audit.leadership_report
    if not lr.enabled:
        return []
    tz = policy.manager.tz
    today = now.astimezone(tz).date()
    due = local_dt(today.replace(day=lr.day_of_month), lr.time, tz)
    if now < due:
        return []
    year, month = previous_month(today)
    key = f"leadership_report:{year}-{month:02d}"
    if key in snapshot.sent:
        return []
    starts = [
        s
        for s in month_week_starts(year, month)
        if local_dt(s, time(0), tz) >= snapshot.window.start
    ]
    if not starts:
        return []
    weeks = [audit_week(policy, snapshot.events, s) for s in starts]
    recipients = tuple(dict.fromkeys([policy.manager.email, *lr.to]))
    return [
        SendEmail(
            key=key,
            kind="leadership_report",
            to=recipients,
            context={
                **leadership_context(policy, weeks),
                "cases": open_cases_rows(policy, snapshot, now),
            },
            reason=(
                f"monthly leadership report for {year}-{month:02d} is due on day "
                f"{lr.day_of_month} at {lr.time:%H:%M}"
            ),
        )
    ]
