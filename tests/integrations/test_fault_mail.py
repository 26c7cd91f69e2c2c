"""A disk-full, read-only or permission fault emails the manager once per episode (issue
#16), over a real SMTP server on loopback, although the state cannot be written: the error
slot records the email. Faults are injected by making every durable write raise OSError with
the errno (no tiny file system is available to fill)."""

from __future__ import annotations

import errno
import json
import logging
import mailbox
import os
import shutil
from collections.abc import Iterator
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any, NoReturn

import pytest
import yaml
from aiosmtpd.controller import Controller
from test_mail_smtp import Handler

from daemon import main
from integrations.config_file import load_policy
from integrations.mail.maildir import MaildirMailer
from integrations.mail.render import Renderer
from integrations.mail.smtp import SmtpMailer
from integrations.store.state_journal import Journal
from integrations.tick import error_slot, fault_mail
from tests.loopback import free_port

FAULTS = {
    errno.ENOSPC: "disk full: no space left on the device ({path}); free some space",
    errno.EROFS: "read-only file system ({path}): coachd cannot write there",
    errno.EACCES: (
        "permission denied ({path}): check the owner and mode of the file and its folder"
    ),
}


@pytest.fixture
def smtp() -> Iterator[tuple[int, Handler]]:
    handler = Handler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, handler
    finally:
        controller.stop()


@pytest.fixture
def site(tmp_path: Path, pinned_now: datetime, demo_template: Path, smtp: tuple[int, Any]) -> Path:
    """The demo, in a folder whose name is hostile HTML, sending over the loopback SMTP."""
    d = tmp_path / "srv <b>&</b>" / "demo"
    shutil.copytree(demo_template, d)
    conf = yaml.safe_load((d / "config.yaml").read_text(encoding="utf-8"))
    conf["email"]["transport"] = "smtp"
    conf["email"]["smtp"] = {"host": "127.0.0.1", "port": smtp[0], "security": "none"}
    (d / "config.yaml").write_text(yaml.safe_dump(conf, sort_keys=False), encoding="utf-8")
    return d


def _break_writes(monkeypatch: pytest.MonkeyPatch, code: int, path: Path) -> None:
    """Every durable write fails with `code`: the state (its file and its journal) and the
    calendar files. The error slot, overwritten in place, is not such a write."""

    def fail(*_args: Any, **_kwargs: Any) -> NoReturn:
        raise OSError(code, os.strerror(code), str(path))

    monkeypatch.setattr("integrations.store.atomic_storage.atomic_write", fail)
    monkeypatch.setattr("integrations.fsutil.atomic_write", fail)
    monkeypatch.setattr("integrations.store.state_journal.Journal.append", fail)


def _faults(handler: Handler) -> list[EmailMessage]:
    return [
        r.message for r in handler.received if str(r.message["X-Coachd-Key"]).startswith("fault:")
    ]


def _part(msg: EmailMessage, ctype: str) -> str:
    [text] = [p.get_content() for p in msg.walk() if p.get_content_type() == ctype]
    return str(text)


@pytest.mark.parametrize("code", sorted(FAULTS))
def test_a_fault_is_emailed_once_per_episode(
    site: Path,
    smtp: tuple[int, Handler],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    code: int,
) -> None:
    _, handler = smtp
    cfg = str(site / "config.yaml")
    assert main(["once", "--config", cfg]) == 0
    assert handler.received and not _faults(handler)  # the demo's own emails went out
    state = site / "state" / "coachd.json"

    _break_writes(monkeypatch, code, state)
    for _ in range(3):  # three ticks of the same fault: one email
        assert main(["once", "--config", cfg]) == 1
    [email] = _faults(handler)
    sentence = FAULTS[code].format(path=state)
    assert email["To"] == "dana.reyes@acme-demo.com"
    assert sentence in _part(email, "text/plain")
    html = _part(email, "text/html")
    assert "srv &lt;b&gt;&amp;&lt;/b&gt;" in html and "<b>&</b>" not in html
    assert error_slot.read_fault(state)["mail"] == "sent"  # type: ignore[index]
    assert main(["status", "--config", cfg]) == 0
    lines = capsys.readouterr().out.splitlines()
    [fault] = [x for x in lines if x.startswith("fault:")]
    assert "since Mon 2026-11-30" in fault and fault.endswith("the manager was emailed")
    [last] = [x for x in lines if x.startswith("last error:")]
    assert sentence in last

    monkeypatch.undo()  # fixed: the next tick is recorded, the episode is over
    assert main(["once", "--config", cfg]) == 0
    assert error_slot.read_fault(state) is None and len(_faults(handler)) == 1
    assert main(["status", "--config", cfg]) == 0
    assert "fault:" not in capsys.readouterr().out

    _break_writes(monkeypatch, code, state)  # the fault comes back: a new episode
    assert main(["once", "--config", cfg]) == 1
    assert main(["once", "--config", cfg]) == 1
    first, second = _faults(handler)
    assert first["Message-ID"] != second["Message-ID"]
    assert sentence in _part(second, "text/plain")


class _Killed(BaseException):
    """Stands for SIGKILL during the SMTP conversation: nothing after it runs."""


class _DiesMidSend:
    def send(self, message: EmailMessage) -> None:
        raise _Killed


def _notify(state: Path, site: Path, mailer: Any, code: int = errno.ENOSPC) -> str:
    loaded = load_policy(site / "config.yaml")
    return fault_mail.notify(
        state,
        OSError(code, os.strerror(code), str(state)),
        datetime.fromisoformat("2026-11-30T15:00:00+00:00"),
        policy=loaded.policy,
        mailer=lambda: mailer,
        renderer=Renderer,
    )


def test_a_kill_mid_send_never_sends_a_second_copy(
    site: Path, smtp: tuple[int, Handler], tmp_path: Path
) -> None:
    """The slot says `sending` before the transport is called: after a kill there, the
    episode's email is not sent again (at most once: that one email may be lost)."""
    port, handler = smtp
    state = tmp_path / "state" / "coachd.json"
    state.parent.mkdir()
    error_slot.reserve(state)
    with pytest.raises(_Killed):
        _notify(state, site, _DiesMidSend())
    smtp_mailer = SmtpMailer("127.0.0.1", port, security="none", timeout=5)
    assert _notify(state, site, smtp_mailer) == "already sending"
    assert handler.received == []


def test_no_slot_to_record_it_in_means_no_email(
    site: Path, smtp: tuple[int, Handler], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The disk was full before coachd could reserve its slot: sending would repeat on
    every tick, so nothing is sent (the log and `coachd status` still say it)."""
    port, handler = smtp
    state = tmp_path / "coachd.json"
    smtp_mailer = SmtpMailer("127.0.0.1", port, security="none", timeout=5)
    assert _notify(state, site, smtp_mailer) == "not recorded"
    assert handler.received == [] and "it is not sent" in caplog.text


def test_the_maildir_transport_cannot_deliver_on_a_full_disk(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The default transport writes a file: on a full disk it fails, says so, and the
    episode's email goes once the Maildir can be written again."""
    state = tmp_path / "state" / "coachd.json"
    state.parent.mkdir()
    error_slot.reserve(state)
    outbox = tmp_path / "outbox"
    maildir = MaildirMailer(outbox)

    def full(*_args: Any, **_kwargs: Any) -> NoReturn:
        raise OSError(errno.ENOSPC, "No space left on device")

    with caplog.at_level(logging.ERROR), monkeypatch.context() as m:
        m.setattr(mailbox.Maildir, "add", full)
        got = _notify(state, site, maildir)
    assert got.startswith("not sent: cannot write to the Maildir")
    assert "could not be sent" in caplog.text
    assert error_slot.read_fault(state)["mail"] == "unsent"  # type: ignore[index]
    assert _notify(state, site, maildir) == "sent"
    assert _notify(state, site, maildir) == "already sent"
    assert len(mailbox.Maildir(outbox, create=False)) == 1


def test_the_slot_keeps_the_last_error_and_the_fault_apart(tmp_path: Path) -> None:
    state = tmp_path / "coachd.json"
    error_slot.reserve(state)
    at = datetime.fromisoformat("2026-11-30T15:00:00+00:00")
    assert error_slot.write_fault(state, {"since": at.isoformat(), "mail": "sent"})
    assert error_slot.write(state, at, "x" * 10_000)  # cut to fit, the fault kept
    assert error_slot.read_fault(state) == {"since": at.isoformat(), "mail": "sent"}
    assert error_slot.read(state)["message"].startswith("xxx")  # type: ignore[index]
    assert error_slot.write_fault(state, {"message": "é" * 5000, "mail": "unsent"})
    assert len(error_slot.slot_path(state).read_bytes()) == error_slot.SIZE
    assert json.loads(error_slot.slot_path(state).read_bytes())["fault"]["mail"] == "unsent"
    assert error_slot.read(state)["at"] == at  # type: ignore[index]


def test_a_failed_journal_write_names_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """os.write names no file; the fault email must say which one is full."""
    journal = Journal.open_for_append(tmp_path / "coachd.json.journal")

    def full(*_args: Any) -> NoReturn:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(OSError) as e:
        journal.append([["put", "k", 1]])
    monkeypatch.undo()
    assert e.value.filename == str(tmp_path / "coachd.json.journal")
