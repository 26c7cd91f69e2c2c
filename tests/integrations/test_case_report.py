"""`coachd case report REP` and the leadership report's open cases, on the demo: the coach-out
rep's case with its trigger, KPI trend, coaching held since it opened, checkpoints and plan."""

from __future__ import annotations

import html.parser
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from daemon import main
from integrations.commands.demo import write_demo
from integrations.config_file import load_policy
from integrations.store.state import StateStore
from integrations.tick.app import run_tick

TZ = ZoneInfo("America/Chicago")
JORDAN = "jordan.miles@acme-demo.com"


class _Text(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self.tags.add(tag)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("case")
    write_demo(d, date(2026, 11, 30))
    loaded = load_policy(d / "config.yaml", environ={})
    state = loaded.resolve(loaded.policy.state.path)
    state.parent.mkdir(parents=True, exist_ok=True)
    for at in (
        datetime(2026, 11, 30, 6, 0, tzinfo=TZ),
        datetime(2026, 12, 7, 6, 0, tzinfo=TZ),
        datetime(2026, 12, 16, 6, 0, tzinfo=TZ),
    ):
        with StateStore.open(state, now=at) as store:
            run_tick(loaded, store, at)
    return d


def test_case_report_reads_well(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = demo / "jordan.html"
    cfg = str(demo / "config.yaml")
    argv = ["case", "report", JORDAN, "--config", cfg, "--out", str(out), "--text"]
    assert main([*argv, "--at", "2026-12-16T06:00"]) == 0
    assert "Wrote" in capsys.readouterr().out
    page = out.read_text()
    parser = _Text()
    parser.feed(page)
    text = " ".join(" ".join(parser.parts).split())
    assert "script" not in parser.tags and "table" in parser.tags
    assert "Coaching case report: Jordan Miles" in text
    assert "Coach-out case opened Mon 30 Nov 2026 (16 days ago)" in text
    assert "Conversations (7 weeks)" in text
    assert "Tue 1 Dec 2026" in text and "Ride-along" in text
    assert "Mon 14 Dec 2026: held" in text
    assert "Agree a written 30-day improvement plan" in text
    plain = out.with_suffix(".txt").read_text()
    assert "COACHING SINCE IT OPENED: 4 held, 5h30" in plain
    assert "- Mon 28 Dec 2026: ahead" in plain
    # a rep without a case, and someone not on the team: a clear error, exit 1
    assert main(["case", "report", "alex.kim@acme-demo.com", "--config", cfg]) == 1
    assert "no coaching case" in capsys.readouterr().err
    assert main(["case", "report", "nobody@acme-demo.com", "--config", cfg]) == 1
    assert "not on the team" in capsys.readouterr().err


def test_preview_case_report_and_leadership_cases(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = str(demo / "config.yaml")
    at = ["--at", "2026-12-16T06:00"]
    assert main(["preview", "case_report", "--rep", JORDAN, "--config", cfg, *at]) == 0
    assert "COACHING CASE REPORT: Jordan Miles" in capsys.readouterr().out
    assert main(["preview", "leadership_report", "--config", cfg, "--at", "2027-01-04T08:00"]) == 0
    text = capsys.readouterr().out
    assert "OPEN COACHING CASES" in text
    assert "Jordan Miles: coach-out since Mon 30 Nov 2026 (35 days)" in text
    assert "Sam Ortiz: coach-up since Mon 30 Nov 2026" in text
