"""The weekly VP roll-up (org.report): figures from each manager's own audit, escaped
names, sent once per ISO week through the org's own state and sent log."""

from __future__ import annotations

import mailbox
from datetime import timedelta
from pathlib import Path

from pinning import PINNED
from test_org_runner import DANA, INES, OMAR, run_once

from daemon import main
from integrations import clock
from integrations.commands.preview import audit_weeks_now
from integrations.errors import ConfigError
from integrations.mail.render import Renderer
from integrations.org.config import load_org
from integrations.org.report import build_context, send_if_due
from integrations.org.roster import load_roster
from integrations.org.runner import OrgRunner
from planner.audit import fmt_hours
from planner.org_report import sample_context

VP = "morgan.lee@acme-demo.com"


def vp_mails(org: Path) -> list[str]:
    box = org / "outbox" / VP
    return sorted(str(m["Subject"]) for m in mailbox.Maildir(box)) if box.is_dir() else []


def test_figures_are_each_managers_audit_added_up(demo_org: Path) -> None:
    run_once(OrgRunner(demo_org / "org.yaml"))  # books the pinned week
    later = PINNED + timedelta(days=7, hours=3)  # the next Monday: that week is complete
    clock.travel_to(later)
    org = load_org(demo_org / "org.yaml")
    roster = load_roster(org)
    ctx = build_context(org, roster, later)
    assert ctx["week"] == "2026-W49"
    rows = {r["email"]: r for r in ctx["rows"]}
    assert set(rows) == {DANA, OMAR, INES}
    total = timedelta()
    for e in roster:
        assert e.loaded is not None
        week = audit_weeks_now(e.loaded, later, 1, current=False)[0]
        coaching = week.categories["coaching"]
        total += coaching
        row = rows[e.email]
        assert coaching > timedelta(hours=3)
        assert row["coaching_hours"] == fmt_hours(coaching)
        booked, held = (int(x) for x in row["one_on_ones"].split(" of "))
        assert booked >= 3 and held <= booked
        assert row["below_count"] == len(row["below"]) and row["reps"] == 5
    assert ctx["total"]["coaching_hours"] == fmt_hours(total)
    assert [g["name"] for g in ctx["regions"]] == ["Central", "Europe"]
    assert [r["email"] for r in ctx["regions"][1]["rows"]] == [INES]
    assert ctx["missing"] == []


def test_a_broken_manager_is_listed_not_fatal(demo_org: Path) -> None:
    (demo_org / "managers" / f"{OMAR}.yaml").write_text("manager: [\n", encoding="utf-8")
    org = load_org(demo_org / "org.yaml")
    ctx = build_context(org, load_roster(org), PINNED)
    assert [m["email"] for m in ctx["missing"]] == [OMAR]
    assert {r["email"] for r in ctx["rows"]} == {DANA, INES}


def test_hostile_names_are_escaped() -> None:
    ctx = sample_context("org_report")
    ctx["org"] = "<b>Acme</b>"
    ctx["rows"][0]["name"] = '<script>alert("x")</script>'
    ctx["rows"][0]["below"] = ["<img src=x onerror=alert(1)>"]
    html = Renderer().render("org_report", ctx).html
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>Acme" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x" in html and "&lt;b&gt;Acme" in html


def test_sent_once_a_week_across_runs_and_a_lost_state(demo_org: Path) -> None:
    org_path = demo_org / "org.yaml"
    org = load_org(org_path)
    before_due = PINNED  # Monday 06:00 Chicago; due at 08:00
    assert not send_if_due(org, load_roster(org), before_due)
    assert vp_mails(demo_org) == []
    due = PINNED + timedelta(hours=3)
    clock.travel_to(due)
    runner = OrgRunner(org_path)  # `coachd org run` sends it from its loop
    runner.run_until(lambda: len(vp_mails(demo_org)) == 1 and runner.report_idle())
    [subject] = vp_mails(demo_org)
    assert subject.startswith("Acme Sales coaching roll-up 2026-W48:")
    # A second run the same week sends nothing; nor does one whose state was lost (sent log).
    assert not send_if_due(org, load_roster(org), due + timedelta(days=2))
    (demo_org / "state" / "org" / "report.json").unlink()
    assert not send_if_due(org, load_roster(org), due + timedelta(days=3))
    assert len(vp_mails(demo_org)) == 1
    # The next week's report is a new key.
    assert send_if_due(org, load_roster(org), due + timedelta(days=7))
    assert len(vp_mails(demo_org)) == 2


def test_cli_report_renders_without_sending(demo_org: Path, capsys: object) -> None:
    out = demo_org / "r.html"
    at = (PINNED + timedelta(hours=3)).isoformat()
    args = ["org", "report", "--org", str(demo_org / "org.yaml"), "--at", at]
    assert main([*args, "--preview", str(out)]) == 0
    assert "Acme Sales coaching roll-up" in out.read_text(encoding="utf-8")
    assert vp_mails(demo_org) == []


def test_report_settings_errors_name_org_yaml_and_line(demo_org: Path) -> None:
    path = demo_org / "org.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("    day: mon\n", "    day: funday\n").replace(
        "      Europe: [ines.moura@acme-demo.com]", "      Europe: [not-an-address]"
    )
    path.write_text(text, encoding="utf-8")
    lines = text.splitlines()
    day = next(i for i, s in enumerate(lines, 1) if "day: funday" in s)
    europe = next(i for i, s in enumerate(lines, 1) if "Europe:" in s)
    try:
        load_org(path)
    except ConfigError as e:
        assert f"{path}:{day}: org.report.day: must be a weekday like mon, tue, wed" in (
            "\n".join(e.errors)
        )
        assert any(
            m.startswith(f"{path}:{europe}: org.report.regions.Europe[0]: ") for m in e.errors
        )
    else:
        raise AssertionError("org.yaml with a bad report section was accepted")
