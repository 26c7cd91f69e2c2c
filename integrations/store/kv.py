"""The key-value port: what the state store offers adapters that keep a little memory (sync
tokens, caches, handled Message-IDs). One Protocol for all of them; StateStore and the dry
runs' OverlayKV implement it."""

from __future__ import annotations

from typing import Any, Protocol


class KeyValue(Protocol):
    """JSON-ready values under string keys."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def put(self, key: str, value: Any) -> None: ...
