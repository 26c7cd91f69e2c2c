"""One contract test per state port (integrations/store/state_ports.py), run against every
implementation it has: StateStore for all of them, and the dry runs' OverlayKV and the
in-memory MemoryKV for the key-value ports."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from integrations.google.sync import MemoryKV
from integrations.store.state import StateStore
from integrations.store.state_ports import (
    BookingStore,
    DecisionStore,
    KeyValue,
    SentMail,
    SyncTokens,
)
from integrations.tick.app import OverlayKV
from planner.model import BookingRecord, Decision

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    with StateStore.open(tmp_path / "state.json", now=NOW) as s:
        yield s


def _booking(key: str, status: str = "booked") -> BookingRecord:
    return BookingRecord(
        key=key,
        event_id=f"ev-{key}",
        generation=0,
        status=status,
        kind="one_on_one",
        rep="alex@example.com",
        start=NOW + timedelta(days=1),
        end=NOW + timedelta(days=1, minutes=30),
    )


def test_booking_store_contract(store: StateStore) -> None:
    port: BookingStore = store
    assert port.bookings() == {}
    port.put_booking(_booking("a"))
    port.put_booking(_booking("b"))
    port.put_booking(_booking("a", status="cancelled"))  # same key: replaced, not added
    got = port.bookings()
    assert sorted(got) == ["a", "b"]
    assert got["a"] == _booking("a", status="cancelled")


def test_decision_store_contract(store: StateStore) -> None:
    port: DecisionStore = store
    d = Decision(
        event_id="ev1",
        fingerprint="f1",
        action="decline",
        rule="facilities",
        reason="matched",
        decided_at=NOW,
        title="Parking",
        organizer="ops@example.com",
        start=NOW + timedelta(days=2),
    )
    assert port.decisions() == {}
    port.put_decision(d)
    port.put_decision(Decision(**{**d.__dict__, "action": "flag"}))
    assert list(port.decisions()) == ["ev1"]
    assert port.decisions()["ev1"].action == "flag"


def test_sent_mail_contract(store: StateStore) -> None:
    port: SentMail = store
    assert port.email_record("k") is None
    assert port.mark_email_sending("k", kind="digest", to=["dana@example.com"], at=NOW) == 1
    rec = port.email_record("k")
    assert rec is not None and rec.status == "sending" and rec.to == ("dana@example.com",)
    assert port.sent_keys() == frozenset()
    port.mark_email_failed("k", at=NOW, error="refused")
    assert port.mark_email_sending("k", kind="digest", to=["dana@example.com"], at=NOW) == 2
    port.mark_email_sent("k", at=NOW)
    rec = port.email_record("k")
    assert rec is not None and rec.status == "sent" and rec.attempts == 2
    assert port.sent_keys() == frozenset({"k"})


def _key_value_contract(port: KeyValue) -> None:
    assert port.get("missing") is None
    assert port.get("missing", {"d": 1}) == {"d": 1}
    value = {"token": "abc", "pages": [1, 2]}
    port.put("k", value)
    assert port.get("k") == value
    port.put("k", {"token": "def"})
    assert port.get("k") == {"token": "def"}


def _sync_tokens_contract(port: SyncTokens) -> None:
    _key_value_contract(port)
    port.delete("k")
    port.delete("never-there")  # no error
    assert port.get("k") is None


@pytest.mark.parametrize("impl", ["state", "overlay", "memory"])
def test_key_value_contract(store: StateStore, impl: str) -> None:
    port: KeyValue = {"state": store, "overlay": OverlayKV(store), "memory": MemoryKV()}[impl]
    _key_value_contract(port)


@pytest.mark.parametrize("impl", ["state", "overlay"])
def test_sync_tokens_contract(store: StateStore, impl: str) -> None:
    port: SyncTokens = store if impl == "state" else OverlayKV(store)
    _sync_tokens_contract(port)


def test_the_overlay_never_writes_through(store: StateStore) -> None:
    store.put("k", {"v": 1})
    overlay = OverlayKV(store)
    overlay.put("k", {"v": 2})
    overlay.delete("k")
    assert store.get("k") == {"v": 1}
