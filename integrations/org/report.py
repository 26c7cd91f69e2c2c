"""The weekly org roll-up (`org.report` in org.yaml): read each manager's last complete
week, aggregate with planner.org_report, and send it to the VP once per ISO week.

Idempotent and crash-safe like every coachd email: the org has its own state file
(`org.report.state`, default state/org/report.json beside org.yaml; TinyDB on the atomic
storage) and the sent-email log beside it; the key is `org_report:<ISO week>`. The mail
transport, sender and templates are the org's defaults (as for a stand-in manager).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from integrations.errors import CoachdError, UserError, describe_os_error
from integrations.kpi.read import read_all
from integrations.mail.render import Rendered
from integrations.org.config import ORG_FILE, Org, OrgLoadedConfig, OrgReport, stand_in_config
from integrations.org.roster import Entry
from integrations.store.state import StateStore
from integrations.tick.app import OverlayKV, open_calendar, open_kpis, open_mailer, open_renderer
from integrations.tick.app import state_path as manager_state_path
from integrations.tick.outbox import Outbox
from planner.actions import SendEmail
from planner.kpi_derive import derive
from planner.org_report import ManagerFigures, manager_figures, org_report_context
from planner.timeutil import WEEKDAYS, Interval, iso_week, local_dt, week_monday

log = logging.getLogger(__name__)


def settings(org: Org) -> OrgReport:
    if org.settings.report is None:
        raise UserError(f"{org.path}: org.report is not set (add to: and optionally regions:)")
    return org.settings.report


def report_week(report: OrgReport, now: datetime) -> date:
    """The Monday of the last complete week, in the report's timezone."""
    return week_monday(now.astimezone(report.tz).date()) - timedelta(weeks=1)


def due_at(report: OrgReport, now: datetime) -> datetime:
    """This week's send time (`day` at `time` in the report's timezone)."""
    monday = week_monday(now.astimezone(report.tz).date())
    return local_dt(monday + timedelta(days=WEEKDAYS.index(report.day)), report.time, report.tz)


def read_figures(loaded: OrgLoadedConfig, week_start: date, now: datetime) -> ManagerFigures:
    """One manager's figures from their calendar (that week and the one before) and their
    KPI sources, read without writing their state (reads reuse its caches)."""
    p = loaded.policy
    tz = p.manager.tz
    window = Interval(
        local_dt(week_start - timedelta(weeks=1), time(0), tz),
        local_dt(week_start + timedelta(weeks=1), time(0), tz),
    )
    with StateStore.open(manager_state_path(loaded), readonly=True, now=now) as store:
        kv = OverlayKV(store)
        events = open_calendar(loaded, kv).read(p.manager.email, window).events
        kpis = read_all(open_kpis(loaded), kv, now)
    return manager_figures(p, events, derive(p, kpis.rows), week_start, now)


def build_context(org: Org, roster: Sequence[Entry], now: datetime) -> dict[str, Any]:
    """The report's context; a manager whose file or calendar cannot be read is listed
    under "not in this report" with the reason, never stops the others."""
    report = settings(org)
    week = report_week(report, now)
    figures: list[ManagerFigures] = []
    missing: dict[str, str] = {}
    for e in roster:
        if e.loaded is None:
            missing[e.email] = "their file has errors (see `coachd org check`)"
            continue
        try:
            figures.append(read_figures(e.loaded, week, now))
        except (CoachdError, OSError) as err:
            text = describe_os_error(err) if isinstance(err, OSError) else str(err)
            missing[e.email] = f"cannot read their calendar or KPIs: {text}"
            log.warning("org report: %s left out: %s", e.email, text)
    known = {e.email for e in roster}
    for region, emails in report.regions.items():
        for addr in emails:
            if addr.lower() not in known:
                log.warning("org.report.regions.%s: %s has no manager file", region, addr)
    return org_report_context(
        org.settings.name, week, figures, regions=report.regions or None, missing=missing
    )


def _sender(org: Org) -> OrgLoadedConfig:
    """The org's defaults on a stand-in for the VP: mail transport, sender, templates."""
    to = settings(org).to[0]
    return stand_in_config(org, to, org.path.parent / ORG_FILE)


def render(org: Org, roster: Sequence[Entry], now: datetime) -> Rendered:
    """The report as it would be sent now (nothing is recorded)."""
    return open_renderer(_sender(org)).render("org_report", build_context(org, roster, now))


def send_if_due(org: Org, roster: Sequence[Entry], now: datetime) -> bool:
    """Send last week's report if this week's send time has passed and it was not sent yet;
    True when it was handed to the transport now."""
    report = settings(org)
    if now < due_at(report, now):
        return False
    key = f"org_report:{iso_week(report_week(report, now))}"
    path = org.base_dir / report.state
    path.parent.mkdir(parents=True, exist_ok=True)
    with StateStore.open(path, now=now) as store:
        rec = store.email_record(key)
        if rec is not None and rec.status == "sent":
            return False
        sender = _sender(org)
        email = sender.policy.email
        if email.transport == "maildir":
            sender.resolve(email.maildir.path).parent.mkdir(parents=True, exist_ok=True)
        outbox = Outbox(
            owner=report.to[0],
            sender=email.sender,
            mailer=open_mailer(sender),
            store=store,
            renderer=open_renderer(sender),
        )
        if key in outbox.sent_log:
            store.mark_email_sent(key, at=now)
            return False
        action = SendEmail(
            key=key,
            kind="org_report",
            to=tuple(report.to),
            context=build_context(org, roster, now),
            reason=f"weekly org report, due {report.day} {report.time:%H:%M} {report.timezone}",
        )
        sent, error = outbox.send(action, now)
    if error:
        log.error("org report: %s", error)
    elif sent:
        log.info("org report %s sent to %s", key, ", ".join(report.to))
    return sent
