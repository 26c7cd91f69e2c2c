"""AtomicJSONStorage: complete files only, replaced by rename, private mode, clear corruption."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from tinydb import TinyDB, where

from integrations.errors import UserError
from integrations.store.atomic_storage import AtomicJSONStorage, CorruptStateError


def test_missing_file_reads_as_none(tmp_path: Path) -> None:
    assert AtomicJSONStorage(tmp_path / "s.json").read() is None


def test_write_then_read_round_trips_with_mode_0600_and_no_temp_left(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    data = {"t": {"1": {"name": "Zoë", "n": 3, "x": None}}}
    AtomicJSONStorage(path).write(data)
    assert AtomicJSONStorage(path).read() == data
    assert json.loads(path.read_text("utf-8")) == data
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]


def test_write_replaces_the_file_instead_of_rewriting_it(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    storage = AtomicJSONStorage(path)
    storage.write({"t": {"1": {"v": "old"}}})
    with path.open("rb") as before:
        storage.write({"t": {"1": {"v": "new"}}})
        # An in-place rewrite would change what the open handle reads; a rename does not.
        assert json.loads(before.read()) == {"t": {"1": {"v": "old"}}}
    assert storage.read() == {"t": {"1": {"v": "new"}}}


def test_the_file_is_private_whatever_the_umask(tmp_path: Path) -> None:
    import os

    path = tmp_path / "s.json"
    old = os.umask(0o000)
    try:
        AtomicJSONStorage(path).write({"t": {}})
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"  \n", "empty"),
        (b'{"t": {"1": {"v": 1}', "not valid JSON"),
        (b"\xff\xfe\x00", "not valid JSON"),
        (b"[1, 2]", "not a table"),
        (b'{"t": 3}', "not a table"),
        (b'{"t": {"1": 3}}', "not a table"),
    ],
)
def test_unreadable_content_raises_corrupt_state_error(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "s.json"
    path.write_bytes(content)
    with pytest.raises(CorruptStateError) as info:
        AtomicJSONStorage(path).read()
    assert info.value.path == path
    assert reason in info.value.reason
    assert str(path) in str(info.value)
    assert isinstance(info.value, UserError)
    assert path.read_bytes() == content  # reading never changes the file


def test_works_as_tinydb_storage(tmp_path: Path) -> None:
    path = tmp_path / "db.json"
    with TinyDB(path, storage=AtomicJSONStorage) as db:
        db.table("people").insert({"name": "Ana"})
        db.table("people").insert({"name": "Ben"})
    with TinyDB(path, storage=AtomicJSONStorage) as db:
        assert db.table("people").get(where("name") == "Ben") == {"name": "Ben"}
        assert len(db.table("people")) == 2


def test_a_failed_replace_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "s.json"
    target.mkdir()
    (target / "inside").write_text("x")  # a non-empty folder cannot be replaced by a file
    with pytest.raises(OSError):
        AtomicJSONStorage(target).write({"t": {}})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]
