"""The state's journal: writes that do not grow with history, and that a crash cannot spoil."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_state import NOW, booking

from integrations.store import state_journal
from integrations.store.atomic_storage import CorruptStateError
from integrations.store.state import StateStore


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "coachd.json"


def journal(path: Path) -> Path:
    return state_journal.journal_path(path)


def test_a_write_appends_to_the_journal_and_close_folds_it_in(path: Path) -> None:
    with StateStore.open(path, now=NOW) as s:
        for i in range(30):
            s.put_booking(booking(f"k{i}", NOW))
        inode = path.stat().st_ino
        size = journal(path).stat().st_size
        s.put("x", 1)
        # One short line more; the state file itself was not rewritten.
        assert path.stat().st_ino == inode
        assert 0 < journal(path).stat().st_size - size < 200
    assert not journal(path).exists()
    with StateStore.open(path, readonly=True, now=NOW) as s:
        assert len(s.bookings()) == 30 and s.get("x") == 1


def test_a_killed_writer_leaves_a_journal_the_next_open_replays(path: Path, tmp_path: Path) -> None:
    with StateStore.open(path, now=NOW) as s:
        s.put_booking(booking("a", NOW))
        with s.batch():
            s.put_booking(booking("b", NOW))
            s.delete("nothing")
        s.put("gone", 1)
        s.delete("gone")
        # What a kill -9 now would leave on disk: the file and its journal.
        crashed = tmp_path / "crashed"
        shutil.copytree(path.parent, crashed, ignore=shutil.ignore_patterns("*.lock"))
    copy = crashed / path.name
    with StateStore.open(copy, readonly=True, now=NOW) as s:
        assert set(s.bookings()) == {"a", "b"} and s.get("gone") is None
    with StateStore.open(copy, now=NOW) as s:
        assert set(s.bookings()) == {"a", "b"}


def test_a_torn_last_line_is_dropped_and_the_next_append_starts_clean(path: Path) -> None:
    with StateStore.open(path, now=NOW) as s:
        s.put_booking(booking("a", NOW))
        shutil.copy(journal(path), path.parent / "keep")
    shutil.copy(path.parent / "keep", journal(path))  # as a kill before close left it
    with journal(path).open("ab") as fh:
        fh.write(b'0badc0de [["put","bookings","9",{"key":')  # the kill cut this append
    with StateStore.open(path, now=NOW) as s:
        assert set(s.bookings()) == {"a"}
        s.put_booking(booking("b", NOW))
    with StateStore.open(path, readonly=True, now=NOW) as s:
        assert set(s.bookings()) == {"a", "b"}


def test_a_journal_replayed_over_a_file_that_already_holds_it_changes_nothing(
    path: Path,
) -> None:
    with StateStore.open(path, now=NOW) as s:
        s.put_booking(booking("a", NOW))
        s.put_booking(booking("a", NOW, gen=1))
        s.put("n", 2)
        lines = journal(path).read_bytes()
        s.checkpoint()  # a kill now, between the file's rename and the journal's removal...
        journal(path).write_bytes(lines)  # ...leaves the journal in place
    with StateStore.open(path, readonly=True, now=NOW) as s:
        assert s.bookings()["a"].generation == 1 and s.get("n") == 2


def test_a_damaged_journal_is_a_corrupt_state(path: Path) -> None:
    with StateStore.open(path, now=NOW) as s:
        s.put_booking(booking("a", NOW))
        s.put_booking(booking("b", NOW))
        lines = journal(path).read_bytes().split(b"\n")
    lines[0] = lines[0].replace(b"booked", b"BOOKED")  # its CRC no longer matches
    journal(path).write_bytes(b"\n".join(lines))
    with pytest.raises(CorruptStateError, match="journal"):
        StateStore.open(path, readonly=True, now=NOW)
    with StateStore.open(path, now=NOW) as s:
        assert s.recovered_from is not None and s.bookings() == {}
    assert list(path.parent.glob("coachd.json.journal.corrupt-*"))


def test_the_journal_is_folded_in_once_it_outgrows_the_file(path: Path) -> None:
    with StateStore.open(path, now=NOW) as s:
        for i in range(2000):
            s.put("counter", i)
        # Never more than about the file's size (or the minimum) of journal at a time.
        limit = max(64 * 1024, path.stat().st_size) + 200
        assert journal(path).stat().st_size <= limit
        assert s.get("counter") == 1999
