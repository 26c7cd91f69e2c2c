"""The incremental-sync cache of the manager's calendar, kept in the state store.

Google's incremental sync (`syncToken`) cannot be combined with timeMin/timeMax, so the
cache holds the raw event resources of a *covered* window and the token; each tick asks only
for what changed and filters by window locally. The cache is replaced wholesale after a full
sync and saved only once the last page has arrived, so a failure midway leaves the previous
consistent state.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from planner.timeutil import Interval

log = logging.getLogger(__name__)

CACHE_VERSION = 1


def cache_key(owner: str, calendar_id: str) -> str:
    """The KV key of one calendar's sync cache."""
    return f"google:sync:{owner.lower()}:{calendar_id}"


@dataclass
class SyncState:
    """The cached items (raw Google JSON by id) of `cover`, and the token to continue from."""

    token: str
    cover: Interval
    items: dict[str, dict[str, Any]] = field(default_factory=dict)

    def covers(self, window: Interval) -> bool:
        return self.cover.contains(window)

    def apply_changes(
        self, changes: Iterable[Mapping[str, Any]], overlaps_cover: Any
    ) -> tuple[int, int]:
        """Merge an incremental page: cancelled items leave, others are upserted when they
        touch the covered window (and leave when they moved out of it). Returns
        (upserted, removed)."""
        up = gone = 0
        for item in changes:
            item_id = item.get("id")
            if not isinstance(item_id, str):
                continue
            if item.get("status") == "cancelled":
                # A cancelled series takes its expanded instances with it.
                doomed = [k for k, v in self.items.items() if v.get("recurringEventId") == item_id]
                for k in [item_id, *doomed]:
                    if self.items.pop(k, None) is not None:
                        gone += 1
                continue
            if not overlaps_cover(item):
                if self.items.pop(item_id, None) is not None:
                    gone += 1
                continue
            self.items[item_id] = dict(item)
            up += 1
        return up, gone

    def to_json(self) -> dict[str, Any]:
        return {
            "v": CACHE_VERSION,
            "token": self.token,
            "start": self.cover.start.isoformat(),
            "end": self.cover.end.isoformat(),
            "items": self.items,
        }

    @classmethod
    def from_json(cls, data: Any, tz: ZoneInfo) -> SyncState | None:
        """The cache from the store, or None when absent, of another version, or damaged."""
        if not isinstance(data, Mapping) or data.get("v") != CACHE_VERSION:
            return None
        try:
            token = data["token"]
            start = datetime.fromisoformat(data["start"]).astimezone(tz)
            end = datetime.fromisoformat(data["end"]).astimezone(tz)
            items = data["items"]
        except (KeyError, TypeError, ValueError):
            return None
        if not isinstance(token, str) or not token or not isinstance(items, Mapping):
            return None
        clean = {str(k): dict(v) for k, v in items.items() if isinstance(v, Mapping)}
        return cls(token=token, cover=Interval(start, end), items=clean)


class MemoryKV:
    """A dict-backed KeyValue for tests, benchmarks and dry runs."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def put(self, key: str, value: Any) -> None:
        # A JSON round trip, like the real store: catches values that would not persist
        # and keeps later mutation of `value` from leaking into the stored copy.
        self.data[key] = json.loads(json.dumps(value))
