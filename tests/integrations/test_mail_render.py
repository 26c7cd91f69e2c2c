"""The template renderer: built-in templates, user overrides, strictness, sandbox and bounds."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from integrations.mail.render import (
    Renderer,
    TemplateError,
    check_templates,
    one_line,
)
from integrations.resources import templates_dir
from planner.email_kinds import sample_context
from planner.samples.emails import KINDS


def test_builtin_templates_exist_for_every_kind_and_pass_the_check() -> None:
    r = Renderer()
    for kind in KINDS:
        for suffix in (".subject.txt", ".txt", ".html"):
            assert (templates_dir() / f"{kind}{suffix}").is_file()
    mine = {k: sample_context(k) for k in KINDS}
    assert check_templates(r, mine) == []


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_renders_both_parts_with_the_sample_figures(kind: str) -> None:
    ctx = sample_context(kind)
    out = Renderer().render(kind, ctx)
    assert out.subject and "\n" not in out.subject
    assert out.html.lstrip().startswith("<!DOCTYPE html>")
    for forbidden in ("<script", "<img", "<link", "<style"):
        assert forbidden not in out.html.lower()
    if kind == "agenda":
        calls = next(k for k in ctx["kpis"] if k["id"] == "calls")
        for part in (out.text, out.html):
            assert ctx["rep"]["name"] in part
            assert calls["latest"] in part and calls["minimum"] in part
            assert ctx["action_items"][0]["text"].replace("'", "&#39;") in part or (
                ctx["action_items"][0]["text"] in part
            )
    if kind == "summary":
        for part in (out.text, out.html):
            for row in ctx["rows"]:
                assert row["rep"]["name"] in part
            assert ctx["coach_out"][0]["rep"]["name"] in part
    if kind == "digest":
        assert ctx["declined"][0]["title"] in out.text
        # `<draft>` in a title is escaped in HTML, kept as is in text.
        assert "Q1 offsite planning <draft>" in out.text
        assert "Q1 offsite planning &lt;draft&gt;" in out.html
    if kind == "sales_meeting":
        assert ctx["topic"] in out.subject and ctx["topic"] in out.html


def test_a_user_folder_overrides_a_builtin_file(tmp_path: Path) -> None:
    (tmp_path / "digest.subject.txt").write_text("Custom: {{ counts.flagged }} flagged\n")
    r = Renderer(tmp_path)
    out = r.render("digest", sample_context("digest"))
    assert out.subject == "Custom: 2 flagged"
    assert "Flagged for you" in out.html  # the rest still comes from the built-in folder


def test_misspelled_variable_is_reported_by_check(tmp_path: Path) -> None:
    (tmp_path / "agenda.html").write_text(
        '{% extends "_layout.html" %}{% block content %}{{ rep_nmae }}{% endblock %}'
    )
    errors = check_templates(Renderer(tmp_path), {"agenda": sample_context("agenda")})
    assert len(errors) == 1
    assert "agenda.html" in errors[0] and "'rep_nmae' is undefined" in errors[0]
    with pytest.raises(TemplateError):
        Renderer(tmp_path).render("agenda", sample_context("agenda"))


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "digest.txt").write_text("line one\n{% for x in %}\n")
    errors = check_templates(Renderer(tmp_path), {"digest": sample_context("digest")})
    assert any(e.startswith(f"{tmp_path}/digest.txt:2:") for e in errors), errors


def test_template_without_sample_data_is_reported(tmp_path: Path) -> None:
    for suffix in (".subject.txt", ".txt", ".html"):
        (tmp_path / f"mystery{suffix}").write_text("x")
    errors = check_templates(Renderer(tmp_path))
    assert [e for e in errors if "mystery" in e] == [
        f"{tmp_path}/mystery.subject.txt: no sample data to check it"
    ]


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ rep.__class__ }}",
        "{% set x = rep.update({'name': 'x'}) %}{{ x }}",
    ],
)
def test_sandbox_refuses_escapes(tmp_path: Path, source: str) -> None:
    (tmp_path / "agenda.txt").write_text(source)
    with pytest.raises(TemplateError) as e:
        Renderer(tmp_path).render_file("agenda.txt", sample_context("agenda"))
    assert "object" not in str(e.value) or "unsafe" in str(e.value) or "access" in str(e.value)


@pytest.mark.parametrize(
    "source",
    [
        "{% for i in range(10**9) %}x{% endfor %}",
        "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
        "{{ 'x' * 100000000 }}",
        "{{ 'x' | center(1000000000) }}",
        "{{ 'x'.ljust(1000000000) }}",
        "{{ 2 ** 99999999 }}",
        "{{ (9 ** 9) ** 9 ** 9 }}",
        "{% for i in range(90000) %}{{ 'y' * 50 }}{% endfor %}",
    ],
)
def test_runaway_templates_fail_fast(tmp_path: Path, source: str) -> None:
    (tmp_path / "agenda.txt").write_text(source)
    started = time.monotonic()
    with pytest.raises(TemplateError):
        Renderer(tmp_path).render_file("agenda.txt", sample_context("agenda"))
    assert time.monotonic() - started < 10  # generous: an unbounded loop would never return


def test_autoescape_only_in_html(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("{{ v }}")
    (tmp_path / "x.html").write_text("{{ v }}")
    r = Renderer(tmp_path)
    assert r.render_file("x.txt", {"v": "<b>&"}) == "<b>&"
    assert r.render_file("x.html", {"v": "<b>&"}) == "&lt;b&gt;&amp;"


def test_subject_is_one_clean_line(tmp_path: Path) -> None:
    (tmp_path / "x.subject.txt").write_text("A {{ v }} B\n")
    (tmp_path / "x.txt").write_text("t")
    (tmp_path / "x.html").write_text("h")
    out = Renderer(tmp_path).render("x", {"v": "1\r\nBcc: evil@example.com\u2028\u2029\x00\x1b2"})
    assert out.subject == "A 1 Bcc: evil@example.com 2 B"
    assert one_line("a\x85b\tc") == "a b c"


def test_missing_user_folder_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(TemplateError.__mro__[1]):  # UserError
        Renderer(tmp_path / "nope")


def test_check_fails_when_a_kind_coachd_sends_has_no_templates(tmp_path: Path) -> None:
    """An install without, say, the invitation templates must not pass `coachd check`."""
    builtin = tmp_path / "builtin"
    builtin.mkdir()
    for f in templates_dir().iterdir():
        if f.suffix in (".html", ".txt") and not f.name.startswith("invitation."):
            (builtin / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    errors = check_templates(Renderer(builtin_dir=builtin))
    assert any("invitation.subject.txt not found" in e for e in errors), errors
