"""The shared vocabulary of the coaching planners: blocks, the plan, and one run's context."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from planner.actions import Book, Cancel, Flag, Move, Remember
from planner.ids import booking_key, event_id
from planner.policy import Policy
from planner.reconcile import Existing
from planner.slots import UTC, Board, local_day
from planner.timeutil import Interval, format_duration

CoachingAction = Book | Move | Cancel | Remember | Flag


@dataclass(frozen=True)
class Block:
    """A coaching block that exists in the calendar or is being booked this tick.

    Satisfies `planner.contexts.Block`. Times are in the manager's zone. `booking` is True
    for blocks this tick books (their event does not exist yet).
    """

    kind: str
    rep: str | None
    key: str
    start: datetime
    end: datetime
    title: str
    event_id: str
    period: str = ""
    topic: str | None = None
    attendees: tuple[str, ...] = ()
    booking: bool = False


@dataclass(frozen=True)
class NeedsYou:
    """Coaching that coachd could not book or rebook: what, why, and up to 3 options.

    `options` are slots where only a meeting that is not protected is in the way.
    """

    what: str
    why: str
    options: tuple[str, ...] = ()
    rep: str | None = None

    def text(self) -> str:
        tail = f" Options: {'; '.join(self.options)}." if self.options else ""
        return f"{self.what}: {self.why}.{tail}"


@dataclass
class CoachingPlan:
    """What the coaching planner decided.

    `actions`: Book / Remember / Cancel / Move. coachd moves only its own one-on-ones, and
    only ones no person moved (see planner.lifecycle); triage decides about meetings that land
    on them otherwise.
    `blocks`: every coaching block in the horizon, existing or being booked, by start time.
    `skipped`: a sentence per block that could not be booked (no free slot, a busy fixed time).
    `conflicts`: a sentence per existing coaching block that another meeting now overlaps.
    `needs`: what the manager must decide (reported in status, the summary and the digest).
    """

    actions: list[CoachingAction] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    needs: list[NeedsYou] = field(default_factory=list)


def fmt_when(dt: datetime, tz: ZoneInfo) -> str:
    """`Tue 1 Dec 10:00` in the manager's zone."""
    loc = dt.astimezone(tz)
    return f"{loc:%a} {loc.day} {loc:%b %H:%M}"


def fmt_day(d: date) -> str:
    return f"{d:%a} {d.day} {d:%b}"


def dur(td: timedelta) -> str:
    return format_duration(td)


@dataclass
class Ctx:
    """One planning run: the policy, the horizon, the busy board and the plan being built."""

    policy: Policy
    now: datetime
    end: datetime  # horizon end
    board: Board
    existing: Existing
    unreadable: set[str]
    plan: CoachingPlan = field(default_factory=CoachingPlan)
    # the manager's time that no option may offer (protected meetings, time off), merged
    protected: list[Interval] = field(default_factory=list)
    # the manager's meetings that are not protected: an option names the ones in its way
    movable: list[tuple[Interval, str]] = field(default_factory=list)
    # (rep, day) of one-on-ones still in the calendar that the lifecycle reported as not
    # happening (declined, no slot to rebook): their period is not booked a second time
    claimed: list[tuple[str, date]] = field(default_factory=list)

    @property
    def tz(self) -> ZoneInfo:
        return self.policy.manager.tz

    @property
    def today(self) -> date:
        return local_day(self.now, self.tz)

    @property
    def last_day(self) -> date:
        return local_day(self.end, self.tz)

    def __post_init__(self) -> None:
        # UTC copies: comparing UTC slots with UTC bounds is the fast path
        self._now_utc = self.now.astimezone(UTC)
        self._end_utc = self.end.astimezone(UTC)

    def in_horizon(self, iv: Interval) -> bool:
        """A block must start after now and end by the horizon end."""
        return iv.start > self._now_utc and iv.end <= self._end_utc

    def book(
        self,
        *,
        kind: str,
        rep: str | None,
        period: str,
        generation: int,
        slot: Interval,
        title: str,
        description: str,
        attendees: tuple[str, ...],
        reason: str,
        topic: str | None = None,
        location: str = "",
    ) -> Book:
        """Emit a Book for a slot, add its block to the plan and mark the time busy."""
        key = booking_key(kind, rep, period)
        eid = event_id(self.policy.manager.email, key, generation)
        start, end = slot.start.astimezone(self.tz), slot.end.astimezone(self.tz)
        action = Book(
            key=key,
            event_id=eid,
            kind=kind,
            rep=rep,
            period=period,
            generation=generation,
            start=start,
            end=end,
            title=title,
            description=description,
            attendees=attendees,
            reason=reason,
            location=location,
            busy=True,
        )
        self.plan.actions.append(action)
        self.plan.blocks.append(
            Block(
                kind=kind,
                rep=rep,
                key=key,
                start=start,
                end=end,
                title=title,
                event_id=eid,
                period=period,
                topic=topic,
                attendees=attendees,
                booking=True,
            )
        )
        self.board.place(Interval(start.astimezone(UTC), end.astimezone(UTC)))
        return action

    def report(
        self, what: str, why: str, options: tuple[str, ...] = (), rep: str | None = None
    ) -> None:
        """Tell the manager about coaching that could not be booked (a skip and a NeedsYou)."""
        self.plan.skipped.append(f"{what}: {why}")
        self.plan.needs.append(NeedsYou(what=what, why=why, options=options, rep=rep))

    def rep_name(self, email: str | None) -> str:
        rep = self.policy.rep(email) if email else None
        return rep.name if rep else (email or "the team")
