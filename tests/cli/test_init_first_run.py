"""`coachd init` for a real team: flags, a team CSV, prompts; placeholders fail `check`."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from daemon import build_parser, main
from integrations.commands.cli.init import gather, run
from integrations.errors import UserError

FLAGS = [
    "--name", "Pat O'Neil",
    "--email", "pat@widgets.io",
    "--timezone", "Europe/Berlin",
    "--hours", "09:00-18:00",
    "--boss", "chris@widgets.io",
    "--rep", "Lee Park <lee@widgets.io>",
    "--rep", "Ana Ruiz, ana@widgets.io",
]  # fmt: skip


def _config(folder: Path) -> Any:
    return yaml.safe_load((folder / "config.yaml").read_text())


def test_flags_write_the_team_and_check_passes(
    tmp_path: Path, pinned_now: object, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "team"
    assert main(["init", str(folder), *FLAGS]) == 0
    text = (folder / "config.yaml").read_text()
    assert "acme-demo" not in text and "Dana" not in text and "Alex Kim" not in text
    data = _config(folder)
    assert data["manager"] == {
        "name": "Pat O'Neil",
        "email": "pat@widgets.io",
        "timezone": "Europe/Berlin",
        "working_hours": {"start": "09:00", "end": "18:00"},
        "working_days": ["mon", "tue", "wed", "thu", "fri"],
        "boss": "chris@widgets.io",
    }
    assert [r["email"] for r in data["team"]] == ["lee@widgets.io", "ana@widgets.io"]
    out = capsys.readouterr().out
    assert "Next: cd " in out and " check && " in out
    cfg = str(folder / "config.yaml")
    assert main(["check", "--config", cfg]) == 0
    assert "OK: 2 reps" in capsys.readouterr().out
    assert main(["plan", "--json", "--config", cfg]) == 0
    actions = json.loads(capsys.readouterr().out)["actions"]
    one_on_ones = {a["rep"] for a in actions if a["action"] == "Book" and a["kind"] == "one_on_one"}
    assert one_on_ones == {"lee@widgets.io", "ana@widgets.io"}
    invited = {
        to
        for a in actions
        if a["action"] == "SendEmail" and a["kind"] == "invitation"
        for to in a["to"]
    }
    assert invited == {"lee@widgets.io", "ana@widgets.io"}


def test_team_csv_and_its_errors(tmp_path: Path) -> None:
    good = tmp_path / "team.csv"
    good.write_text(
        "name,email,start_date\nLee Park,Lee@widgets.io,\nNew Hire,new@widgets.io,2026-11-16\n"
    )
    args = build_parser().parse_args(["init", "--email", "pat@widgets.io", "--team", str(good)])
    first = gather(args, None)
    assert [(m.email, m.start_date) for m in first.team] == [
        ("lee@widgets.io", ""),
        ("new@widgets.io", "2026-11-16"),
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text("name,email\nLee Park,lee@widgets.io\nNo Address,\n")
    args = build_parser().parse_args(["init", "--team", str(bad)])
    with pytest.raises(UserError, match=r"bad\.csv:3: need a name and an email"):
        gather(args, None)


def test_without_answers_placeholders_fail_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "blank"
    assert main(["init", str(folder)]) == 0  # pytest's stdin is not a terminal: no prompts
    capsys.readouterr()
    assert main(["check", "--config", str(folder / "config.yaml")]) == 1
    out = capsys.readouterr().out
    assert "config.yaml:16: manager.email: still the placeholder 'you@example.com'" in out
    assert "team[0].email: still the placeholder 'rep@example.com'" in out


def test_prompts_ask_for_what_flags_left_out(tmp_path: Path) -> None:
    answers = iter(
        ["Pat", "pat@widgets.io", "", "", "chris@widgets.io", "Lee <lee@widgets.io>", ""]
    )
    asked: list[str] = []

    def ask(question: str, default: str) -> str:
        asked.append(question)
        return next(answers) or default

    args = build_parser().parse_args(["init", str(tmp_path / "p")])
    lines: list[str] = []
    assert run(args, date(2026, 11, 30), lines.append, ask) == 0
    data = _config(tmp_path / "p")
    assert data["manager"]["email"] == "pat@widgets.io"
    assert data["manager"]["timezone"] == "America/Chicago"
    assert [r["email"] for r in data["team"]] == ["lee@widgets.io"]
    assert len(asked) == 7


def test_bad_flags_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path / "x"), "--timezone", "Mars/Base"]) == 1
    assert "not an IANA timezone" in capsys.readouterr().err
    assert main(["init", str(tmp_path / "x"), "--hours", "18:00-09:00"]) == 1
    assert main(["init", str(tmp_path / "x"), "--rep", "just a name"]) == 1
    assert not (tmp_path / "x" / "config.yaml").exists()
