"""plan_coaching: every coaching block the manager's role needs over the horizon, booked well.

Order of work, each step seeing what the previous ones placed:

1. reconcile what coachd's events look like against its memory (adopt, note moves, cancel
   bookings for reps who left or kinds switched off);
1b. the booking lifecycle (planner.lifecycle): upcoming one-on-ones a rep declined are
   rebooked, ones a protected meeting, time off or the rep's busy time now overlaps are moved,
   each in its own period, or reported;
2. the fixed-time blocks: the weekly sales meeting, then the huddles;
3. ride-alongs, which need the longest free stretches;
4. one-on-ones, per rep and cadence period;
5. call-review blocks, the most flexible (manager only);
6. record the bookings people deleted (unless a one-on-one was rebooked instead).

Busy time is the manager's events that block time (not coachd's; all-day and multi-day ones
block what they cover), the manager's time off (out of office even when shown free, public
holidays: planner.time_off), each rep's busy intervals and holidays, and every coachd block
already there or placed in this run. Every block starts after `now`, ends by
`now + coaching.horizon`, and sits inside working hours on a working day in the manager's zone.

The daily cap (`coaching.max_per_day`) counts the hours of every coachd kind, huddles and the
sales meeting included, and limits the flexible kinds (one-on-ones, call reviews): a
fixed-time block is never moved by it, and a ride-along is one field activity that the cap
does not split (see planner.ride_alongs).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from planner.actions import Book
from planner.blocks import Block, CoachingAction, CoachingPlan, Ctx, NeedsYou, fmt_when
from planner.checkpoints import plan_checkpoints
from planner.fixed_blocks import plan_call_reviews, plan_huddles, plan_sales_meetings, topic_for
from planner.kpi import stale_kpis, weeks_below_by_rep
from planner.lifecycle import find_troubles, protected_time, resolve
from planner.model import BookingRecord, Event, Snapshot
from planner.one_on_ones import plan_one_on_ones
from planner.periods import horizon
from planner.policy import Policy
from planner.reconcile import adopt, deleted_by_someone, index, remember_deleted, unwanted
from planner.ride_alongs import plan_ride_alongs, sales_meeting_days
from planner.slots import Board, local_day, to_utc
from planner.time_off import day_spans, holidays_between, is_out_of_office, region_of
from planner.timeutil import Interval, any_overlap, week_monday

__all__ = ["Block", "CoachingPlan", "plan_coaching"]

log = logging.getLogger(__name__)

SALES_TITLE = "Weekly sales meeting: "


def plan_coaching(policy: Policy, snapshot: Snapshot, now: datetime) -> CoachingPlan:
    """Decide which coaching blocks to book, cancel or remember this tick (pure)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    tz = policy.manager.tz
    hz = horizon(policy, now)
    plan = CoachingPlan()
    manager = policy.manager.email
    if manager in snapshot.read_errors:
        plan.skipped.append(
            "the manager's calendar could not be read this tick: no coaching changes"
        )
        return plan

    ex = index(snapshot, now)
    cancels, gone = unwanted(ex, {r.email for r in policy.team}, _disabled_kinds(policy))
    reconciled: list[CoachingAction] = [r for r in adopt(ex, tz) if r.key not in gone]
    reconciled += cancels

    mine_off, reps_off = _holidays_off(policy, now, hz.end)
    board = _board(policy, snapshot, mine_off, reps_off)
    ctx = Ctx(
        policy=policy,
        now=now,
        end=hz.end,
        board=board,
        existing=ex,
        unreadable=set(snapshot.read_errors) - {manager},
        plan=plan,
    )
    ctx.protected = protected_time(ctx, snapshot, mine_off)
    troubles, stale = find_troubles(ctx, snapshot, reps_off, gone)
    set_aside = {t.event.id for t in troubles} | {c.event_id for c in stale}
    _place_existing(ctx, snapshot, gone | set_aside)

    reconciled += stale
    reconciled += resolve(ctx, troubles)
    rebooked = _plan_kinds(ctx, snapshot, now)

    for rec in deleted_by_someone(ex):
        if rec.key not in rebooked and rec.key not in gone:
            reconciled.append(remember_deleted(rec, _deleted_reason(policy, rec)))

    _skipped_needs_you(plan)

    books = sorted((a for a in plan.actions if isinstance(a, Book)), key=lambda b: (b.start, b.key))
    plan.actions = [*reconciled, *books]
    plan.blocks.sort(key=lambda b: (b.start, b.key))
    log.debug(
        "coaching plan: %d actions, %d blocks, %d skipped",
        len(plan.actions),
        len(plan.blocks),
        len(plan.skipped),
    )
    return plan


def _holidays_off(
    policy: Policy, now: datetime, end: datetime
) -> tuple[list[Interval], dict[str, list[Interval]]]:
    """(the manager's public holidays, each rep's) from today to `end`, as whole local days."""
    tz = policy.manager.tz
    today, last = local_day(now, tz), local_day(end, tz)
    mine_off = day_spans(holidays_between(policy.manager.holidays, today, last), tz)
    reps_off = {
        r.email: day_spans(holidays_between(region_of(policy, r.email), today, last), tz)
        for r in policy.team
    }
    return mine_off, reps_off


def _plan_kinds(ctx: Ctx, snapshot: Snapshot, now: datetime) -> set[str]:
    """Plan each kind onto the board in priority order: sales meetings, huddles,
    ride-alongs, one-on-ones, checkpoints, call reviews; the keys rebooked after deletion."""
    plan_sales_meetings(ctx)
    plan_huddles(ctx)
    plan_ride_alongs(ctx, sales_meeting_days(ctx, ctx.plan.blocks))
    rebooked = plan_one_on_ones(ctx, _weeks_below(ctx.policy, snapshot, now))
    plan_checkpoints(ctx, snapshot.records)
    plan_call_reviews(ctx)
    return rebooked


def _disabled_kinds(policy: Policy) -> set[str]:
    """The coaching kinds switched off in the policy (their blocks are cancelled)."""
    cfg = policy.coaching
    return {
        kind
        for kind, on in (
            ("ride_along", cfg.ride_along.enabled),
            ("huddle", cfg.huddle.enabled),
            ("sales_meeting", cfg.sales_meeting.enabled),
            ("call_review", cfg.call_review.enabled),
        )
        if not on
    }


def _board(
    policy: Policy,
    snapshot: Snapshot,
    mine_off: list[Interval],
    reps_off: dict[str, list[Interval]],
) -> Board:
    """Who is busy when: the manager's meetings and out-of-office time (not coachd's own
    blocks, placed later), public holidays, and each rep's busy time and holidays."""
    words = policy.manager.out_of_office_words
    return Board(
        tz=policy.manager.tz,
        manager_busy=[
            *(
                ev.interval
                for ev in snapshot.events
                if ev.tag is None and (ev.blocks_time() or is_out_of_office(ev, words))
            ),
            *mine_off,
        ],
        rep_busy={
            r: [*snapshot.rep_busy.get(r, ()), *reps_off.get(r, ())]
            for r in {*snapshot.rep_busy, *reps_off}
        },
        buffer=policy.coaching.buffer,
        cap=policy.coaching.max_per_day,
    )


def _place_existing(ctx: Ctx, snapshot: Snapshot, skip: set[str]) -> None:
    """Put coachd's blocks on the board and in the plan (except the ones in `skip`, by key or
    event id), reporting those a protected meeting or another meeting overlaps."""
    plan, tz = ctx.plan, ctx.tz
    for ev in ctx.existing.events:
        assert ev.tag is not None
        if ev.tag.key in skip or ev.id in skip:
            continue
        ctx.board.place(ev.interval)
        if ev.end > ctx.now and ev.start < ctx.end:
            plan.blocks.append(_existing_block(ctx, ev))
            if ev.start > ctx.now and any_overlap(to_utc(ev.interval), ctx.protected):
                # something coachd must not touch (a protected meeting, time off) sits on a
                # block it does not move: the manager chooses, so it is a "needs you"
                ctx.report(
                    f"{ev.title} on {fmt_when(ev.start, tz)}",
                    _conflict(ctx, snapshot, ev, protected=True),
                    rep=ev.tag.rep,
                )
            elif ev.start > ctx.now and ctx.board.meetings_overlap(ev.interval):
                plan.conflicts.append(_conflict(ctx, snapshot, ev))


def _skipped_needs_you(plan: CoachingPlan) -> None:
    """Whatever else could not be booked (a busy fixed time, no ride-along day) needs the
    manager too: every skip is reported, never only logged."""
    reported = {f"{n.what}: {n.why}" for n in plan.needs}
    for line in plan.skipped:
        if line not in reported:
            what, _, why = line.partition(": ")
            plan.needs.append(NeedsYou(what=what, why=why or "could not be booked"))


def _weeks_below(policy: Policy, snapshot: Snapshot, now: datetime) -> dict[str, int]:
    """Each rep's below-standard streak up to the last completed week (computed once)."""
    if not policy.kpis or not snapshot.kpis:
        return {}
    last_done = week_monday(local_day(now, policy.manager.tz)) - timedelta(weeks=1)
    stale = stale_kpis(policy, snapshot.kpi_sources)
    return weeks_below_by_rep(policy, snapshot.kpis, last_done, stale=stale)


def _existing_block(ctx: Ctx, ev: Event) -> Block:
    tag = ev.tag
    assert tag is not None
    topic: str | None = None
    if tag.kind == "sales_meeting":
        if ev.title.startswith(SALES_TITLE):
            topic = ev.title[len(SALES_TITLE) :]
        else:
            topic = topic_for(ctx, week_monday(local_day(ev.start, ctx.tz)))
    manager = ctx.policy.manager.email
    return Block(
        kind=tag.kind,
        rep=tag.rep,
        key=tag.key,
        start=ev.start.astimezone(ctx.tz),
        end=ev.end.astimezone(ctx.tz),
        title=ev.title,
        event_id=ev.id,
        period=tag.period,
        topic=topic,
        attendees=tuple(a.email for a in ev.attendees if a.email.lower() != manager),
    )


def _conflict(ctx: Ctx, snapshot: Snapshot, block: Event, *, protected: bool = False) -> str:
    """A sentence naming the meetings that now overlap an existing coaching block."""
    others = [
        ev.title or "(untitled)"
        for ev in snapshot.events
        if ev.tag is None and ev.blocks_time() and ev.interval.overlaps(block.interval)
    ]
    if protected:
        what = "; ".join(repr(t) for t in others) or "your time off (a holiday or out of office)"
        return (
            f"{what} now overlaps it, which coachd never declines or books over; it leaves "
            "this block where it is (it moves only one-on-ones nobody moved): keep one of them"
        )
    return (
        f"{block.title} on {fmt_when(block.start, ctx.tz)} overlaps: "
        f"{'; '.join(repr(t) for t in others)} (left in place; triage decides about the other)"
    )


def _deleted_reason(policy: Policy, rec: BookingRecord) -> str:
    why = "someone deleted it from the calendar; coachd records that and does not book it again"
    if rec.kind == "one_on_one":
        if not policy.coaching.one_on_one.rebook_deleted:
            why += " (coaching.one_on_one.rebook_deleted is off)"
        elif rec.generation > 0:
            why += " (it was already rebooked once for this period)"
    return why
