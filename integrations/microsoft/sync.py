"""The calendarView delta cache of the manager's calendar, kept in the state store.

A delta round is bound to the start and end given on its first request, so the cache holds
the covered window, the deltaLink to continue from, the slimmed events of that window by
Graph id, and coachd's tags by transactionId (delta cannot $expand extended properties, so
each tag is fetched once and remembered; None marks a transactionId that is not coachd's).
It is replaced wholesale after a full sync and saved only once the last page arrived.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from planner.timeutil import Interval

CACHE_VERSION = 1


def cache_key(owner: str) -> str:
    """The KV key of one mailbox's delta cache."""
    return f"microsoft:delta:{owner.lower()}"


@dataclass
class DeltaState:
    """Cached events of `cover` by Graph id, the deltaLink, and known tags by transactionId."""

    delta_link: str
    cover: Interval
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    tags: dict[str, dict[str, Any] | None] = field(default_factory=dict)

    def covers(self, window: Interval) -> bool:
        return self.cover.contains(window)

    def apply_changes(self, changes: Iterable[Mapping[str, Any]]) -> tuple[int, int]:
        """Merge a delta page: `@removed` entries leave, others are upserted. Returns
        (upserted, removed). Graph also reports events that left the window as removed."""
        up = gone = 0
        for item in changes:
            item_id = item.get("id")
            if not isinstance(item_id, str):
                continue
            if "@removed" in item:
                if self.items.pop(item_id, None) is not None:
                    gone += 1
                continue
            self.items[item_id] = dict(item)
            up += 1
        return up, gone

    def by_transaction(self) -> dict[str, str]:
        """transactionId -> Graph id for the cached events that have one."""
        out: dict[str, str] = {}
        for gid, item in self.items.items():
            tx = item.get("transactionId")
            if isinstance(tx, str) and tx:
                out[tx] = gid
        return out

    def unknown_tags(self) -> list[str]:
        """Graph ids of cached events whose transactionId has no known tag (or non-tag) yet."""
        return [
            gid
            for gid, item in self.items.items()
            if isinstance(item.get("transactionId"), str)
            and item["transactionId"]
            and item["transactionId"] not in self.tags
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "v": CACHE_VERSION,
            "delta_link": self.delta_link,
            "start": self.cover.start.isoformat(),
            "end": self.cover.end.isoformat(),
            "items": self.items,
            "tags": self.tags,
        }

    @classmethod
    def from_json(cls, data: Any, tz: ZoneInfo) -> DeltaState | None:
        """The cache from the store, or None when absent, of another version, or damaged."""
        if not isinstance(data, Mapping) or data.get("v") != CACHE_VERSION:
            return None
        try:
            link = data["delta_link"]
            start = datetime.fromisoformat(data["start"]).astimezone(tz)
            end = datetime.fromisoformat(data["end"]).astimezone(tz)
            items = data["items"]
            tags = data.get("tags") or {}
        except (KeyError, TypeError, ValueError):
            return None
        if not isinstance(link, str) or not link or not isinstance(items, Mapping):
            return None
        if not isinstance(tags, Mapping):
            return None
        return cls(
            delta_link=link,
            cover=Interval(start, end),
            items={str(k): dict(v) for k, v in items.items() if isinstance(v, Mapping)},
            tags={str(k): (dict(v) if isinstance(v, Mapping) else None) for k, v in tags.items()},
        )
