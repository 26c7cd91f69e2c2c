"""The crash campaign on Microsoft 365: `coachd once` against the loopback fake Graph, killed
at random instants while it writes, restarted; nothing booked, declined or sent twice, and
nothing lost against a twin that was never killed (see test_crash_campaign.py).
The short one runs in `make test` (5 kills aimed at the writes); the long one (60 kills at
uniform instants, each world against its twin) in `make test-slow`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ms_world import MicrosoftWorld
from test_crash_campaign import _run, report, template

__all__ = ["report", "template"]


def _world(template: Path, base: Path, decline: bool) -> object:
    return lambda i: MicrosoftWorld(template, base / f"microsoft-{i + 1}", decline=decline)


def test_a_few_kills_never_double_book_send_or_decline_on_microsoft(
    template: Path, tmp_path: Path, report: list[str]
) -> None:
    _run(
        "microsoft-decline",
        _world(template, tmp_path, True),
        5,
        report,
        twin_every=10**6,
        writing=True,
    )  # type: ignore[arg-type]


@pytest.mark.slow
def test_crash_campaign_on_microsoft(template: Path, tmp_path: Path, report: list[str]) -> None:
    tally = _run("microsoft-decline", _world(template, tmp_path, True), 60, report, twin_every=1)  # type: ignore[arg-type]
    assert tally.after_first_write >= 6, tally.line()
