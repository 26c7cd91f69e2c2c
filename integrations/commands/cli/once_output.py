"""The one line `coachd once` ends with: how the tick went and what it did."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The order a person reads them in; anything else follows alphabetically.
_ORDER = ("booked", "moved", "cancelled", "declined", "flagged", "emailed")


def once_line(tick: Mapping[str, Any] | None) -> str:
    """`coachd once: ok in 6.6s: booked 29, flagged 7, emailed 30` (or the failure)."""
    if tick is None:
        return "coachd once: no tick was recorded"
    summary: Mapping[str, int] = tick.get("summary") or {}
    keys = [k for k in _ORDER if summary.get(k)] + sorted(
        k for k in summary if k not in _ORDER and summary[k]
    )
    done = ", ".join(f"{k} {summary[k]}" for k in keys) or "nothing to do"
    took = ""
    started, finished = tick.get("started"), tick.get("finished")
    if started is not None and finished is not None:
        took = f" in {(finished - started).total_seconds():.1f}s"
    if tick.get("ok"):
        return f"coachd once: ok{took}: {done}"
    return f"coachd once: FAILED{took}: {tick.get('error')} (did: {done}); see `coachd status`"
