"""Checkpoints of open coaching cases, booked as one-on-ones (pure).

For each open case in a rep's record, each checkpoint date inside the horizon needs a
one-on-one in its ISO week: the regular cadence's one counts; when there is none, one is
booked in that week (key `one_on_one:<rep>:<ISO week>`, the same lifecycle as any
one-on-one: moved, rebooked or reported like the others). Its agenda names the case.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from datetime import date, timedelta

from planner.blocks import Ctx
from planner.one_on_ones import Cadence, _serve
from planner.periods import Period
from planner.record import Record
from planner.slots import local_day, working_window
from planner.timeutil import week_monday


def plan_checkpoints(ctx: Ctx, records: Mapping[str, Record]) -> None:
    """Book a one-on-one in the week of each open case's checkpoint that has none."""
    policy = ctx.policy
    win = working_window(policy.manager, policy.coaching.one_on_one.window)
    if win is None:
        return
    per_day: Counter[date] = Counter()
    upcoming: dict[str, list[date]] = defaultdict(list)
    for b in ctx.plan.blocks:
        if b.kind == "one_on_one" and b.rep:
            d = local_day(b.start, ctx.tz)
            per_day[d] += 1
            upcoming[b.rep].append(d)
    rebooked: set[str] = set()
    for rep in policy.team:
        record = records.get(rep.email)
        if record is None:
            continue
        for case in record.cases:
            if not case.is_open:
                continue
            for day in case.checkpoints:
                monday = week_monday(day)
                if day < ctx.today or monday > ctx.last_day:
                    continue
                why = f"checkpoint {day.isoformat()} of the {case.kind} case opened "
                why += case.opened.isoformat()
                period = Period(monday, 1)
                _serve(
                    ctx,
                    rep,
                    Cadence(1, why, True),
                    period,
                    monday - timedelta(days=1),
                    upcoming,
                    per_day,
                    win,
                    rebooked,
                )
