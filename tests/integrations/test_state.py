"""StateStore: round trips, the single-writer lock, corruption recovery, kill -9, compaction."""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from integrations.errors import UserError
from integrations.store.atomic_storage import CorruptStateError
from integrations.store.lock import StateLock, lock_holder
from integrations.store.state import EmailRecord, StateStore
from planner.model import BookingRecord, Decision

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 3, 9, 14, 30, 15, 123456, tzinfo=NY)
HELPER = Path(__file__).with_name("state_writer.py")
SLOTS = 7  # as in state_writer.py


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "coachd.json"


@pytest.fixture
def store(path: Path) -> Iterator[StateStore]:
    with StateStore.open(path, now=NOW) as s:
        yield s


def booking(key: str, start: datetime, *, status: str = "booked", gen: int = 0) -> BookingRecord:
    return BookingRecord(
        key=key,
        event_id=f"ev-{key}-{gen}",
        generation=gen,
        status=status,  # type: ignore[arg-type]
        kind="one_on_one",
        rep="ana@example.com",
        start=start,
        end=start + timedelta(minutes=45),
    )


def decision(event_id: str, start: datetime | None, decided_at: datetime = NOW) -> Decision:
    return Decision(
        event_id=event_id,
        fingerprint=f"fp-{event_id}",
        action="decline",
        rule="facilities",
        reason="rule 'facilities' matched the title",
        decided_at=decided_at,
        title="Parking update",
        organizer="ops@example.com",
        start=start,
    )


def reopened(path: Path) -> StateStore:
    """A second, read-only view: it sees exactly what is on disk."""
    return StateStore.open(path, readonly=True, now=NOW)


# --- round trips ---------------------------------------------------------------------------


def test_bookings_round_trip_exactly_and_upsert_by_key(store: StateStore, path: Path) -> None:
    a = booking("one_on_one:ana:2026-W11", NOW)
    b = booking("huddle:-:2026-03-10", datetime(2026, 3, 10, 8, 0, tzinfo=UTC), status="pending")
    store.put_booking(a)
    store.put_booking(b)
    moved = BookingRecord(**{**a.__dict__, "start": NOW + timedelta(days=1), "generation": 1})
    store.put_booking(moved)
    with reopened(path) as disk:
        got = disk.bookings()
    assert got == {moved.key: moved, b.key: b}
    # Same instant and the same offset, microseconds included.
    assert got[moved.key].start.utcoffset() == timedelta(hours=-4)
    assert got[moved.key].start.isoformat() == moved.start.isoformat()
    assert got[b.key].start.utcoffset() == timedelta(0)


def test_decisions_round_trip_with_and_without_start(store: StateStore, path: Path) -> None:
    d1 = decision("e1", NOW + timedelta(days=2))
    d2 = decision("e2", None)
    store.put_decision(d1)
    store.put_decision(d2)
    d1b = Decision(**{**d1.__dict__, "action": "flag"})
    store.put_decision(d1b)
    with reopened(path) as disk:
        assert disk.decisions() == {"e1": d1b, "e2": d2}


def test_email_life_cycle(store: StateStore, path: Path) -> None:
    assert store.email_record("agenda:ana:2026-03-10") is None
    later = NOW + timedelta(minutes=5)
    assert store.mark_email_sending("k1", kind="agenda", to=["ana@example.com"], at=NOW) == 1
    store.mark_email_failed("k1", at=NOW, error="550 mailbox unavailable")
    failed = store.email_record("k1")
    assert failed is not None
    assert (failed.status, failed.error, failed.attempts) == (
        "failed",
        "550 mailbox unavailable",
        1,
    )
    assert store.mark_email_sending("k1", kind="agenda", to=("ana@example.com",), at=later) == 2
    assert store.mark_email_sending("k2", kind="summary", to=["m@example.com"], at=NOW) == 1
    assert store.sent_keys() == frozenset()
    store.mark_email_sent("k1", at=later)
    with reopened(path) as disk:
        assert disk.email_record("k1") == EmailRecord(
            key="k1", status="sent", attempts=2, kind="agenda", to=("ana@example.com",), at=later
        )
        k2 = disk.email_record("k2")
        assert k2 is not None and k2.status == "sending"
        assert disk.sent_keys() == frozenset({"k1"})


def test_key_value_round_trip_copy_and_delete(store: StateStore, path: Path) -> None:
    assert store.get("google:sync", "none") == "none"
    value = {"token": "abc", "events": [{"id": "x", "n": 1.5}], "ok": True}
    store.put("google:sync", value)
    store.put("count", 3)
    value["token"] = "changed after put"
    got = store.get("google:sync")
    got["events"].append("changed after get")
    with reopened(path) as disk:
        assert disk.get("google:sync") == {
            "token": "abc",
            "events": [{"id": "x", "n": 1.5}],
            "ok": True,
        }
        assert disk.get("count") == 3
    assert store.get("google:sync")["events"] == [{"id": "x", "n": 1.5}]
    store.delete("count")
    store.delete("never-there")
    with reopened(path) as disk:
        assert disk.get("count") is None
        assert disk.get("google:sync")["token"] == "abc"


def test_values_that_are_not_json_are_refused_at_put(store: StateStore, path: Path) -> None:
    with pytest.raises(TypeError, match="'bad'"):
        store.put("bad", {"when": NOW})
    store.put("fine", 1)  # the store is still usable
    with reopened(path) as disk:
        assert disk.get("bad") is None
        assert disk.get("fine") == 1


def test_naive_datetimes_are_refused(store: StateStore) -> None:
    with pytest.raises(ValueError, match="naive"):
        store.put_booking(booking("k", datetime(2026, 3, 9, 10, 0)))
    assert store.bookings() == {}


def test_tick_heartbeat_and_error_round_trip(store: StateStore, path: Path) -> None:
    assert store.last_tick() is None
    assert store.last_heartbeat() is None
    assert store.last_error() is None
    finished = NOW + timedelta(seconds=3)
    store.record_tick(started=NOW, finished=finished, ok=False, summary={"booked": 2}, error="boom")
    store.heartbeat(finished, 4242)
    store.record_error(finished, "calendar unreachable")
    with reopened(path) as disk:
        assert disk.last_tick() == {
            "started": NOW,
            "finished": finished,
            "ok": False,
            "summary": {"booked": 2},
            "error": "boom",
        }
        assert disk.last_heartbeat() == {"at": finished, "pid": 4242}
        assert disk.last_error() == {"at": finished, "message": "calendar unreachable"}
    store.record_tick(started=finished, finished=finished, ok=True, summary={}, error=None)
    tick = store.last_tick()
    assert tick is not None and tick["ok"] is True and tick["error"] is None


def test_counts_group_the_action_log_since_a_time(store: StateStore) -> None:
    monday = datetime(2026, 3, 9, 0, 0, tzinfo=NY)
    store.log_action(monday - timedelta(seconds=1), "booked", "last week")
    store.log_action(monday, "booked", "1:1 Ana")
    store.log_action(monday + timedelta(hours=2), "booked", "1:1 Ben")
    store.log_action(monday + timedelta(hours=3), "declined", "'Parking' (facilities)")
    # Another zone, same instant rules: 05:00 UTC is 01:00 in New York, after Monday 00:00.
    store.log_action(datetime(2026, 3, 9, 5, 0, tzinfo=UTC), "emailed", "agenda")
    assert store.counts(monday) == {"booked": 2, "declined": 1, "emailed": 1}
    assert store.counts(monday + timedelta(days=1)) == {}


# --- opening, read-only, batches -----------------------------------------------------------


def test_open_creates_private_folders_and_a_private_file(path: Path) -> None:
    with StateStore.open(path, now=NOW) as s:
        s.put("x", 1)
        assert s.recovered_from is None
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_readonly_missing_file_reads_empty_and_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "coachd.json"
    with StateStore.open(path, readonly=True, now=NOW) as s:
        assert s.bookings() == {}
        assert s.sent_keys() == frozenset()
        assert s.last_tick() is None
        with pytest.raises(RuntimeError, match="read-only"):
            s.put("x", 1)
    assert not tmp_path.joinpath("nowhere").exists()


def test_readonly_open_takes_no_lock(store: StateStore, path: Path) -> None:
    store.put("x", 1)
    with reopened(path) as disk:
        assert disk.get("x") == 1
    assert lock_holder(path) == os.getpid()


def test_batch_writes_once_at_the_end(store: StateStore, path: Path) -> None:
    store.put("before", 0)
    with store.batch():
        store.put("a", 1)
        with store.batch():  # nested batches join the outer one
            store.put_booking(booking("k", NOW))
        with reopened(path) as disk:
            assert disk.get("a") is None and disk.bookings() == {}
        assert store.get("a") == 1  # the store itself sees its pending updates
    with reopened(path) as disk:
        assert disk.get("a") == 1
        assert set(disk.bookings()) == {"k"}


def test_a_failing_batch_changes_nothing(store: StateStore, path: Path) -> None:
    store.put("a", 1)
    with pytest.raises(KeyError), store.batch():
        store.put("a", 2)
        store.put_booking(booking("k", NOW))
        raise KeyError("boom")
    assert store.get("a") == 1
    assert store.bookings() == {}
    store.put("b", 3)  # and it keeps working afterwards
    with reopened(path) as disk:
        assert (disk.get("a"), disk.get("b"), disk.bookings()) == (1, 3, {})


def test_stale_temp_files_are_removed_at_open(path: Path) -> None:
    with StateStore.open(path, now=NOW) as s:
        s.put("x", 1)
    stale = path.with_name(f".{path.name}.0123456789ab.tmp")
    stale.write_text('{"half": ')
    with StateStore.open(path, now=NOW) as s:
        assert s.get("x") == 1
    assert not stale.exists()


def test_a_state_from_a_newer_coachd_is_refused(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"meta": {"1": {"schema": 99}}}))
    with pytest.raises(UserError, match="newer coachd"):
        StateStore.open(path, now=NOW)
    assert lock_holder(path) is None  # the lock is not left behind


def test_a_malformed_record_is_skipped_not_fatal(
    store: StateStore, path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = booking("good", NOW)
    store.put_booking(good)
    store.checkpoint()  # the booking is in the journal until then
    data = json.loads(path.read_text())
    data["bookings"]["77"] = {"key": "bad", "start": "not a time"}
    path.write_text(json.dumps(data))
    with caplog.at_level(logging.WARNING), reopened(path) as disk:
        assert disk.bookings() == {"good": good}
    assert "malformed bookings record" in caplog.text


# --- corruption at open --------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"", b'{"bookings": {"1": {"key": "k", "sta'])
def test_an_unreadable_file_is_kept_aside_and_a_fresh_state_begins(
    path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with caplog.at_level(logging.ERROR), StateStore.open(path, now=NOW) as s:
        backup = s.recovered_from
        assert backup is not None
        assert backup == path.with_name("coachd.json.corrupt-20260309T183015Z")
        assert backup.read_bytes() == content
        assert s.bookings() == {}
        s.put_booking(booking("k", NOW))
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert str(path) in errors[0].getMessage() and str(backup) in errors[0].getMessage()
    with StateStore.open(path, now=NOW) as s:
        assert s.recovered_from is None
        assert set(s.bookings()) == {"k"}


def test_a_second_recovery_in_the_same_second_keeps_both_backups(path: Path) -> None:
    path.parent.mkdir(parents=True)
    backups = []
    for content in (b"first", b"second"):
        path.write_bytes(content)
        with StateStore.open(path, now=NOW) as s:
            assert s.recovered_from is not None
            backups.append(s.recovered_from)
    assert backups[0] != backups[1]
    assert [b.read_bytes() for b in backups] == [b"first", b"second"]


def test_readonly_open_of_an_unreadable_file_raises_and_touches_nothing(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"{trunc")
    with pytest.raises(CorruptStateError, match=r"coachd\.json"):
        StateStore.open(path, readonly=True, now=NOW)
    assert sorted(p.name for p in path.parent.iterdir()) == ["coachd.json"]


# --- compaction ----------------------------------------------------------------------------


def test_compact_drops_old_records_and_keeps_recent_ones(store: StateStore, path: Path) -> None:
    old = NOW - timedelta(weeks=27)
    recent = NOW - timedelta(weeks=25)
    store.put_booking(booking("old", old))
    store.put_booking(booking("recent", recent))
    store.put_booking(booking("future", NOW + timedelta(days=3)))
    store.put_decision(decision("old", old, decided_at=old))
    store.put_decision(decision("old-but-upcoming", NOW + timedelta(days=1), decided_at=old))
    store.put_decision(decision("no-start-old", None, decided_at=old))
    store.put_decision(decision("recent", recent))
    store.mark_email_sending("old", kind="agenda", to=["a@example.com"], at=old)
    store.mark_email_sent("old", at=old)
    store.mark_email_sending("recent", kind="agenda", to=["a@example.com"], at=old)
    store.mark_email_sent("recent", at=recent)
    store.log_action(old, "booked", "old")
    store.log_action(recent, "booked", "recent")
    store.put("google:sync", "token")

    assert store.compact(NOW, keep_weeks=26) == 5

    with reopened(path) as disk:
        assert set(disk.bookings()) == {"recent", "future"}
        assert set(disk.decisions()) == {"old-but-upcoming", "recent"}
        assert disk.sent_keys() == frozenset({"recent"})
        assert disk.email_record("old") is None
        assert disk.counts(old - timedelta(days=1)) == {"booked": 1}
        assert disk.get("google:sync") == "token"
    assert store.compact(NOW, keep_weeks=26) == 0


# --- the lock, across processes ------------------------------------------------------------


def _start(mode: str, path: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, str(HELPER), mode, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line != "ready\n":
        proc.kill()
        raise AssertionError(f"helper did not start: {line!r} {proc.communicate()[1]}")
    return proc


def _kill(proc: subprocess.Popen[str]) -> str:
    os.kill(proc.pid, signal.SIGKILL)
    out, _ = proc.communicate(timeout=10)
    return out


def test_a_second_writer_is_refused_and_a_killed_holder_does_not_block(path: Path) -> None:
    holder = _start("hold", path)
    try:
        assert lock_holder(path) == holder.pid
        with pytest.raises(UserError) as info:
            StateStore.open(path, now=NOW)
        assert str(info.value) == (
            f"another coachd (pid {holder.pid}) is already using {path}; stop it first"
        )
        with reopened(path) as disk:  # status still works while it runs
            assert disk.bookings() == {}
    finally:
        _kill(holder)
    assert path.with_name("coachd.json.lock").exists()  # stale, left by the killed holder
    assert lock_holder(path) is None
    with StateStore.open(path, now=NOW) as s:
        assert lock_holder(path) == os.getpid()
        s.put("x", 1)
    assert lock_holder(path) is None


def test_lock_in_one_process_refuses_another_handle(tmp_path: Path) -> None:
    state = tmp_path / "coachd.json"
    assert lock_holder(state) is None
    # flock is per open file, so a second handle in this process is refused too.
    refused = pytest.raises(UserError, match=rf"pid {os.getpid()}\).*coachd\.json; stop it")
    with StateLock(state), refused:
        StateLock(state).acquire()
    with StateLock(state) as again:
        assert again.held


# --- kill -9 at random moments -------------------------------------------------------------


def _check_consistent(path: Path, at_least: int) -> int:
    """Open the state after a kill and check it holds a whole prefix of the writer's steps."""
    with StateStore.open(path, now=NOW) as s:  # also proves the stale lock does not block
        assert s.recovered_from is None
        counter = s.get("counter", -1)
        last = s.get("last", -1)
        books = s.bookings()
    assert counter >= at_least, f"counter went back from {at_least} to {counter}"
    assert last in (counter, counter - 1)
    if counter >= 0:
        assert books[f"slot{counter % SLOTS}"].generation == counter
    for key, b in books.items():
        assert int(key.removeprefix("slot")) == b.generation % SLOTS
        assert counter - SLOTS < b.generation <= counter
    assert not list(path.parent.glob(".*.tmp"))
    return int(counter)


def _kill_campaign(path: Path, rounds: int, seed: int) -> None:
    rnd = random.Random(seed)
    seen = -1
    mid_write = 0
    for _ in range(rounds):
        proc = _start("write", path)
        # Kill anywhere from before its first write to well into a run of writes.
        delay = rnd.uniform(0.0, 0.03)
        time.sleep(delay)
        out = _kill(proc)
        assert proc.returncode == -signal.SIGKILL, "the writer died before it was killed"
        # Every counter the writer reported was stored by a call that had returned.
        reported = [int(x) for x in out.split()]
        durable = max(reported, default=seen)
        # A temp file left behind means the kill landed between its creation and the rename
        # of a whole-file write; a counter stored but never reported, that it landed between
        # a journal append and the return of the call.
        tmp_left = bool(list(path.parent.glob(f".{path.name}.*.tmp")))
        counter = _check_consistent(path, at_least=max(seen, durable))
        mid_write += tmp_left or counter > durable
        seen = counter
    assert seen > 0, "the writer never got to write"
    assert mid_write > 0, "no kill landed in the middle of a write: the test proved nothing"


def test_kill_minus_nine_at_random_moments_leaves_a_consistent_prefix(path: Path) -> None:
    _kill_campaign(path, rounds=25, seed=11)


@pytest.mark.slow
def test_kill_minus_nine_campaign(path: Path) -> None:
    _kill_campaign(path, rounds=300, seed=int.from_bytes(os.urandom(4), "big"))


def test_a_folder_in_place_of_the_state_file_is_a_clear_user_error(path: Path) -> None:
    path.mkdir(parents=True)
    with pytest.raises(UserError, match=r"cannot use the state file .*coachd\.json"):
        StateStore.open(path, now=NOW)
    assert lock_holder(path) is None
