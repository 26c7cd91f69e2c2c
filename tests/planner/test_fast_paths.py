"""The planner's fast paths give the same plan as the straightforward code they replace.

Planning a large team is kept fast by indexes and memos (planner.slots.Board's bisect
`Spans` and its per-block-version memo of the manager's free days, planner.options' index of
movable meetings and per-day open slots, the one-pass `busy_side`). Each of them must change
only the time a plan takes: here every one is swapped for a plain linear scan (the code as
it was before) and the whole tick's actions must come out identical, on generated worlds
and on a crowded one where most one-on-ones cannot be booked and options are offered.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import MANAGER, event, triage_worlds, worlds

from planner.actions import Action, Notice
from planner.blocks import Ctx, fmt_when
from planner.model import Attendee, Snapshot
from planner.periods import snapshot_window
from planner.plan import plan
from planner.policy import Policy, Rep
from planner.slots import UTC, Board, Spans, day_slots, to_utc
from planner.timeutil import Interval, local_dt, merge

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _hits(ivs: list[Interval], iv: Interval) -> bool:
    return any(x.overlaps(iv) for x in ivs)


class PlainBoard(Board):
    """Board with every check a linear scan over unmerged lists (no bisect, no memo)."""

    def __init__(
        self,
        *,
        tz: ZoneInfo,
        manager_busy: Iterable[Interval],
        rep_busy: Mapping[str, Iterable[Interval]],
        buffer: timedelta,
        cap: timedelta,
    ) -> None:
        manager_busy = list(manager_busy)
        rep_busy = {r: list(ivs) for r, ivs in rep_busy.items()}
        super().__init__(
            tz=tz, manager_busy=manager_busy, rep_busy=rep_busy, buffer=buffer, cap=cap
        )
        self.plain_manager = [to_utc(iv) for iv in manager_busy]
        self.plain_reps = {r: [to_utc(iv) for iv in ivs] for r, ivs in rep_busy.items()}
        self.plain_coaching: list[Interval] = []

    def manager_free(self, iv: Interval, *, buffered: bool = True) -> bool:
        iv = to_utc(iv)
        padded = iv.padded(self.buffer) if buffered else iv
        return not _hits(self.plain_manager, padded) and not _hits(self.plain_coaching, iv)

    def meetings_overlap(self, iv: Interval) -> bool:
        return _hits(self.plain_manager, to_utc(iv))

    def rep_free(self, rep: str, iv: Interval) -> bool:
        return not _hits(self.plain_reps.get(rep, []), to_utc(iv))

    def first_free(
        self,
        slots: Iterable[Interval],
        rep: str | None,
        allowed: Callable[[Interval], bool],
        memo: Hashable | None,
    ) -> Interval | None:
        for slot in slots:
            free = allowed(slot) and self.manager_free(slot)
            if free and (rep is None or self.rep_free(rep, slot)):
                return slot
        return None

    def any_manager_free(self, slots: Iterable[Interval], memo: Hashable) -> bool:
        return any(self.manager_free(s) for s in slots)

    def coaching_free(self, iv: Interval) -> bool:
        return not _hits(self.plain_coaching, to_utc(iv))

    def place(self, iv: Interval) -> None:
        super().place(iv)
        self.plain_coaching.append(to_utc(iv))


def plain_busy_side(
    ctx: Ctx, rep: Rep, candidates: list[date], win: tuple[time, time], length: timedelta
) -> str:
    step = ctx.policy.coaching.slot_step
    capped = manager_free = rep_free = 0
    for d in candidates:
        if not ctx.board.fits_cap(d, length):
            capped += 1
            continue
        for slot in day_slots(d, win[0], win[1], length, step, ctx.tz):
            if not ctx.in_horizon(slot):
                continue
            if ctx.board.manager_free(slot):
                manager_free += 1
            if ctx.board.rep_free(rep.email, slot):
                rep_free += 1
    if capped == len(candidates):
        return "every one of those days already holds the daily coaching cap"
    if manager_free == 0 and rep_free == 0:
        return f"you and {rep.name} are both busy throughout"
    if manager_free == 0:
        return "you are busy throughout"
    if rep_free == 0:
        return f"{rep.name} is busy throughout"
    return f"{rep.name} is busy whenever you are free"


def plain_options_for(
    ctx: Ctx,
    rep: str | None,
    candidates: list[date],
    win: tuple[time, time],
    length: timedelta,
    avoid: Interval | None = None,
) -> tuple[str, ...]:
    out: list[str] = []
    step = ctx.policy.coaching.slot_step
    for d in candidates:
        for slot in day_slots(d, win[0], win[1], length, step, ctx.tz):
            if not ctx.in_horizon(slot) or (avoid is not None and slot.overlaps(avoid)):
                continue
            if _hits(ctx.protected, to_utc(slot)) or not ctx.board.coaching_free(slot):
                continue
            if rep is not None and not ctx.board.rep_free(rep, slot):
                continue
            in_way = sorted({title for iv, title in ctx.movable if iv.overlaps(slot)})
            if not in_way:
                continue
            shown = ", ".join(repr(t or "(untitled)") for t in in_way[:2])
            more = f" and {len(in_way) - 2} more" if len(in_way) > 2 else ""
            out.append(f"{fmt_when(slot.start, ctx.tz)} if you drop {shown}{more}")
            break
        if len(out) >= 3:
            break
    return tuple(out)


@contextmanager
def plain_paths() -> Iterator[None]:
    with (
        mock.patch("planner.coaching.Board", PlainBoard),
        mock.patch("planner.one_on_ones.busy_side", plain_busy_side),
        mock.patch("planner.one_on_ones.options_for", plain_options_for),
        mock.patch("planner.lifecycle.options_for", plain_options_for),
    ):
        yield


def _both(pol: Policy, snap: Snapshot, now: datetime) -> tuple[list[Action], list[Action]]:
    fast = plan(pol, snap, now, force=True)
    with plain_paths():
        plain = plan(pol, snap, now, force=True)
    return fast, plain


@SETTINGS
@given(triage_worlds())
def test_fast_paths_plan_as_the_plain_scans_in_decline_mode(
    world: tuple[Policy, Snapshot, datetime],
) -> None:
    fast, plain = _both(*world)
    assert fast == plain


@SETTINGS
@given(worlds())
def test_fast_paths_plan_as_the_plain_scans(world: tuple[Policy, Snapshot, datetime]) -> None:
    fast, plain = _both(*world)
    assert fast == plain


@pytest.mark.parametrize("seed", [1, 8, 20])
def test_a_crowded_fortnight_offers_the_same_options(seed: int) -> None:
    """Eight reps (hour-long one-on-ones and half-hour ones, alternating), a manager with a
    movable meeting in the second half of most hours (some hours protected, a few free), reps
    busy at random: most hour-long one-on-ones cannot be booked while half-hour ones land in
    the first halves, so the options and the busy side reported change as the run places
    blocks. Each Notice's
    reason and options must match the plain scans word for word."""
    reps = [
        {
            "name": f"Rep {i}",
            "email": f"rep{i}@acme.example",
            "one_on_one": {"duration": "60m" if i % 2 == 0 else "30m"},
        }
        for i in range(8)
    ]
    pol = Policy.model_validate(
        {
            "manager": {"name": "Maria", "email": MANAGER, "timezone": "America/Chicago"},
            "team": reps,
            "coaching": {"horizon": "2 weeks", "buffer": "0m"},
            "triage": {"mode": "decline", "max_declines_per_tick": 2},
        }
    )
    tz = pol.manager.tz
    now = local_dt(date(2027, 3, 8), time(7), tz)  # a Monday, the week DST starts
    rnd = random.Random(seed)
    events = []
    for day in range(14):
        d = date(2027, 3, 8) + timedelta(days=day)
        for hour in range(8, 18):
            if rnd.random() < 0.1:
                continue  # a free hour: the first rep free then takes it
            protected = rnd.random() < 0.15
            start = local_dt(d, time(hour, 0 if protected else 30), tz)
            long = timedelta(minutes=rnd.choice([30, 45]) if not protected else 60)
            events.append(
                event(
                    start,
                    start + long,
                    f"Ops sync {day}-{hour}" if not protected else f"Customer call {day}-{hour}",
                    eid=f"ev{day}-{hour}",
                    organizer="ops@acme.example" if not protected else MANAGER,
                    attendees=(Attendee("ops@acme.example", status="accepted", organizer=True),),
                    self_status="accepted" if protected else "needsAction",
                )
            )
    busy = {
        str(r["email"]): tuple(
            merge(
                Interval(s, s + timedelta(hours=rnd.choice([1, 2, 4])))
                for s in (
                    now + timedelta(hours=rnd.randrange(0, 14 * 24))
                    for _ in range(rnd.randrange(30))
                )
            )
        )
        for r in reps
    }
    snap = Snapshot(window=snapshot_window(pol, now), events=tuple(events), rep_busy=busy)
    fast, plain = _both(pol, snap, now)
    assert fast == plain
    offered = [a for a in fast if isinstance(a, Notice) and a.options]
    assert len(offered) >= 4, "the crowded fortnight must exercise the options search"


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 200), st.integers(1, 30)), max_size=40),
    # Probes are non-empty, as every block is: on a merged list an empty probe at the point
    # where two touching spans joined is inside the merged span but touches both originals.
    st.lists(st.tuples(st.integers(-10, 230), st.integers(1, 40)), min_size=1, max_size=20),
)
def test_spans_answer_as_a_linear_scan(
    adds: list[tuple[int, int]], probes: list[tuple[int, int]]
) -> None:
    """Spans.add keeps the lists merged; Spans.hits agrees with checking every span."""
    t0 = datetime(2027, 1, 1, tzinfo=UTC)

    def at(m: int) -> datetime:
        return t0 + timedelta(minutes=m)

    spans = Spans()
    added: list[Interval] = []
    for s, n in adds:
        spans.add(at(s), at(s + n))
        added.append(Interval(at(s), at(s + n)))
        assert list(zip(spans.starts, spans.ends, strict=True)) == [
            (iv.start, iv.end) for iv in merge(added)
        ]
    for s, n in probes:
        probe = Interval(at(s), at(s + n))
        assert spans.hits(probe.start, probe.end) == _hits(added, probe)
