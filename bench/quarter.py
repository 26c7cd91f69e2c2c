"""A simulated quarter for the demo team: how many cadence periods each rep's one-on-one
took place in, with coachd's booking lifecycle and with "book once and never look again".

The demo policy (config.yaml, 5 reps, weekly one-on-ones, every coaching kind on) runs on
the planner for 13 weeks from Monday 5 Oct 2026 (Thanksgiving and the days around it are in
the quarter; `manager.holidays: US`). A tick runs every working day at 07:00 and again at
12:00; what it plans is applied to an in-memory calendar as the executor would.

The world, drawn from a seeded `random.Random` so both strategies see the same one:
- the manager's week: 2-4 meetings a working day (a third protected: the boss, leadership
  or a customer; the rest internal invitations); each rep 1-3 busy stretches a day;
- disruption, decided once per booked one-on-one a day or two before it: the rep declines
  (15%), a protected meeting lands on it (10%), the rep books a customer call over it (8%);
- the manager's vacation: one random weekday in every 4 weeks, an all-day entry shown free
  ("Vacation", as calendars often write it); public holidays as in `holidays` (US).

A one-on-one *took place* when it started, the rep had not declined it, and nothing
protected, no time off and no rep meeting overlapped it. A period is *reported* when the
manager got a "needs you" item for that rep in it. "Book once" is the same planner with its
lifecycle actions (rebook, move, remove) dropped and no knowledge of holidays or
out-of-office: what coachd did before the lifecycle existed.

Run from the repository root: `python bench/quarter.py [--weeks N] [--seed N]`.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

import _common as c  # puts the repository root on sys.path, before first-party imports

from integrations.config_file import load_policy
from planner.actions import Action, Book, Cancel, Move, Notice, Remember
from planner.model import Attendee, BookingRecord, CoachdTag, Event, Snapshot
from planner.periods import snapshot_window
from planner.plan import plan
from planner.policy import Policy, Rep
from planner.time_off import holidays_between
from planner.timeutil import Interval, local_dt

TZ = c.TZ
START = date(2026, 10, 5)  # a Monday
P_DECLINE, P_PROTECTED, P_REP_BUSY = 0.15, 0.10, 0.08


@dataclass
class World:
    """The calendars both strategies share: background meetings, reps' busy time, time off."""

    policy: Policy
    rng: random.Random
    manager: list[Event] = field(default_factory=list)
    rep_busy: dict[str, list[Interval]] = field(default_factory=lambda: defaultdict(list))
    fates: dict[str, str] = field(default_factory=dict)  # "event id|start" -> disruption


def _at(d: date, h: int, m: int = 0) -> datetime:
    return local_dt(d, datetime.min.time().replace(hour=h, minute=m), TZ)


def build_world(policy: Policy, weeks: int, seed: int) -> World:
    rng = random.Random(seed)
    w = World(policy, rng)
    boss = policy.manager.boss or "boss@acme-demo.com"
    protected = [boss, "vp@leadership.acme-demo.com", "buyer@northwind.example"]
    n = 0
    for day in (START + timedelta(days=i) for i in range(weeks * 7 + 14)):
        if day.weekday() >= 5:
            continue
        for _ in range(rng.randint(2, 4)):
            start = _at(day, rng.randint(8, 16), rng.choice([0, 30]))
            end = start + timedelta(minutes=rng.choice([30, 60, 90]))
            n += 1
            org = rng.choice(protected) if rng.random() < 1 / 3 else "ops@acme-demo.com"
            w.manager.append(
                Event(
                    id=f"m{n}",
                    uid=f"m{n}",
                    calendar=policy.manager.email,
                    title=f"Meeting {n}",
                    start=start,
                    end=end,
                    organizer=org,
                    attendees=(
                        Attendee(org, status="accepted", organizer=True),
                        Attendee(policy.manager.email, status="needsAction"),
                    ),
                    self_status="needsAction",
                )
            )
        for rep in policy.team:
            for _ in range(rng.randint(1, 3)):
                s = _at(day, rng.randint(8, 16), rng.choice([0, 30]))
                w.rep_busy[rep.email].append(Interval(s, s + timedelta(minutes=60)))
    for block in range(weeks // 4 + 1):
        d = START + timedelta(weeks=4 * block, days=rng.randint(0, 4))
        w.manager.append(
            Event(
                id=f"vac{block}",
                uid=f"vac{block}",
                calendar=policy.manager.email,
                title="Vacation",
                start=_at(d, 0),
                end=_at(d + timedelta(days=1), 0),
                all_day=True,
                transparent=True,
            )
        )
    return w


@dataclass
class Run:
    """One strategy's calendar and memory, and what it told the manager."""

    lifecycle: bool
    events: list[Event] = field(default_factory=list)
    bookings: dict[str, BookingRecord] = field(default_factory=dict)
    extra: list[Event] = field(default_factory=list)  # disruption on the manager's calendar
    busy: dict[str, list[Interval]] = field(default_factory=lambda: defaultdict(list))
    reported: set[tuple[str, date]] = field(default_factory=set)  # (rep name, monday)


def _apply(run: Run, actions: list[Action], manager: str) -> None:
    for a in actions:
        if isinstance(a, Book):
            run.events.append(
                Event(
                    id=a.event_id,
                    uid=a.event_id,
                    calendar=manager,
                    title=a.title,
                    start=a.start,
                    end=a.end,
                    organizer=manager,
                    attendees=tuple(Attendee(x) for x in a.attendees),
                    tag=CoachdTag(a.key, a.kind, a.rep, a.period, a.generation),
                )
            )
            run.bookings[a.key] = BookingRecord(
                a.key, a.event_id, a.generation, "booked", a.kind, a.rep, a.start, a.end
            )
        elif isinstance(a, Cancel):
            run.events = [e for e in run.events if e.id != a.event_id]
            old = run.bookings.get(a.key)
            if old and old.event_id == a.event_id:
                run.bookings[a.key] = replace(old, status="cancelled")
        elif isinstance(a, Move):
            run.events = [
                replace(e, start=a.start, end=a.end) if e.id == a.event_id else e
                for e in run.events
            ]
            old = run.bookings.get(a.key)
            if old and old.event_id == a.event_id:
                run.bookings[a.key] = replace(old, start=a.start, end=a.end)
        elif isinstance(a, Remember):
            run.bookings[a.key] = BookingRecord(
                a.key,
                a.event_id,
                a.generation,
                a.status,  # type: ignore[arg-type]
                a.kind,
                a.rep,
                a.start,
                a.end,
                a.person_moved,
            )


def _lifecycle_action(a: Action) -> bool:
    """What the booking lifecycle adds: a rebooking, a move, the removal of a declined block."""
    if isinstance(a, Move | Cancel):
        return True
    return isinstance(a, Book) and a.reason.startswith("rebooking:")


def _disrupt(w: World, run: Run, now: datetime) -> None:
    """Decide each upcoming one-on-one's fate once (a day or two ahead) and make it happen."""
    for i, ev in enumerate(run.events):
        tag = ev.tag
        if tag is None or tag.kind != "one_on_one" or not tag.rep:
            continue
        if not now + timedelta(hours=20) < ev.start <= now + timedelta(days=2):
            continue
        key = f"{ev.id}|{ev.start.isoformat()}"
        if key in w.fates:
            continue  # this block at this time met its fate already
        r = random.Random(key).random()
        fate = "none"
        if r < P_DECLINE:
            fate = "decline"
        elif r < P_DECLINE + P_PROTECTED:
            fate = "protected"
        elif r < P_DECLINE + P_PROTECTED + P_REP_BUSY:
            fate = "rep_busy"
        w.fates[key] = fate
        if fate == "decline":
            run.events[i] = replace(
                ev, attendees=tuple(replace(a, status="declined") for a in ev.attendees)
            )
        elif fate == "protected":
            boss = w.policy.manager.boss or "boss@acme-demo.com"
            run.extra.append(
                Event(
                    id=f"x{len(run.extra)}",
                    uid=f"x{len(run.extra)}",
                    calendar=w.policy.manager.email,
                    title="Pipeline call with the boss",
                    start=ev.start,
                    end=ev.end,
                    organizer=boss,
                    attendees=(Attendee(boss, status="accepted", organizer=True),),
                    self_status="accepted",
                )
            )
        elif fate == "rep_busy":
            run.busy[tag.rep].append(Interval(ev.start, ev.end))


def _snapshot(w: World, run: Run, pol: Policy, now: datetime) -> Snapshot:
    window = snapshot_window(pol, now)
    events = [
        e
        for e in (*w.manager, *run.extra, *run.events)
        if e.end > window.start and e.start < window.end
    ]
    busy = {
        r.email: tuple(
            iv
            for iv in (*w.rep_busy[r.email], *run.busy[r.email])
            if iv.end > now and iv.start < window.end
        )
        for r in pol.team
    }
    return Snapshot(window=window, events=tuple(events), rep_busy=busy, bookings=run.bookings)


def simulate(pol: Policy, plan_pol: Policy, w: World, weeks: int, lifecycle: bool) -> Run:
    run = Run(lifecycle)
    names = {r.email: r.name for r in pol.team}
    for day in (START + timedelta(days=i) for i in range(weeks * 7)):
        if day.weekday() >= 5:
            continue
        for hour in (7, 12):
            now = _at(day, hour)
            actions = plan(plan_pol, _snapshot(w, run, plan_pol, now), now, force=True)
            if not lifecycle:
                actions = [a for a in actions if not _lifecycle_action(a)]
            _apply(run, actions, pol.manager.email)
            monday = day - timedelta(days=day.weekday())
            for a in actions:
                if isinstance(a, Notice) and a.needs_you:
                    for email, name in names.items():
                        if name in a.needs_you:
                            run.reported.add((email, monday))
            _disrupt(w, run, now)
    return run


def took_place(w: World, run: Run, pol: Policy, weeks: int) -> dict[str, set[date]]:
    """Per rep, the Mondays of the weeks in which a one-on-one really happened."""
    end = _at(START + timedelta(weeks=weeks), 0)
    off = set(holidays_between("US", START, START + timedelta(weeks=weeks)))
    vac = {e.start.astimezone(TZ).date() for e in w.manager if e.title == "Vacation"}
    protected = [e for e in run.extra] + [
        e for e in w.manager if e.organizer and not e.organizer.startswith("ops@")
    ]
    out: dict[str, set[date]] = defaultdict(set)
    for ev in run.events:
        tag = ev.tag
        if tag is None or tag.kind != "one_on_one" or not tag.rep or ev.start >= end:
            continue
        d = ev.start.astimezone(TZ).date()
        if any(a.status == "declined" for a in ev.attendees) or d in off or d in vac:
            continue
        if any(p.interval.overlaps(ev.interval) for p in protected):
            continue
        busy = (*w.rep_busy[tag.rep], *run.busy[tag.rep])
        if any(b.overlaps(ev.interval) for b in busy):
            continue
        out[tag.rep].add(d - timedelta(days=d.weekday()))
    return out


def mine_of(rep: Rep, mondays: set[date]) -> set[date]:
    """The weeks that are a rep's cadence periods: none before a new hire's first week."""
    first = rep.start_date - timedelta(days=rep.start_date.weekday()) if rep.start_date else START
    return {m for m in mondays if m >= first}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weeks", type=int, default=13)
    ap.add_argument("--seed", type=int, default=15)
    args = ap.parse_args()
    c.quiet_logging()
    loaded = load_policy(c.ROOT / "config.yaml")
    pol = loaded.policy
    once_pol = pol.model_copy(
        update={
            "manager": pol.manager.model_copy(update={"holidays": None, "out_of_office_words": []})
        }
    )
    c.print_header(
        "Simulated quarter: one-on-ones that took place",
        [
            ("team", f"the demo's {len(pol.team)} reps, weekly one-on-ones, every kind on"),
            ("weeks", f"{args.weeks} from {START:%a %d %b %Y}, ticks 07:00 and 12:00"),
            (
                "disruption",
                f"decline {P_DECLINE:.0%}, protected clash {P_PROTECTED:.0%}, "
                f"rep clash {P_REP_BUSY:.0%} per one-on-one; a vacation day per 4 weeks; "
                "US holidays",
            ),
            ("seed", str(args.seed)),
        ],
    )
    rows = []
    totals: dict[str, list[int]] = {}
    t0 = time.perf_counter()
    for label, lifecycle, plan_pol in (
        ("lifecycle", True, pol),
        ("book once", False, once_pol),
    ):
        world = build_world(pol, args.weeks, args.seed)
        run = simulate(pol, plan_pol, world, args.weeks, lifecycle)
        held = took_place(world, run, pol, args.weeks)
        mondays = {START + timedelta(weeks=i) for i in range(args.weeks)}
        held_n = silent = periods = 0
        for rep in pol.team:
            started = (
                rep.start_date - timedelta(days=rep.start_date.weekday())
                if rep.start_date
                else START
            )
            mine = {m for m in mondays if m >= started}  # no period before a hire's first week
            got = held.get(rep.email, set()) & mine
            missed = mine - got
            quiet = {m for m in missed if (rep.email, m) not in run.reported}
            held_n += len(got)
            periods += len(mine)
            silent += len(quiet)
            rows.append(
                (
                    label,
                    rep.name,
                    f"{len(got)}/{len(mine)}",
                    f"{len(got) / len(mine):.0%}",
                    len(missed) - len(quiet),
                    len(quiet),
                )
            )
        totals[label] = [held_n, periods, silent]
        if label == "lifecycle":
            for rep in pol.team:
                for m in sorted(mine_of(rep, mondays) - held.get(rep.email, set())):
                    if (rep.email, m) not in run.reported:
                        print(f"missed without a report: {rep.name}, week of {m}")
    print(
        c.table(
            ["strategy", "rep", "took place", "share", "missed, reported", "missed, silent"], rows
        )
    )
    print()
    for label, (h, n, s) in totals.items():
        print(f"{label:<10} {h}/{n} periods = {h / n:.0%}; missed without a report: {s}")
    print(f"\nsimulated in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
