"""need -> slot -> book: the one path each coaching kind takes from a block a rep is owed
to the Book that places it.

A kind's planner decides what is owed (a `Need`: kind, rep, period) and how to place it
(its own slot search); `need_slot_book` does the rest the same way for every kind: a rep
whose calendar could not be read is reported and skipped, a need with no free generation
(already booked) is left alone, no place calls the kind's report, and a place is booked
with the rep as the guest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from planner.blocks import Ctx
from planner.ids import booking_key
from planner.policy import Rep
from planner.timeutil import Interval


@dataclass(frozen=True)
class Need:
    """A coaching block a rep is owed. `what` names it in reports ("1:1 with Alex in W49")."""

    kind: str
    rep: Rep
    period: str
    what: str

    @property
    def key(self) -> str:
        """The booking key of this need (stable across ticks)."""
        return booking_key(self.kind, self.rep.email, self.period)


@dataclass(frozen=True)
class Placed:
    """Where a need goes and what its event says."""

    slot: Interval
    title: str
    description: str
    reason: str
    location: str = ""


def need_slot_book(
    ctx: Ctx,
    need: Need,
    generation: int | None,
    place: Callable[[], Placed | None],
    no_slot: Callable[[], None] | None = None,
) -> Placed | None:
    """Book `need` where `place()` puts it; None when it is not booked (see the module doc)."""
    if need.rep.email in ctx.unreadable:
        ctx.plan.skipped.append(f"{need.what}: their calendar could not be read")
        return None
    if generation is None:
        return None
    placed = place()
    if placed is None:
        if no_slot is not None:
            no_slot()
        return None
    ctx.book(
        kind=need.kind,
        rep=need.rep.email,
        period=need.period,
        generation=generation,
        slot=placed.slot,
        title=placed.title,
        description=placed.description,
        attendees=(need.rep.email,),
        reason=placed.reason,
        location=placed.location,
    )
    return placed
