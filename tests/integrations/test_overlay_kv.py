"""OverlayKV: a dry run reads the state through it and never writes the state."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from integrations.store.state import StateStore
from integrations.tick.app import OverlayKV

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_writes_stay_in_memory_and_deletes_hide_the_stored_value(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    with StateStore.open(path, now=NOW) as store:
        store.put("token", "stored")
    with StateStore.open(path, readonly=True, now=NOW) as store:
        kv = OverlayKV(store)
        assert kv.get("token") == "stored"
        kv.put("token", "new")
        assert kv.get("token") == "new"
        kv.delete("token")
        assert kv.get("token", "gone") == "gone"
        kv.put("token", "again")
        assert kv.get("token") == "again"
    with StateStore.open(path, readonly=True, now=NOW) as store:
        assert store.get("token") == "stored"
