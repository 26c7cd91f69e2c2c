"""`coachd status`: is it running, how did the last tick go, what is next, what went wrong."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from integrations.config_file import LoadedConfig
from integrations.store.lock import lock_holder
from integrations.store.state import StateStore
from integrations.tick import error_slot, skipped
from integrations.tick.app import state_path
from integrations.tick.executor import NEEDS_YOU
from integrations.tick.schedule_times import next_daily, next_weekly
from planner.timeutil import local_dt, week_monday


def _fmt(dt: datetime | str | None, tz: Any) -> str:
    if dt is None:
        return "never"
    if isinstance(dt, str):
        dt = datetime.fromisoformat(dt)
    return dt.astimezone(tz).strftime("%a %Y-%m-%d %H:%M %Z")


def needs_you_text(needs: Any) -> str:
    """The last tick's coaching that needs the manager, one item a line, options indented."""
    items = needs.get("items") if isinstance(needs, dict) else None
    if not isinstance(items, list):
        return "nothing recorded yet"
    if not items:
        return "nothing: every coaching block that is due is booked"
    lines = [f"{len(items)} item{'s' if len(items) != 1 else ''}"]
    for it in items:
        if not isinstance(it, dict):
            continue
        lines.append(f"  - {it.get('what', '')}: {_why(it)}")
        for i, o in enumerate(it.get("options") or [], 1):
            lines.append(f"      option {i}: {o}")
    return "\n".join(lines)


def _why(item: dict[str, Any]) -> str:
    text, what = str(item.get("text", "")), str(item.get("what", ""))
    why = text.removeprefix(what + ": ")
    return why.split(" Options: ")[0].rstrip(".")


def status_report(loaded: LoadedConfig, now: datetime) -> dict[str, Any]:
    """A plain dict of what an operator wants to know, in the manager's timezone."""
    p = loaded.policy
    tz = p.manager.tz
    path = state_path(loaded)
    pid = lock_holder(path)
    out: dict[str, Any] = {"daemon": f"running (pid {pid})" if pid else "not running"}
    out["state"] = str(path)
    if not path.exists():
        out["last tick"] = "never (no state yet: run `coachd once` or `coachd run`)"
        return out
    with StateStore.open(path, readonly=True, now=now) as store:
        hb = store.last_heartbeat()
        tick = store.last_tick()
        monday = local_dt(week_monday(now.astimezone(tz).date()), datetime.min.time(), tz)
        counts = store.counts(monday)
        err = store.last_error()
        skips = skipped.current(store)
        needs = store.get(NEEDS_YOU)
    slot = error_slot.read(path)
    if slot is not None and (err is None or slot["at"] > err["at"]):
        err = slot  # written when the state itself could not be (a full disk)
    out["heartbeat"] = _fmt(hb.get("at") if isinstance(hb, dict) else hb, tz)
    if tick:
        outcome = "ok" if tick.get("ok") else f"failed: {tick.get('error')}"
        done = ", ".join(f"{k} {v}" for k, v in sorted((tick.get("summary") or {}).items()))
        out["last tick"] = f"{_fmt(tick.get('finished'), tz)}: {outcome}" + (
            f" ({done})" if done else ""
        )
        nxt = datetime.fromisoformat(str(tick["finished"])) + p.daemon.tick
        out["next tick"] = _fmt(max(nxt, now) if pid else nxt, tz) + (
            "" if pid else " (if running)"
        )
    else:
        out["last tick"] = "never"
    if p.email.summary.enabled:
        out["next summary"] = _fmt(
            next_weekly(now, p.email.summary.day, p.email.summary.time, tz), tz
        )
    if p.email.digest.enabled:
        out["next digest"] = _fmt(next_daily(now, p.email.digest.time, tz), tz)
    out["needs you"] = needs_you_text(needs)
    names = ("booked", "declined", "flagged", "emailed")
    out["this week"] = ", ".join(f"{n} {counts.get(n, 0)}" for n in names)
    if skips:
        skipped_now = sorted(skips)
        more = f" (and {len(skipped_now) - 3} more)" if len(skipped_now) > 3 else ""
        out["skipped"] = f"{len(skipped_now)}: " + "; ".join(skipped_now[:3]) + more
    if err:
        at = err.get("at") if isinstance(err, dict) else None
        msg = err.get("message") if isinstance(err, dict) else str(err)
        out["last error"] = f"{_fmt(at, tz)}: {msg}"
    else:
        out["last error"] = "none"
    fault = error_slot.read_fault(path)
    if fault is not None:  # a disk or permission fault not yet over (see fault_mail)
        mail = {
            "sent": "the manager was emailed",
            "sending": "emailed, unconfirmed (coachd stopped while sending; not resent)",
        }
        try:
            since = _fmt(str(fault.get("since")), tz)
        except ValueError:
            since = "unknown"
        out["fault"] = f"since {since}; " + mail.get(
            str(fault.get("mail")), "not emailed yet (mail could not go)"
        )
    return out
