"""The issue's acceptance check on the demo, through the CLI: a rep declines their one-on-one;
`coachd plan` shows the rebooking with its reason; `coachd once` books it; a second `once`
does nothing; `coachd status` lists what needs the manager."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from people import LocalPeople

from daemon import main
from integrations.commands.demo import MANAGER

ALEX = "alex.kim@acme-demo.com"


def _plan(cfg: str, capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    capsys.readouterr()
    assert main(["plan", "--json", "--config", cfg]) == 0
    actions: list[dict[str, Any]] = json.loads(capsys.readouterr().out)["actions"]
    return actions


def _writes(actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [a for a in actions if a["action"] in ("Book", "Move", "Cancel")]


def test_a_declined_one_on_one_is_planned_booked_once_and_then_left(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = str(demo / "config.yaml")
    assert main(["once", "--config", cfg]) == 0
    people = LocalPeople(demo / "calendar", MANAGER)
    first = min(
        (b for b in people.blocks() if b.key.startswith(f"one_on_one:{ALEX}:")),
        key=lambda b: b.start,
    )
    people.decline(first, ALEX)

    planned = _writes(_plan(cfg, capsys))
    assert [a["action"] for a in planned] == ["Cancel", "Book"]
    cancel, book = planned
    assert cancel["event_id"] == first.id and "Alex Kim declined it" in cancel["reason"]
    assert book["key"] == first.key and book["generation"] == 1
    assert "rebooking: Alex Kim declined it" in book["reason"]

    assert main(["once", "--config", cfg]) == 0
    now = [b for b in people.blocks() if b.key == first.key]
    assert len(now) == 1 and now[0].generation == 1 and not now[0].declined_by
    assert main(["once", "--config", cfg]) == 0
    assert _writes(_plan(cfg, capsys)) == []
    capsys.readouterr()
    assert main(["status", "--config", cfg]) == 0
    assert "needs you:" in capsys.readouterr().out
