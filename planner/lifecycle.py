"""The booking lifecycle of a one-on-one after it is booked, in one place.

needed -> booked -> (declined by the rep | clashed | moved by a person | deleted)
-> rebooked or reported -> held. For each of coachd's upcoming one-on-ones:

- **declined**: the rep answered no (their PARTSTAT on the manager's copy, their
  responseStatus on Google). coachd removes it and books the next generation of the same key
  in the same period at a time both are free, not the time declined; one rebooking per decline,
  at most `MAX_REBOOKS` per period. When that is impossible it stays as it is and the manager
  is told (with options).
- **clashed**: a protected meeting (boss, leadership, customer, the manager's own or
  accepted ones), the manager's time off (out of office, a public holiday), or the rep's busy
  time (their meeting, their holiday) now overlaps it. coachd moves it (a `Move` keeps the
  event's id, key and generation, so guests get one update) to a free time in its period; if
  there is none, it stays and the manager is told. A meeting that is not protected does not
  move it: triage decides about that meeting, and the block stays.
- **moved by a person**: it stays where they put it and counts, and coachd never moves it
  again (the booking record keeps `person_moved`). A decline still rebooks it.
- **deleted**: see planner.reconcile (recorded; rebooked once only with `rebook_deleted`).
- **past** blocks are facts: never touched.

An older generation still in the calendar next to a newer one (a crash between the removal
and the rebooking) is removed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time

from planner.actions import Cancel, Move
from planner.blocks import Block, Ctx, fmt_when
from planner.model import Event, Snapshot
from planner.one_on_ones import candidate_days, find_slot, rep_declined, rep_duration
from planner.options import options_for
from planner.periods import Period, parse_period, period_of
from planner.policy import Rep
from planner.rules import MatchContext
from planner.slots import local_day, to_utc, working_window
from planner.time_off import is_out_of_office
from planner.timeutil import Interval, any_overlap, merge
from planner.triage import protection

MAX_REBOOKS = 3  # per period: a rep who keeps declining is the manager's conversation


@dataclass(frozen=True)
class Trouble:
    """An upcoming one-on-one that will not take place where it is."""

    event: Event
    rep: Rep
    declined: bool
    why: str


def protected_time(ctx: Ctx, snapshot: Snapshot, time_off: list[Interval]) -> list[Interval]:
    """The manager's time that coachd never books over nor offers: protected meetings and
    time off (merged, UTC). Also fills `ctx.movable` with the meetings that are not."""
    mctx = MatchContext.build(ctx.policy)
    words = ctx.policy.manager.out_of_office_words
    out = list(time_off)
    for ev in snapshot.events:
        if ev.tag is not None or ev.end <= ctx.now:
            continue
        if is_out_of_office(ev, words):
            out.append(ev.interval)
        elif ev.blocks_time():
            if protection(ctx.policy, ev, mctx) is not None:
                out.append(ev.interval)
            else:
                ctx.movable.append((ev.interval, ev.title))
    return merge(to_utc(iv) for iv in out)


def find_troubles(
    ctx: Ctx,
    snapshot: Snapshot,
    rep_time_off: dict[str, list[Interval]],
    gone: set[str],
) -> tuple[list[Trouble], list[Cancel]]:
    """The upcoming one-on-ones that were declined or clashed, and stale generations to remove."""
    ex = ctx.existing
    troubles: list[Trouble] = []
    stale: list[Cancel] = []
    for ev in ex.events:
        tag = ev.tag
        assert tag is not None
        if tag.key in gone or ev.start <= ctx.now:
            continue  # past blocks are facts
        current = ex.by_key.get(tag.key)
        if current is not None and current.id != ev.id:
            stale.append(
                Cancel(
                    key=tag.key,
                    event_id=ev.id,
                    reason=(
                        f"an older booking of {tag.key} (generation {tag.generation}) is still "
                        "in the calendar next to its rebooking: removing it"
                    ),
                )
            )
            continue
        if tag.kind != "one_on_one" or not tag.rep or ev.start >= ctx.end:
            continue
        rep = ctx.policy.rep(tag.rep)
        if rep is None:
            continue
        if rep_declined(ev.attendees, rep.email):
            troubles.append(Trouble(ev, rep, True, f"{rep.name} declined it"))
            continue
        rec = ex.record(tag.key)
        if rec is None or rec.person_moved or rec.start != ev.start or rec.end != ev.end:
            continue  # a person put it there (or coachd never placed it): it stays
        why = _clash(ctx, snapshot, ev, rep, rep_time_off.get(rep.email, []))
        if why:
            troubles.append(Trouble(ev, rep, False, why))
    troubles.sort(key=lambda t: (t.event.start, t.event.id))
    return troubles, stale


def _clash(
    ctx: Ctx, snapshot: Snapshot, ev: Event, rep: Rep, rep_off: list[Interval]
) -> str | None:
    """What now sits on a one-on-one that coachd must move it for, in words, or None."""
    iv = ev.interval
    if any_overlap(to_utc(iv), ctx.protected):
        words = ctx.policy.manager.out_of_office_words
        mctx = MatchContext.build(ctx.policy)
        for other in snapshot.events:
            if other.tag is not None or not other.interval.overlaps(iv):
                continue
            if is_out_of_office(other, words):
                return f"you are out of office then ({other.title!r})"
            if other.blocks_time():
                p = protection(ctx.policy, other, mctx)
                if p is not None:
                    return f"{other.title or '(untitled)'!r} now overlaps it ({p.reason})"
        return "it falls on a public holiday of yours"
    if any_overlap(to_utc(iv), merge(to_utc(x) for x in rep_off)):
        return f"it falls on a public holiday of {rep.name}'s"
    span = to_utc(iv)
    for b in map(to_utc, snapshot.rep_busy.get(rep.email, ())):
        if not b.overlaps(span):
            continue
        if snapshot.rep_busy_shows_invites and b.contains(span):
            # Google's free/busy counts the rep's own copy of this block, so a span covering
            # it says nothing (their new meeting there is invisible; their decline is not)
            continue
        return f"{rep.name} is now busy then"
    return None


def resolve(ctx: Ctx, troubles: list[Trouble]) -> list[Cancel | Move]:
    """Move or rebook each troubled one-on-one in its period, or report it (see module doc).

    Called with the troubled blocks not yet on the board; each ends up on it wherever it
    goes (or stays), so the kinds planned next see the time as taken.
    """
    out: list[Cancel | Move] = []
    policy = ctx.policy
    win = working_window(policy.manager, policy.coaching.one_on_one.window)
    per_day: Counter[date] = Counter(
        local_day(b.start, ctx.tz) for b in ctx.plan.blocks if b.kind == "one_on_one"
    )
    for t in troubles:
        action = _resolve_one(ctx, t, win, per_day)
        if action is not None:
            out.append(action)
    return out


def _resolve_one(
    ctx: Ctx, t: Trouble, win: tuple[time, time] | None, per_day: Counter[date]
) -> Cancel | Move | None:
    """Rebook, move or keep one troubled one-on-one; the action to take, if any.

    Looks for a slot in the block's period (rolled forward when it is over); a declined
    block past MAX_REBOOKS gets none. Counts the new slot's day in `per_day`.
    """
    ev, rep = t.event, t.rep
    tag = ev.tag
    assert tag is not None
    period = parse_period(tag.period) or period_of(local_day(ev.start, ctx.tz), 1)
    if period.end <= ctx.today:
        period = Period(period_of(ctx.today, 1).first, 1)
    candidates = candidate_days(ctx, rep, period)
    avoid = ev.interval if t.declined else None
    can = not t.declined or tag.generation + 1 <= MAX_REBOOKS
    slot = find_slot(ctx, rep, candidates, win, per_day, avoid) if win and can else None
    when = fmt_when(ev.start, ctx.tz)
    if slot is not None:
        per_day[local_day(slot.start, ctx.tz)] += 1
        if t.declined:
            return _rebook(ctx, t, slot, when)
        return _move(ctx, t, slot, when)
    _keep(ctx, t, when, candidates, win, avoid)
    return None


def _rebook(ctx: Ctx, t: Trouble, slot: Interval, when: str) -> Cancel:
    """Book a new generation of a declined one-on-one at `slot`; the Cancel of the old one."""
    ev = t.event
    tag = ev.tag
    assert tag is not None
    cancel = Cancel(
        key=tag.key,
        event_id=ev.id,
        reason=f"{t.why} ({when}): removing it to rebook it in {tag.period}",
    )
    ctx.book(
        kind="one_on_one",
        rep=t.rep.email,
        period=tag.period,
        generation=tag.generation + 1,
        slot=slot,
        title=ev.title,
        description=ev.description,
        attendees=(t.rep.email,),
        reason=(
            f"rebooking: {t.why} ({when}); the first time in {tag.period} where both "
            f"are free is {fmt_when(slot.start, ctx.tz)}"
        ),
    )
    return cancel


def _move(ctx: Ctx, t: Trouble, slot: Interval, when: str) -> Move:
    """Place a troubled (not declined) one-on-one at `slot` on the board and plan; its Move."""
    ev = t.event
    tag = ev.tag
    assert tag is not None
    start, end = slot.start.astimezone(ctx.tz), slot.end.astimezone(ctx.tz)
    move = Move(
        key=tag.key,
        event_id=ev.id,
        start=start,
        end=end,
        reason=(
            f"{t.why} ({when}): moving it to {fmt_when(start, ctx.tz)}, the first "
            f"time in {tag.period} where both are free"
        ),
    )
    ctx.board.place(slot)
    ctx.plan.blocks.append(_block(ctx, ev, start, end))
    return move


def _keep(
    ctx: Ctx,
    t: Trouble,
    when: str,
    candidates: list[date],
    win: tuple[time, time] | None,
    avoid: Interval | None,
) -> None:
    """Nothing better: the block stays where it is, and the manager is told why, with options."""
    ev, rep = t.event, t.rep
    tag = ev.tag
    assert tag is not None
    ctx.board.place(ev.interval)
    if t.declined:
        ctx.claimed.append((rep.email, local_day(ev.start, ctx.tz)))
        if tag.generation + 1 > MAX_REBOOKS:
            why = f"{t.why}, after {tag.generation} rebookings in {tag.period}"
        else:
            why = f"{t.why}, and no other time in {tag.period} has both free"
    else:
        ctx.plan.blocks.append(_block(ctx, ev, ev.start, ev.end))
        why = f"{t.why}, and no other time in {tag.period} has both free; it stays"
    length = rep_duration(ctx.policy, rep)
    ctx.report(
        f"1:1 with {rep.name} on {when}",
        why,
        options_for(ctx, rep.email, candidates, win, length, avoid) if win else (),
        rep.email,
    )


def _block(ctx: Ctx, ev: Event, start: datetime, end: datetime) -> Block:
    tag = ev.tag
    assert tag is not None
    manager = ctx.policy.manager.email
    return Block(
        kind=tag.kind,
        rep=tag.rep,
        key=tag.key,
        start=start.astimezone(ctx.tz),
        end=end.astimezone(ctx.tz),
        title=ev.title,
        event_id=ev.id,
        period=tag.period,
        attendees=tuple(a.email for a in ev.attendees if a.email.lower() != manager),
    )
