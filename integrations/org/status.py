"""One line of `coachd org status` per manager: their last tick, or why they do not run."""

from __future__ import annotations

from typing import Any

from integrations.commands.cli.once_output import once_line
from integrations.org.roster import Entry
from integrations.store.state import StateStore
from integrations.tick.app import state_path


def manager_status(entry: Entry) -> dict[str, Any]:
    """{manager, ok, last_tick, error, summary}: read-only, safe while `org run` runs."""
    if entry.loaded is None:
        first = entry.errors[0] if entry.errors else "unknown"
        more = f" (+{len(entry.errors) - 1} more)" if len(entry.errors) > 1 else ""
        return {
            "manager": entry.email,
            "ok": False,
            "last_tick": None,
            "error": entry.errors,
            "summary": f"NOT RUNNING: config error: {first}{more}",
        }
    path = state_path(entry.loaded)
    if not path.exists():
        return {
            "manager": entry.email,
            "ok": True,
            "last_tick": None,
            "error": None,
            "summary": "no tick yet",
        }
    from integrations import clock

    with StateStore.open(path, readonly=True, now=clock.now()) as store:
        tick = store.last_tick()
    line = once_line(tick).removeprefix("coachd once: ")
    if tick is not None:
        line = f"{tick['finished'].isoformat(timespec='seconds')} {line}"
    return {
        "manager": entry.email,
        "ok": tick is None or bool(tick["ok"]),
        "last_tick": tick,
        "error": None if tick is None else tick.get("error"),
        "summary": line,
    }
