"""`coachd status --json`: the same facts as `coachd status`, typed for scripts and monitors.

Numbers are numbers, flags are booleans, times are ISO 8601 with the manager's UTC offset,
and a missing fact is null (never a sentence in place of a value).
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from integrations.config_file import LoadedConfig
from integrations.store.lock import lock_holder
from integrations.store.state import StateStore
from integrations.tick.app import state_path
from integrations.tick.schedule_times import next_daily, next_weekly
from planner.timeutil import local_dt, week_monday

COUNTED = ("booked", "moved", "cancelled", "declined", "flagged", "emailed")


def _iso(dt: datetime | None, tz: tzinfo) -> str | None:
    return None if dt is None else dt.astimezone(tz).isoformat()


def status_json(loaded: LoadedConfig, now: datetime) -> dict[str, Any]:
    """Typed status: running/pid, state path, heartbeat, last tick, next jobs, week counts."""
    p = loaded.policy
    tz = p.manager.tz
    path = state_path(loaded)
    pid = lock_holder(path)
    out: dict[str, Any] = {
        "running": pid is not None,
        "pid": pid,
        "state": str(path),
        "now": _iso(now, tz),
        "timezone": p.manager.timezone,
        "heartbeat": None,
        "last_tick": None,
        "next_tick": None,
        "next_summary": _iso(next_weekly(now, p.email.summary.day, p.email.summary.time, tz), tz)
        if p.email.summary.enabled
        else None,
        "next_digest": _iso(next_daily(now, p.email.digest.time, tz), tz)
        if p.email.digest.enabled
        else None,
        "this_week": dict.fromkeys(COUNTED, 0),
        "last_error": None,
    }
    if not path.exists():
        return out
    with StateStore.open(path, readonly=True, now=now) as store:
        hb = store.last_heartbeat()
        tick = store.last_tick()
        monday = local_dt(week_monday(now.astimezone(tz).date()), datetime.min.time(), tz)
        counts = store.counts(monday)
        err = store.last_error()
    if hb is not None:
        out["heartbeat"] = {"at": _iso(hb["at"], tz), "pid": hb["pid"]}
    if tick is not None:
        started, finished = tick["started"], tick["finished"]
        out["last_tick"] = {
            "started": _iso(started, tz),
            "finished": _iso(finished, tz),
            "seconds": round((finished - started).total_seconds(), 3),
            "ok": tick["ok"],
            "error": tick["error"],
            "summary": {str(k): int(v) for k, v in tick["summary"].items()},
        }
        nxt = finished + p.daemon.tick
        out["next_tick"] = _iso(max(nxt, now), tz) if pid else None
    out["this_week"] = {k: int(counts.get(k, 0)) for k in COUNTED} | {
        str(k): int(v) for k, v in counts.items() if k not in COUNTED
    }
    if err is not None:
        out["last_error"] = {"at": _iso(err["at"], tz), "message": err["message"]}
    return out
