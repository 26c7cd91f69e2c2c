"""`coachd explain EVENT` on the demo: a flagged and a protected meeting, every rule with
matched / not matched and why; a query that names none or several events is an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon import main


def _explain(demo: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["explain", *args, "--config", str(demo / "config.yaml")])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_explains_a_flagged_meeting_rule_by_rule(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _explain(demo, capsys, "Parking badge")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("Event ") and "'Parking badge update'" in lines[0]
    assert "  - none" in lines  # no protection
    assert "  1. facilities [action: decline] matched the title text 'Parking'" in out
    assert "  2. hr-webinars [action: decline] not matched: the title has none of" in out
    assert lines[-1].startswith("Decision (flag mode): Flag [rule 'facilities']")
    assert "would decline (mode: flag)" in lines[-1]


def test_explains_a_protected_meeting_naming_the_first_protection(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _explain(demo, capsys, "regional pipeline")
    assert code == 0
    protections = [line for line in out.splitlines() if line.startswith("  - protected:")]
    assert protections[0].startswith("  - protected:leadership (at most keep): the organizer")
    assert protections[1].startswith("  - protected:never-decline (at most keep): the organizer")
    decision = out.splitlines()[-1]
    assert decision.startswith("Decision (flag mode): Keep [")
    assert "capped by 'protected:leadership'" in decision


def test_a_query_naming_nothing_or_several_events_says_so(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _explain(demo, capsys, "no such meeting")
    assert code == 1 and "no event with the id or UID 'no such meeting'" in out
    code, out = _explain(demo, capsys, "survey")
    assert code == 1 and "2 upcoming events match 'survey'; give one of these ids:" in out
    event_id = out.splitlines()[1].split()[0]
    code, out = _explain(demo, capsys, event_id)
    assert code == 0 and "all-hands-surveys [action: flag] matched" in out


def test_explain_as_of_another_instant(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _explain(demo, capsys, "Parking", "--at", "2026-12-01T09:00")
    assert code == 0 and "Decision (flag mode): Flag" in out
    code, out = _explain(demo, capsys, "Parking", "--at", "2026-12-08T09:00-06:00")
    assert code == 1 and "no event" in out  # the parking meeting (7 Dec) is over by then
