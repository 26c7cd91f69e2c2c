"""No escapes: person addresses are plain, derived paths stay under their roots, symbolic
links leading out are refused, and temp files left by killed writes are cleaned up; config
values too large for Python are `file:line` errors, not tracebacks (issue #16)."""

from __future__ import annotations

import logging
import os
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from calendar_contract import TZ, WINDOW

from integrations.calendar.local import LocalCalendar
from integrations.calendar.vdir import UnsafePath, person_dir
from integrations.config_file import load_policy
from integrations.errors import ConfigError, UserError
from integrations.fsutil import remove_stale_temp_files
from integrations.notes import open_items
from integrations.tick.app import remove_stale_temp_files as remove_stale_files_on_start

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
MANAGER = "manager@example.com"
EVENT = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:secret\r\n"
    b"DTSTAMP:20270201T000000Z\r\nDTSTART:20270309T150000Z\r\nDURATION:PT1H\r\n"
    b"SUMMARY:Someone else's meeting\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def _config_errors(tmp_path: Path, rep_email: str, extra: str = "") -> list[str]:
    text = textwrap.dedent(
        f"""\
        manager:
          name: Dana
          email: {MANAGER}
          timezone: America/Chicago
        team:
          - name: Alex
            email: alex@example.com
          - name: Sam
            email: "{rep_email}"
        """
    )
    (tmp_path / "config.yaml").write_text(text + extra, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_policy(tmp_path / "config.yaml")
    return exc.value.errors


@pytest.mark.parametrize(
    "email",
    [
        "../../../../../tmp/x/x@y.com",
        "a/b@example.com",
        "a\\\\b@example.com",
        "a..b@example.com",
        "\u0430lex@example.com",  # a Cyrillic 'а': reads as alex@example.com
    ],
)
def test_a_rep_address_that_could_be_a_path_is_a_config_error(tmp_path: Path, email: str) -> None:
    [err] = _config_errors(tmp_path, email)
    assert err.startswith(f"{tmp_path / 'config.yaml'}:9: team[1].email: must be a plain email")


def test_a_rep_address_that_looks_like_a_colleagues_is_a_config_error(tmp_path: Path) -> None:
    [err] = _config_errors(tmp_path, "a1ex@example.com")
    assert "looks like rep alex@example.com" in err and ": team: " in err


def test_a_horizon_too_large_for_python_is_a_line_error_not_a_traceback(tmp_path: Path) -> None:
    extra = (
        "coaching:\n  horizon: 99999999999 weeks\ndaemon:\n  tick: 999999999999999999999 hours\n"
    )
    errs = _config_errors(tmp_path, "sam@example.com", extra)
    assert [e.split(": ", 2)[1] for e in errs] == ["coaching.horizon", "daemon.tick"]
    assert all("far too long" in e for e in errs)
    assert errs[0].startswith(f"{tmp_path / 'config.yaml'}:11:")


def test_person_dir_refuses_names_and_links_that_leave_the_root(tmp_path: Path) -> None:
    root = tmp_path / "calendar"
    root.mkdir()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    for bad in ("../elsewhere", "a/b", ".hidden", "x\x00y", ""):
        with pytest.raises(UnsafePath):
            person_dir(root, bad)
    (root / "rep@example.com").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafePath, match="symbolic link"):
        person_dir(root, "rep@example.com")


def test_a_rep_folder_linked_outside_the_root_is_an_error_not_a_read(tmp_path: Path) -> None:
    root = tmp_path / "calendar"
    (root / MANAGER).mkdir(parents=True)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.ics").write_bytes(EVENT)
    (root / "rep@example.com").symlink_to(outside, target_is_directory=True)
    cal = LocalCalendar(root, TZ, clock=lambda: NOW)
    busy = cal.busy(["rep@example.com"], WINDOW)
    assert "rep@example.com" in busy.errors and busy.busy == {}
    with pytest.raises(UserError):
        cal.read("rep@example.com", WINDOW)


def test_an_event_file_linked_outside_its_folder_is_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "calendar"
    folder = root / MANAGER
    folder.mkdir(parents=True)
    secret = tmp_path / "secret.ics"
    secret.write_bytes(EVENT)
    (folder / "link.ics").symlink_to(secret)
    with caplog.at_level(logging.WARNING):
        got = LocalCalendar(root, TZ, clock=lambda: NOW).read(MANAGER, WINDOW)
    assert got.events == []
    assert any(
        "link.ics" in r.getMessage() and "leading out" in r.getMessage() for r in caplog.records
    )


def test_notes_are_never_read_from_outside_the_notes_folder(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    private = tmp_path / "private.md"
    private.write_text("- [ ] the CEO's salary\n", encoding="utf-8")
    (notes / "sam@example.com.md").symlink_to(private)
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "x@y.com.md").write_text("- [ ] outside\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        assert open_items(notes, "sam@example.com") == ()
        assert open_items(notes, "../x/x@y.com") == ()
    assert sum("outside the notes folder" in r.getMessage() for r in caplog.records) == 2
    # A plain file (or a link that stays inside) is read as before.
    (notes / "alex@example.com.md").write_text("- [ ] call back Acme\n", encoding="utf-8")
    assert open_items(notes, "alex@example.com") == ("call back Acme",)


def test_temp_files_older_than_an_hour_are_removed(tmp_path: Path) -> None:
    old = tmp_path / ".abc.ics.0123456789ab.tmp"
    fresh = tmp_path / ".def.ics.ba9876543210.tmp"
    other = tmp_path / ".keep-me.tmp"
    for p in (old, fresh, other):
        p.write_bytes(b"half a file")
    now = time.time()
    os.utime(old, (now - 7200, now - 7200))
    os.utime(other, (now - 7200, now - 7200))
    assert remove_stale_temp_files(tmp_path, now) == 1
    assert not old.exists() and fresh.exists() and other.exists()


def test_the_local_calendar_sweeps_every_person_folder(tmp_path: Path) -> None:
    root = tmp_path / "calendar"
    stale = []
    for person in (MANAGER, "rep@example.com"):
        (root / person).mkdir(parents=True)
        p = root / person / f".{person}.ics.00000000000a.tmp"
        p.write_bytes(b"")
        os.utime(p, (1000.0, 1000.0))
        stale.append(p)
    assert LocalCalendar(root, TZ).remove_stale_temp_files(time.time()) == 2
    assert not any(p.exists() for p in stale)


def test_start_up_removes_old_temp_files_from_the_calendar_and_state_folders(
    tmp_path: Path,
) -> None:
    (tmp_path / "config.yaml").write_text(
        f"manager:\n  name: Dana\n  email: {MANAGER}\n  timezone: America/Chicago\nteam: []\n",
        encoding="utf-8",
    )
    loaded = load_policy(tmp_path / "config.yaml")
    folders = [tmp_path / "calendar" / MANAGER, tmp_path / "state"]
    left = []
    for folder in folders:
        folder.mkdir(parents=True)
        p = folder / ".x.ics.0123456789ab.tmp"
        p.write_bytes(b"half")
        os.utime(p, (1000.0, 1000.0))
        left.append(p)
    remove_stale_files_on_start(loaded)
    assert not any(p.exists() for p in left)
