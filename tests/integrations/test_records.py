"""integrations.records: the records folder on disk, migration from notes/, concurrent editors,
and the meeting block a tick writes before each one-on-one."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from integrations.commands.demo import write_demo
from integrations.config_file import load_policy
from integrations.records import RecordFolder
from integrations.store.state import StateStore
from integrations.tick.app import run_tick
from planner.actions import SendEmail
from planner.record import Item, Record, add_item, parse, serialise

TZ = ZoneInfo("America/Chicago")
REP = "alex@example.com"
NOTES = "# Alex\n\n- [ ] Send the deck\n- [x] Old thing\nfree text, kept\n"


def _folder(tmp_path: Path) -> RecordFolder:
    (tmp_path / "notes").mkdir()
    return RecordFolder(tmp_path / "records", tmp_path / "notes")


def test_first_run_migrates_notes_and_nothing_is_lost(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (tmp_path / "notes" / f"{REP}.md").write_text(NOTES)
    dry = folder.read_all([(REP, "Alex")], migrate=False)
    assert [i.text for i in dry[REP].open_items()] == ["Send the deck"]
    assert not (tmp_path / "records").exists()  # a dry run writes nothing
    recs = folder.read_all([(REP, "Alex")], migrate=True)
    path = tmp_path / "records" / f"{REP}.md"
    text = path.read_text()
    assert serialise(recs[REP]) == text
    for line in NOTES.splitlines():
        assert line in text
    assert (tmp_path / "notes" / f"{REP}.md").read_text() == NOTES  # the old file stays
    # a second run changes nothing, even after the notes file changes
    (tmp_path / "notes" / f"{REP}.md").write_text("- [ ] new in notes\n")
    folder.read_all([(REP, "Alex")], migrate=True)
    assert path.read_text() == text


def test_update_keeps_a_concurrent_editors_save(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    folder.read_all([(REP, "Alex")], migrate=True)
    path = tmp_path / "records" / f"{REP}.md"
    calls = 0

    def change(r: Record) -> Record:
        nonlocal calls
        calls += 1
        if calls == 1:  # the manager saves in their editor while coachd is working
            with path.open("a") as fh:
                fh.write("- the manager's line, written mid-update\n")
        return add_item(r, Item("Role-play pricing", owner="rep", due=date(2026, 12, 9)))

    saved = folder.update(REP, "Alex", change)
    assert saved is not None and calls == 2
    text = path.read_text()
    assert "- the manager's line, written mid-update" in text
    assert text.count("Role-play pricing") == 1
    assert parse(text) == saved


def test_an_editor_that_never_stops_is_not_clobbered(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    folder.read_all([(REP, "Alex")], migrate=True)
    path = tmp_path / "records" / f"{REP}.md"
    n = 0

    def change(r: Record) -> Record:
        nonlocal n
        n += 1
        with path.open("a") as fh:
            fh.write(f"- edit {n}\n")
        return add_item(r, Item("x"))

    assert folder.update(REP, "Alex", change) is None
    text = path.read_text()
    assert all(f"- edit {i}" in text for i in range(1, n + 1)) and "[ ] x" not in text


@pytest.mark.parametrize("name", ["../evil", "a/b", "x\x00y"])
def test_names_that_lead_outside_are_refused(tmp_path: Path, name: str) -> None:
    folder = _folder(tmp_path)
    assert folder.read(name) is None
    assert folder.update(name, "x", lambda r: r) is None


def test_unusable_files_are_left_alone(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    root = tmp_path / "records"
    root.mkdir()
    bad = root / f"{REP}.md"
    bad.write_bytes(b"\xff\xfe not utf-8")
    assert folder.read_all([(REP, "Alex")], migrate=True) == {}
    assert bad.read_bytes() == b"\xff\xfe not utf-8"
    bad.write_bytes(b"x" * (1024 * 1024 + 1))
    assert folder.read(REP) is None


def test_a_tick_writes_one_meeting_block_per_one_on_one(tmp_path: Path) -> None:
    write_demo(tmp_path, date(2026, 11, 30))
    loaded = load_policy(tmp_path / "config.yaml", environ={})
    state = loaded.resolve(loaded.policy.state.path)
    state.parent.mkdir(parents=True, exist_ok=True)
    now = datetime(2026, 11, 30, 6, 0, tzinfo=TZ)
    jordan = "jordan.miles@acme-demo.com"
    with StateStore.open(state, now=now) as store:
        dry = run_tick(loaded, store, now, dry_run=True)
    assert not (tmp_path / "records").exists()
    agenda = next(
        a
        for a in dry.actions
        if isinstance(a, SendEmail) and a.kind == "agenda" and jordan in a.key
    )
    assert "Agree a 30-day plan to get back to 15 conversations a week" in [
        i["text"] for i in agenda.context["action_items"]
    ]
    for _ in range(2):  # the second tick sends nothing new and writes nothing twice
        with StateStore.open(state, now=now) as store:
            run_tick(loaded, store, now)
    text = (tmp_path / "records" / f"{jordan}.md").read_text()
    assert text.count("<!-- coachd:begin meeting/2026-12-01/") == 1
    assert "- open: Agree a 30-day plan to get back to 15 conversations a week" in text
    assert "Conversations: 12 (minimum 15, goal 25, below standard 7 wk)" in text
    assert "# Jordan Miles" in text  # the old notes, kept


def test_demo_coach_out_rep_gets_a_case_a_checkpoint_and_an_agenda_naming_it(
    tmp_path: Path,
) -> None:
    write_demo(tmp_path, date(2026, 11, 30))
    loaded = load_policy(tmp_path / "config.yaml", environ={})
    state = loaded.resolve(loaded.policy.state.path)
    state.parent.mkdir(parents=True, exist_ok=True)
    jordan = "jordan.miles@acme-demo.com"
    for at in (datetime(2026, 11, 30, 6, 0, tzinfo=TZ), datetime(2026, 11, 30, 7, 0, tzinfo=TZ)):
        with StateStore.open(state, now=at) as store:
            run_tick(loaded, store, at)
    record = parse((tmp_path / "records" / f"{jordan}.md").read_text())
    case = record.open_case()
    assert case is not None and case.kind == "coach-out" and case.opened == date(2026, 11, 30)
    assert "Conversations (7 weeks)" in case.trigger
    assert case.checkpoints == (date(2026, 12, 14), date(2026, 12, 28))
    week_on = datetime(2026, 12, 7, 6, 0, tzinfo=TZ)  # the horizon reaches the checkpoint
    with StateStore.open(state, now=week_on) as store:
        run_tick(loaded, store, week_on)
    later = datetime(2026, 12, 8, 10, 0, tzinfo=TZ)
    with StateStore.open(state, now=later) as store:
        books = store.bookings()
        dry = run_tick(loaded, store, later, dry_run=True)
    # the checkpoint's week holds a one-on-one with Jordan
    assert any(
        b.kind == "one_on_one"
        and b.rep == jordan
        and b.status == "booked"
        and date(2026, 12, 14) <= b.start.astimezone(TZ).date() < date(2026, 12, 21)
        for b in books.values()
    )
    agenda = next(
        a
        for a in dry.actions
        if isinstance(a, SendEmail) and a.kind == "agenda" and f"{jordan}:2026-W51" in a.key
    )
    assert agenda.context["case"]["checkpoint"] is True
    assert agenda.context["case"]["kind"] == "coach-out"
    # the other demo reps under coach-up get a coach-up case; reps who meet the standard none
    alex = parse((tmp_path / "records" / "alex.kim@acme-demo.com.md").read_text())
    assert alex.open_case() is None
