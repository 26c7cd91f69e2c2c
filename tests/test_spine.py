"""End to end on the local default: init --demo, once, once again (issue 2's done-when)."""

from __future__ import annotations

import hashlib
import itertools
import mailbox
from datetime import datetime
from pathlib import Path

import icalendar
import pytest
import yaml
from pinning import CHICAGO

from daemon import main
from integrations.calendar.local import LocalCalendar
from integrations.config_file import load_policy
from planner.timeutil import Interval, merge

# Planning on the demo depends on the day: `make test` reruns these at tests/instants.txt.
pytestmark = pytest.mark.instant


def _tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def _coachd_events(folder: Path) -> list[icalendar.Event]:
    out = []
    for f in folder.glob("*.ics"):
        cal = icalendar.Calendar.from_ical(f.read_bytes())
        out += [c for c in cal.walk("VEVENT") if c.get("X-COACHD-KEY")]
    return out


def test_once_books_a_one_on_one_per_rep_and_sends_agendas(
    demo: Path, pinned_now: datetime
) -> None:
    cfg = demo / "config.yaml"
    assert main(["once", "--config", str(cfg)]) == 0
    loaded = load_policy(cfg)
    policy = loaded.policy
    manager_dir = demo / "calendar" / policy.manager.email
    booked = _coachd_events(manager_dir)
    # Every rep has a one-on-one ahead (the demo's horizon holds at least one cadence
    # period of each, whatever the day the suite pins).
    lead = pinned_now + policy.email.agenda.before
    ones = [e for e in booked if str(e.get("X-COACHD-KIND")) == "one_on_one"]
    due = [e for e in ones if e.decoded("DTSTART") <= lead]
    reps = sorted({str(e.get("X-COACHD-REP")) for e in ones})
    assert reps == sorted(r.email for r in policy.team)

    # No coachd block overlaps another event of the manager's (opaque, not declined),
    # nor another coachd block.
    cal = LocalCalendar(demo / "calendar", CHICAGO)
    window = Interval(pinned_now, pinned_now + policy.coaching.horizon)
    events = cal.read(policy.manager.email, window).events
    mine = [e for e in events if e.tag]
    others = merge(e.interval for e in events if not e.tag and e.blocks_time())
    for e in mine:
        assert not any(e.interval.overlaps(o) for o in others), e.title
    spans = sorted(e.interval for e in mine)
    for a, b in itertools.pairwise(spans):
        assert a.end <= b.start

    # Each rep's busy time is respected too.
    busy = cal.busy([r.email for r in policy.team], window).busy
    for e in ones:
        rep = str(e.get("X-COACHD-REP"))
        iv = Interval(e.decoded("DTSTART"), e.decoded("DTEND"))
        assert not any(iv.overlaps(b) for b in busy.get(rep, []))

    box = mailbox.Maildir(str(demo / "outbox"), create=False)
    keys = [str(m["X-Coachd-Key"]) for m in box]
    agendas = [k for k in keys if k.startswith("agenda:")]
    assert len(agendas) == len(due)
    assert len(set(keys)) == len(keys)


@pytest.mark.parametrize("mode", ["flag", "decline"])
def test_second_once_changes_nothing(
    demo: Path, mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """One tick converges: in decline mode too, where the declines free time that the same
    tick books (issue 13)."""
    cfg = demo / "config.yaml"
    conf = yaml.safe_load(cfg.read_text())
    conf["triage"]["mode"] = mode
    cfg.write_text(yaml.safe_dump(conf, sort_keys=False))
    assert main(["once", "--config", str(cfg)]) == 0
    if mode == "decline":
        declined = [
            f for f in (demo / "calendar").rglob("*.ics") if b"X-COACHD-DECLINED" in f.read_bytes()
        ]
        assert declined, "the demo's planted invitations should be declined"
    before_cal = _tree_digest(demo / "calendar")
    before_mail = _tree_digest(demo / "outbox")
    capsys.readouterr()
    assert main(["once", "--config", str(cfg)]) == 0
    assert _tree_digest(demo / "calendar") == before_cal
    assert _tree_digest(demo / "outbox") == before_mail
    assert "tick ok" in (err := capsys.readouterr().err) and "nothing to do" in err


def test_plan_is_a_dry_run(demo: Path, capsys: object) -> None:
    before = _tree_digest(demo)
    assert main(["plan", "--config", str(demo / "config.yaml")]) == 0
    assert _tree_digest(demo) == before
