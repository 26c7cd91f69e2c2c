"""`coachd preview` and `coachd audit`: render from the real calendar without sending."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from integrations.config_file import LoadedConfig
from integrations.errors import UserError
from integrations.store.state import StateStore
from integrations.tick.app import OverlayKV, open_calendar, open_renderer, read_current, state_path
from planner.audit import (
    AuditWeek,
    audit_email_context,
    audit_weeks,
    leadership_context,
    month_week_starts,
)
from planner.case_report import open_cases_rows
from planner.coaching import plan_coaching
from planner.emails import preview_context
from planner.leadership import previous_month
from planner.timeutil import Interval, local_dt, week_monday


def audit_weeks_now(
    loaded: LoadedConfig, now: datetime, weeks: int, *, current: bool = True
) -> list[AuditWeek]:
    """Audit the current week (its planned calendar) and the `weeks - 1` before it; with
    `current=False` the last complete week and the `weeks - 1` before it (what `coachd
    audit` shows by default: a running week holds future bookings, not hours spent)."""
    if not 1 <= weeks <= 52:
        raise UserError(f"--weeks must be between 1 and 52 (got {weeks})")
    p = loaded.policy
    tz = p.manager.tz
    this_monday = week_monday(now.astimezone(tz).date())
    if not current:
        this_monday -= timedelta(weeks=1)
    first = this_monday - timedelta(weeks=weeks - 1)
    window = Interval(
        local_dt(first, time(0), tz), local_dt(this_monday + timedelta(days=7), time(0), tz)
    )
    with StateStore.open(state_path(loaded), readonly=True, now=now) as store:
        cal = open_calendar(loaded, OverlayKV(store))
        events = cal.read(p.manager.email, window).events
    return audit_weeks(p, events, this_monday, weeks)


def _leadership(loaded: LoadedConfig, now: datetime) -> dict[str, Any]:
    """The leadership report for the last complete month."""
    local = now.astimezone(loaded.policy.manager.tz).date()
    year, month = previous_month(local)
    starts = month_week_starts(year, month)
    this_monday = week_monday(local)
    back = (this_monday - starts[0]).days // 7 + 1
    weeks = audit_weeks_now(loaded, now, back)
    return leadership_context(loaded.policy, [w for w in weeks if w.week_start in starts])


def render_preview(
    loaded: LoadedConfig, kind: str, *, rep: str | None, now: datetime, html: bool
) -> str:
    """Render one email kind from the current calendar and KPIs; the HTML or the text part."""
    p = loaded.policy
    if rep is not None and p.rep(rep.lower()) is None:
        raise UserError(f"--rep {rep}: not on the team ({', '.join(r.email for r in p.team)})")
    if kind == "audit":
        context = audit_email_context(p, audit_weeks_now(loaded, now, 4))
    elif kind == "leadership_report":
        context = _leadership(loaded, now)
        with StateStore.open(state_path(loaded), readonly=True, now=now) as store:
            kv = OverlayKV(store)
            snapshot = read_current(loaded, store, now, open_calendar(loaded, kv), kv=kv).snapshot
        context["cases"] = open_cases_rows(p, snapshot, now)
    elif kind == "case_report":
        from integrations.commands.case_report import case_context

        if rep is None:
            raise UserError("preview case_report needs --rep EMAIL")
        context = case_context(loaded, rep, now)
    else:
        with StateStore.open(state_path(loaded), readonly=True, now=now) as store:
            kv = OverlayKV(store)
            snapshot = read_current(loaded, store, now, open_calendar(loaded, kv), kv=kv).snapshot
        coaching = plan_coaching(p, snapshot, now)
        context = preview_context(
            p,
            snapshot,
            now,
            kind,
            coaching.blocks,
            rep=rep.lower() if rep else None,
            needs=coaching.needs,
        )
    rendered = open_renderer(loaded).render(kind, context)
    if html:
        return rendered.html
    return f"Subject: {rendered.subject}\n\n{rendered.text}"
