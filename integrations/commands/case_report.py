"""`coachd case report REP`: the rep's coaching case as one HTML document (and its text)."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta

from integrations.config_file import LoadedConfig
from integrations.errors import CoachdError, UserError
from integrations.mail.render import Rendered
from integrations.store.state import StateStore
from integrations.tick.app import OverlayKV, open_calendar, open_renderer, read_current, state_path
from planner.case_report import case_report_context
from planner.timeutil import Interval, local_dt

log = logging.getLogger(__name__)


def case_context(loaded: LoadedConfig, rep: str, now: datetime) -> dict[str, object]:
    """The `case_report` context for `rep`, read now (the calendar from a week before the
    case opened, so every coaching block since is counted). Writes nothing."""
    p = loaded.policy
    who = p.rep(rep.strip().lower())
    if who is None:
        raise UserError(f"{rep}: not on the team ({', '.join(r.email for r in p.team)})")
    with StateStore.open(state_path(loaded), readonly=True, now=now) as store:
        kv = OverlayKV(store)
        cal = open_calendar(loaded, kv)
        snapshot = read_current(loaded, store, now, cal, kv=kv).snapshot
        record = snapshot.records.get(who.email)
        if record is None:
            raise UserError(f"{who.email}: no readable record in {p.records.dir}/")
        case = record.open_case() or (record.cases[-1] if record.cases else None)
        if case is None:
            raise UserError(f"{who.email}: no coaching case in {p.records.dir}/{who.email}.md")
        tz = p.manager.tz
        start = local_dt(case.opened - timedelta(days=7), time(0), tz)
        events = list(snapshot.events)
        if start < snapshot.window.start:
            try:
                events = cal.read(p.manager.email, Interval(start, snapshot.window.end)).events
            except CoachdError as e:
                log.warning("calendar before %s not read (%s): the report counts less", start, e)
    return case_report_context(p, snapshot, who.email, record, now, events)


def render_case_report(loaded: LoadedConfig, rep: str, now: datetime) -> Rendered:
    """The rendered report (subject, text, HTML) through the email renderer's sandbox."""
    return open_renderer(loaded).render("case_report", case_context(loaded, rep, now))
