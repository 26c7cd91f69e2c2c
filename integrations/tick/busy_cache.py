"""The reps' last busy times, kept in the state so a quiet tick needs no free/busy request.

A tick plans first with these cached busy times; without a usable one (missing, damaged or
older than `MAX_AGE`) it reads them before planning. Only when a plan made on the cache books
or moves something does the shell read the busy times afresh and plan again; so a booking
is never placed on cached data, and a stale cache can only cost a request, never a clash.
Within `MAX_AGE` a rep's new or cancelled meeting is noticed (and a booked one-on-one moved).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from integrations.store.kv import KeyValue
from planner.timeutil import Interval

KEY = "busy:cache"
MAX_AGE = timedelta(hours=1)


def load(
    kv: KeyValue, reps: Sequence[str], now: datetime
) -> dict[str, tuple[Interval, ...]] | None:
    """The cached busy times of every rep in `reps`, or None when the cache is missing,
    older than MAX_AGE, from the future, damaged, or lacks one of them."""
    data = kv.get(KEY)
    if not isinstance(data, Mapping):
        return None
    try:
        at = datetime.fromtimestamp(int(data["at"]), UTC)
        raw = data["busy"]
        if not (timedelta(0) <= now - at <= MAX_AGE) or not isinstance(raw, Mapping):
            return None
        out: dict[str, tuple[Interval, ...]] = {}
        for rep in reps:
            spans = raw[rep]
            out[rep] = tuple(
                Interval(datetime.fromtimestamp(s, UTC), datetime.fromtimestamp(e, UTC))
                for s, e in spans
            )
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return None
    return out


def save(
    kv: KeyValue,
    busy: Mapping[str, Sequence[Interval]],
    errors: Mapping[str, str],
    now: datetime,
    *,
    shows_invites: bool = False,
) -> None:
    """Keep a fresh read (epoch seconds, compact); reps whose calendar failed are left out,
    so the next tick cannot use the cache and reads again. `shows_invites`: the backend's
    busy times include the reps' copies of coachd's invitations (see `shows_invites`)."""
    kv.put(
        KEY,
        {
            "at": int(now.timestamp()),
            "invites": bool(shows_invites),
            "busy": {
                rep: [[int(iv.start.timestamp()), int(iv.end.timestamp())] for iv in spans]
                for rep, spans in busy.items()
                if rep not in errors
            },
        },
    )


def shows_invites(kv: KeyValue) -> bool:
    """Whether the cached busy times include the reps' copies of coachd's invitations (as
    Google's free/busy does), so the lifecycle reads them as the fresh read would."""
    data = kv.get(KEY)
    return isinstance(data, Mapping) and data.get("invites") is True
