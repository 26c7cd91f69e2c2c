"""Every error a sentence (issue #16): a full disk is one clear line in the log and in
`coachd status`, a reload rejected for an oversized value emails the manager, and a stop
signal during a tick says what was left undone."""

from __future__ import annotations

import errno
import logging
import mailbox
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from daemon import Daemon, main
from integrations.config_file import load_policy
from integrations.store.state import StateStore
from integrations.tick.run_loop import tick_and_record


def _disk_full(*_args: Any, **_kwargs: Any) -> None:
    raise OSError(errno.ENOSPC, "No space left on device", "/var/lib/coachd/state")


def test_a_full_disk_is_one_line_in_the_log_and_in_status(
    demo: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg = str(demo / "config.yaml")
    assert main(["once", "--config", cfg]) == 0
    # Every durable write now fails as on a full disk: the state (its file and its journal)
    # and the calendar files.
    monkeypatch.setattr("integrations.store.atomic_storage.atomic_write", _disk_full)
    monkeypatch.setattr("integrations.fsutil.atomic_write", _disk_full)
    monkeypatch.setattr("integrations.store.state_journal.Journal.append", _disk_full)
    capsys.readouterr()
    assert main(["once", "--config", cfg]) == 1
    log = capsys.readouterr().err  # main() logs to stderr
    assert "Traceback" not in log
    assert "tick failed: disk full: no space left on the device (/var/lib/coachd/state)" in log
    monkeypatch.undo()
    assert main(["status", "--config", cfg]) == 0
    [line] = [x for x in capsys.readouterr().out.splitlines() if x.startswith("last error:")]
    assert "disk full" in line


def test_a_reload_rejected_for_an_oversized_value_emails_the_manager(
    demo: Path, pinned_now: datetime
) -> None:
    cfg = demo / "config.yaml"
    d = Daemon(cfg)
    conf = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    conf["coaching"]["horizon"] = "99999999999 weeks"  # an OverflowError in Python
    cfg.write_text(yaml.safe_dump(conf, sort_keys=False), encoding="utf-8")
    with StateStore.open(demo / "state" / "coachd.json", now=pinned_now) as store:
        d.store = store
        d._reload()
        assert "config reload rejected" in str(store.last_error())
    box = mailbox.Maildir(str(demo / "outbox"), create=False)
    [alert] = [m for m in box if str(m["X-Coachd-Key"]).startswith("config_error:")]
    text = [
        p.get_payload(decode=True).decode()
        for p in alert.walk()
        if p.get_content_type() == "text/plain"
    ]
    assert "coaching.horizon: is far too long" in text[0]


def test_a_stop_signal_during_a_tick_says_what_was_left_undone(
    demo: Path, pinned_now: datetime, caplog: pytest.LogCaptureFixture
) -> None:
    loaded = load_policy(demo / "config.yaml")
    with (
        StateStore.open(demo / "state" / "coachd.json", now=pinned_now) as store,
        caplog.at_level(logging.INFO),
    ):
        # SIGTERM arrived while planning: the executor finds the stop flag before acting.
        tick_and_record(loaded, store, stop_requested=lambda: True)
    assert "tick ok" not in caplog.text and "nothing to do" not in caplog.text
    assert "tick stopped by a stop signal" in caplog.text
    assert "calendar writes" in caplog.text and "left undone for the next run" in caplog.text


def test_a_skipped_file_is_logged_once_and_named_in_status(
    demo: Path, pinned_now: datetime, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = str(demo / "config.yaml")
    folder = next(p for p in (demo / "calendar").iterdir() if p.name.startswith("dana"))
    (folder / "spam.ics").write_bytes(
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//x//EN\r\nBEGIN:VEVENT\r\nUID:spam\r\n"
        b"DTSTAMP:20260101T000000Z\r\nDTSTART:20261130T140000Z\r\nRRULE:FREQ=SECONDLY\r\n"
        b"END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    assert main(["once", "--config", cfg]) == 0
    first = capsys.readouterr().err
    assert main(["once", "--config", cfg]) == 0
    second = capsys.readouterr().err
    assert sum("spam.ics" in line and "WARNING" in line for line in first.splitlines()) == 1
    assert "spam.ics" not in second
    assert main(["status", "--config", cfg]) == 0
    [line] = [x for x in capsys.readouterr().out.splitlines() if x.startswith("skipped:")]
    assert "spam.ics" in line and "more often than hourly" in line
