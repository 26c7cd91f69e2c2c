"""User templates (`email.templates_dir`) that try a sandbox escape or render endlessly are
rejected by `coachd check`, at daemon start and at reload, and the previously checked
templates stay in use: a template file edited while the daemon runs never reaches an email
unchecked.

The sandbox and the render bounds themselves are tested in
tests/integrations/test_mail_render.py; this file covers the ways in.
"""

from __future__ import annotations

import mailbox
import os
import signal
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from daemon import Daemon, main
from integrations.errors import ConfigError
from integrations.mail.render import Renderer, TemplateError
from planner.email_kinds import sample_context

HOSTILE = {
    "escape-subclasses": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "escape-globals": "{{ cycler.__init__.__globals__ }}",
    "escape-attr-filter": "{{ (''|attr('__class__')) }}",
    "escape-lipsum": "{{ lipsum.__globals__['os'] }}",
    "endless-range": "{% for i in range(10**9) %}x{% endfor %}",
    "endless-nested": (
        "{% for i in range(9**5) %}{% for j in range(9**5) %}{% endfor %}{% endfor %}"
    ),
    "endless-recursion": "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
    "huge-output": "{{ 'x' * 10**8 }}",
}
GOOD_SUBJECT = "Checked copy: weekly summary {{ week }}\n"


def _use_templates(demo: Path) -> Path:
    """Point the demo's config at a templates folder of its own; returns the folder."""
    folder = demo / "mytemplates"
    folder.mkdir()
    cfg = demo / "config.yaml"
    text = cfg.read_text()
    assert "\nemail:\n" in text
    cfg.write_text(text.replace("\nemail:\n", "\nemail:\n  templates_dir: mytemplates\n", 1))
    return folder


@pytest.mark.parametrize("source", list(HOSTILE.values()), ids=list(HOSTILE))
def test_check_rejects_a_hostile_template_naming_the_file(
    demo: Path, source: str, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _use_templates(demo)
    (folder / "agenda.txt").write_text(source)
    capsys.readouterr()
    assert main(["check", "--config", str(demo / "config.yaml")]) == 1
    out = capsys.readouterr().out
    assert str(folder / "agenda.txt") in out and "Traceback" not in out


def test_check_rejects_a_hostile_layout_and_an_unreadable_file(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _use_templates(demo)
    # Every HTML email extends the layout: one hostile partial taints them all.
    (folder / "_layout.html").write_text(HOSTILE["escape-globals"])
    (folder / "digest.txt").write_bytes(b"\xff\xfe not UTF-8")
    capsys.readouterr()
    assert main(["check", "--config", str(demo / "config.yaml")]) == 1
    out = capsys.readouterr().out
    assert str(folder / "_layout.html") in out
    assert f"{folder / 'digest.txt'}: not UTF-8 text" in out


def test_a_renderer_keeps_the_templates_it_read(tmp_path: Path) -> None:
    ctx = sample_context("summary")
    (tmp_path / "summary.subject.txt").write_text(GOOD_SUBJECT)
    checked = Renderer(tmp_path)
    (tmp_path / "summary.subject.txt").write_text(HOSTILE["escape-subclasses"])
    (tmp_path / "summary.txt").write_text(HOSTILE["endless-range"])

    out = checked.render("summary", ctx)

    assert out.subject.startswith("Checked copy:")
    assert "Traceback" not in out.text and out.text.strip()
    # A new Renderer (what a reload builds, then checks) sees the edit, and refuses it.
    with pytest.raises(TemplateError, match="too large"):
        Renderer(tmp_path).render_file("summary.txt", ctx)


def test_the_daemon_refuses_to_start_on_hostile_templates(demo: Path) -> None:
    folder = _use_templates(demo)
    (folder / "summary.html").write_text(HOSTILE["escape-subclasses"])
    with pytest.raises(ConfigError) as e:
        Daemon(demo / "config.yaml")
    assert any(str(folder / "summary.html") in line for line in e.value.errors)


def test_reload_rejects_a_hostile_edit_and_the_checked_templates_stay_active(
    demo: Path,
    pinned_now: datetime,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    folder = _use_templates(demo)
    subject = folder / "summary.subject.txt"
    subject.write_text(GOOD_SUBJECT)
    d = Daemon(demo / "config.yaml")
    later = time_machine.travel(pinned_now + timedelta(minutes=95), tick=True)
    steps: list[str] = []

    def script() -> None:
        # Runs every second inside the daemon loop, after the first tick.
        if not steps:
            # A person saves a hostile template and asks for a reload.
            subject.write_text(HOSTILE["escape-subclasses"])
            os.kill(os.getpid(), signal.SIGHUP)
            steps.append("edited")
        elif steps[-1] == "edited" and not d.reload_requested:
            # The reload was handled; now the weekly summary falls due (07:30).
            later.start()
            steps.append("summary due")
        elif steps[-1] == "summary due" and _summaries(demo):
            steps.append("sent")
            d.stop = True
        elif len(steps) > 30:
            d.stop = True

    _inject(d, monkeypatch, script)
    try:
        assert d.run() == 0
    finally:
        if "summary due" in steps:
            later.stop()

    assert "config reload rejected" in caplog.text and str(subject) in caplog.text
    assert steps[-1] == "sent", f"the summary was never sent: {steps}"
    [summary] = _summaries(demo)
    assert str(summary["Subject"]).startswith("Checked copy:")


def _summaries(demo: Path) -> list[mailbox.MaildirMessage]:
    box = mailbox.Maildir(str(demo / "outbox"), create=False)
    return [m for m in box if str(m["X-Coachd-Key"]).startswith("summary:")]


def _inject(d: Daemon, monkeypatch: pytest.MonkeyPatch, job: Callable[[], None]) -> None:
    """Add a one-second job to the daemon's own schedule (kept across reloads)."""
    real = d._schedule

    def schedule_with_job() -> None:
        real()
        d.scheduler.every(1).seconds.do(job)

    monkeypatch.setattr(d, "_schedule", schedule_with_job)
