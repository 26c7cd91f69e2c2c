"""`coachd org run`: every manager from one process, each isolated, reloaded without restart."""

from __future__ import annotations

import mailbox
import shutil
from pathlib import Path

import pytest

from daemon import main
from integrations import clock
from integrations.org.runner import OrgRunner
from integrations.store.state import StateStore

DANA = "dana.reyes@acme-demo.com"
OMAR = "omar.nasri@acme-demo.com"
INES = "ines.moura@acme-demo.com"


def mails(org: Path, manager: str) -> list[tuple[str, str]]:
    """(To, Subject) of every email in the manager's outbox, sorted."""
    box = org / "outbox" / manager
    if not box.is_dir():
        return []
    return sorted((str(m["To"]), str(m["Subject"])) for m in mailbox.Maildir(box))


def bookings(org: Path, manager: str) -> dict[str, tuple[str, str]]:
    with StateStore.open(
        org / "state" / manager / "coachd.json", readonly=True, now=clock.now()
    ) as store:
        return {k: (b.kind, b.start.isoformat()) for k, b in store.bookings().items()}


def run_once(runner: OrgRunner) -> None:
    """Until every manager that runs has ticked once more."""
    before = {e: s.ticks for e, s in runner.slots.items()}
    for s in runner.slots.values():
        s.due = clock.now()  # due now rather than after daemon.tick (10 minutes)
    runner.run_until(
        lambda: all(
            s.ticks > before.get(e, 0) for e, s in runner.slots.items() if s.loaded is not None
        )
    )


def test_every_manager_ticks_in_one_process_with_their_own_state(demo_org: Path) -> None:
    runner = OrgRunner(demo_org / "org.yaml")
    run_once(runner)
    for manager in (DANA, OMAR, INES):
        assert len(bookings(demo_org, manager)) >= 20
        assert any(to == manager for to, _ in mails(demo_org, manager))  # their own summary
    # Each manager's reps are their own: Omar's team is never in Dana's outbox.
    assert not any("beth.roe" in to for to, _ in mails(demo_org, DANA))
    assert runner.bucket.taken > 0  # every calendar call went through the shared limiter
    # A second round finds everything done: nothing is booked or sent twice.
    before = {m: (bookings(demo_org, m), mails(demo_org, m)) for m in (DANA, OMAR, INES)}
    run_once(runner)
    assert before == {m: (bookings(demo_org, m), mails(demo_org, m)) for m in (DANA, OMAR, INES)}


def test_a_file_broken_while_running_is_reported_and_the_rest_run(demo_org: Path) -> None:
    runner = OrgRunner(demo_org / "org.yaml")
    run_once(runner)
    path = demo_org / "managers" / f"{OMAR}.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\ncolour: blue\n", encoding="utf-8")
    runner.reload_requested = True  # what SIGHUP does
    runner.run_until(lambda: not runner.reload_requested)
    errors = [s for to, s in mails(demo_org, OMAR) if to == OMAR and "config" in s.lower()]
    assert len(errors) == 1  # the config-error email, to Omar only
    assert not any("config" in s.lower() for _, s in mails(demo_org, DANA))
    assert runner.slots[OMAR].loaded is not None  # Omar keeps running on his last good file
    # Removing a file stops that manager; putting it back starts them again.
    aside = demo_org / "aside.yaml"
    shutil.move(demo_org / "managers" / f"{INES}.yaml", aside)
    runner.reload_requested = True
    runner.run_until(lambda: not runner.reload_requested)
    assert sorted(runner.slots) == [DANA, OMAR]
    shutil.move(aside, demo_org / "managers" / f"{INES}.yaml")
    runner.reload_requested = True
    runner.run_until(lambda: not runner.reload_requested)
    assert sorted(runner.slots) == [DANA, INES, OMAR]


def test_a_manager_whose_file_never_loaded_gets_the_error_email(demo_org: Path) -> None:
    (demo_org / "managers" / f"{OMAR}.yaml").write_text("manager: [\n", encoding="utf-8")
    runner = OrgRunner(demo_org / "org.yaml")
    run_once(runner)
    assert runner.slots[OMAR].loaded is None
    assert [to for to, _ in mails(demo_org, OMAR)] == [OMAR]
    assert len(bookings(demo_org, DANA)) >= 20


def test_org_check_plan_and_status_from_the_command_line(
    demo_org: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    org = str(demo_org / "org.yaml")
    assert main(["org", "check", "--org", org]) == 0
    assert "3 of 3 manager(s) ready" in capsys.readouterr().out
    assert main(["org", "plan", "--org", org]) == 0
    out = capsys.readouterr().out
    assert f"== {OMAR} ==" in out and "One-on-one: Beth Roe / Omar Nasri" in out
    assert main(["org", "status", "--org", org]) == 0
    assert f"{DANA}" in capsys.readouterr().out


def test_a_failing_manager_backs_off_and_a_well_one_ticks_on_time(demo_org: Path) -> None:
    from datetime import datetime, timedelta

    from integrations.org.config import load_manager, load_org, manager_files
    from integrations.org.runner import next_due

    org = load_org(demo_org / "org.yaml")
    loaded = load_manager(org, DANA, manager_files(org)[DANA])
    # Tuesday 10:00 in Chicago: the next digest (17:00) is later than the 10-minute tick.
    now = datetime.fromisoformat("2026-12-01T10:00:00-06:00")
    assert next_due(loaded, now, 0) == now + timedelta(minutes=10)
    assert next_due(loaded, now, 1) == now + timedelta(minutes=20)
    assert next_due(loaded, now, 2) == now + timedelta(minutes=40)
    assert next_due(loaded, now, 10) == now + timedelta(hours=1)  # at most an hour
    # 16:55: the digest at 17:00 comes before the next tick.
    late = datetime.fromisoformat("2026-12-01T16:55:00-06:00")
    assert next_due(loaded, late, 0) == datetime.fromisoformat("2026-12-01T17:00:00-06:00")
