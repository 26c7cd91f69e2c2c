"""The CLI on the Microsoft backend: `coachd check` names bad settings by line, `coachd
once` books and mails through Graph, and a second `once` changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from fake_graph import FakeGraph

from daemon import main


def _configure(demo: Path, microsoft: dict[str, Any], transport: str = "maildir") -> Path:
    cfg = demo / "config.yaml"
    conf = yaml.safe_load(cfg.read_text())
    conf["calendar"] = {"backend": "microsoft", "microsoft": microsoft}
    conf["email"]["transport"] = transport
    cfg.write_text(yaml.safe_dump(conf, sort_keys=False))
    return cfg


def test_check_names_the_line_of_an_incomplete_app_only_setup(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _configure(demo, {"client_id": "abc", "credentials": "client_secret"})
    assert main(["check", "--config", str(cfg)]) == 1
    err = capsys.readouterr().err
    assert "config.yaml:" in err and "calendar" in err and "never the secret itself" in err


def test_check_warns_until_the_manager_signs_in(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _configure(demo, {"client_id": "abc", "tenant": "acme.example"})
    assert main(["check", "--config", str(cfg)]) == 0
    out = capsys.readouterr()
    assert "run `coachd auth microsoft`" in out.out + out.err


def test_auth_is_for_device_code_only(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _configure(
        demo, {"client_id": "abc", "credentials": "client_secret", "client_secret": "x"}
    )
    assert main(["auth", "microsoft", "--config", str(cfg)]) == 1
    assert "device_code" in capsys.readouterr().err


def test_once_books_and_mails_through_graph_then_rests(
    demo: Path, fake_graph: FakeGraph, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_graph.owner = yaml.safe_load((demo / "config.yaml").read_text())["manager"]["email"]
    cfg = _configure(
        demo, {"credentials": "none", "api_endpoint": fake_graph.endpoint}, transport="microsoft"
    )
    assert main(["once", "--config", str(cfg)]) == 0
    booked = fake_graph.events(fake_graph.owner)
    assert len(booked) > 10 and all(e["transactionId"] for e in booked)
    assert fake_graph.sent_mail, "the tick sends what is due (agendas) through sendMail"
    sent = len(fake_graph.sent_mail)
    fake_graph.clear_log()
    assert main(["once", "--config", str(cfg)]) == 0
    writes = [r for r in fake_graph.requests if r.method != "GET" and r.name != "getSchedule"]
    assert writes == [] and len(fake_graph.sent_mail) == sent
    assert len(fake_graph.events(fake_graph.owner)) == len(booked)
