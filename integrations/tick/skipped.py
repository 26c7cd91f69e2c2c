"""What a tick skipped (a malformed or oversized .ics file, a bad KPI row, a missing
folder), remembered across ticks so each is logged once when it appears, not every tick,
and `coachd status` names what is skipped now."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from integrations.store.kv import KeyValue

KEY = "skipped:objects"  # warning text -> when it was first seen (ISO)


def remember(store: KeyValue, warnings: Sequence[str], now: datetime) -> list[str]:
    """Record this tick's warnings; returns the ones not seen on the previous tick. A
    warning that stopped appearing is forgotten (fixed), so it is logged again if it
    comes back."""
    old = current(store)
    now_iso = now.isoformat()
    fresh = {w: old.get(w, now_iso) for w in warnings}
    if fresh != old:
        store.put(KEY, fresh)
    return [w for w in dict.fromkeys(warnings) if w not in old]


def current(store: KeyValue) -> dict[str, str]:
    raw = store.get(KEY)
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
