"""Worlds for the reliability tests: a demo folder on the local backend, or the same demo
served by the loopback FakeGoogle, and `coachd once` run as a real subprocess in them.

A world knows how to look at its outside effects (coachd events in the calendar, emails
delivered, declines sent) so a test can check them after any number of `kill -9`s.
"""

from __future__ import annotations

import hashlib
import mailbox
import os
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import yaml
from fake_server import FakeGoogle
from pinning import PINNED, coachd_argv

from integrations.calendar.local import LocalCalendar
from integrations.calendar.vdir import list_items
from integrations.commands.demo import MANAGER, REPS, TZ
from integrations.store.state import StateStore
from planner.model import Event
from planner.timeutil import Interval

ROOT = Path(__file__).resolve().parents[2]
# INFO: the campaign times its kills from the executor's log lines, which `once` only
# prints at INFO (its default is WARNING).
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "COACHD_LOG_LEVEL": "INFO"}

# Invitations planted in the Google world on top of the demo's own (which are flagged by
# the demo rules): organized by others, matching rules whose action is decline / delegate.
INVITES = (
    ("Parking badge renewal", "facilities@acme-demo.com"),
    ("Office move: desk assignments", "facilities@acme-demo.com"),
    ("Benefits webinar", "hr@acme-demo.com"),
)


def coachd(cfg: Path, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    """Run `coachd once` (or another command) to completion as a subprocess, at PINNED."""
    return subprocess.run(
        [*coachd_argv(*args), "--config", str(cfg)],
        cwd=cfg.parent,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=ENV,
    )


@dataclass
class KillRun:
    """One `coachd once` started and sent SIGKILL after `delay` seconds."""

    delay: float
    killed: bool  # False: the run had already finished when the kill was due
    returncode: int
    stderr: str


ACTING = " integrations.tick.executor: "  # the executor's first log line: writes follow


def once_killed(cfg: Path, delay: float, *, after: str | None = None) -> KillRun:
    """Start `coachd once` and SIGKILL it `delay` seconds after its start, or with `after`
    `delay` seconds after that text first appears in its log (unless it ended first)."""
    log = cfg.parent / "killed-run.log"
    with log.open("w+") as err:
        proc = subprocess.Popen(
            [*coachd_argv("once"), "--config", str(cfg)],
            cwd=cfg.parent,
            stdout=subprocess.DEVNULL,
            stderr=err,
            text=True,
            env=ENV,
        )
        try:
            if after is not None:
                while proc.poll() is None and after not in log.read_text():
                    time.sleep(0.002)
            proc.wait(timeout=delay)
            killed = False
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            killed = True
        proc.wait(timeout=60)
    killed = killed and proc.returncode == -signal.SIGKILL
    return KillRun(delay, killed, proc.returncode, log.read_text())


# --- what a world looks like from outside ------------------------------------------------------


@dataclass
class Effects:
    """The outside effects coachd made so far, as counters a test can check."""

    booked: Counter[str] = field(default_factory=Counter)  # coachd key -> live events
    mail: Counter[str] = field(default_factory=Counter)  # Message-ID -> copies delivered
    mail_keys: dict[str, set[str]] = field(default_factory=dict)  # X-Coachd-Key -> Message-IDs
    declines: Counter[str] = field(default_factory=Counter)  # event id -> decline writes
    writes: int = 0  # every calendar/mail change (to tell whether a killed run wrote)

    def outcome(self) -> tuple[set[str], set[str], set[str]]:
        """What was done, whatever the number of copies: keys booked, emails (by key)
        delivered, invitations declined."""
        return set(self.booked), set(self.mail_keys), set(self.declines)

    def problems(self, *, max_copies: int) -> list[str]:
        """Broken promises: a key booked twice, a key mailed under two Message-IDs, more
        than `max_copies` of one message, or an invitation declined twice."""
        out = [f"{k} booked {n} times" for k, n in self.booked.items() if n > 1]
        out += [f"{mid} delivered {n} times" for mid, n in self.mail.items() if n > max_copies]
        out += [f"{k} sent as {sorted(ids)}" for k, ids in self.mail_keys.items() if len(ids) > 1]
        out += [f"{e} declined {n} times" for e, n in self.declines.items() if n > 1]
        return out


def _maildir(path: Path, fx: Effects) -> None:
    if not path.exists():
        return
    for msg in mailbox.Maildir(str(path), create=False):
        mid, key = str(msg["Message-ID"]).strip(), str(msg["X-Coachd-Key"])
        fx.mail[mid] += 1
        fx.mail_keys.setdefault(key, set()).add(mid)
        fx.writes += 1


class World:
    """A demo deployment coachd runs in: `cfg` is its config.yaml."""

    cfg: Path
    max_copies = 1  # copies of one Message-ID the transport may hold (Maildir dedupes)

    def effects(self) -> Effects:
        raise NotImplementedError

    def state(self) -> Path:
        return self.cfg.parent / "state" / "coachd.json"

    def state_problems(self) -> list[str]:
        """The state file must open as it is (read-only: no silent recovery) and no
        `.corrupt-*` backup may exist (that would mean a recovery happened)."""
        out = []
        if self.state().exists():
            try:
                with StateStore.open(self.state(), readonly=True, now=_now()) as s:
                    s.bookings()
            except Exception as e:
                out.append(f"state does not open: {type(e).__name__}: {e}")
        out += [f"state was recovered: {p.name}" for p in self.state().parent.glob("*.corrupt-*")]
        return out

    def close(self) -> None:
        """Stop whatever the world runs in this process."""


def _now() -> datetime:
    return PINNED.astimezone(TZ)


class LocalWorld(World):
    """A copy of a `coachd init --demo` folder: .ics calendar, Maildir outbox."""

    def __init__(self, template: Path, target: Path) -> None:
        shutil.copytree(template, target)
        self.cfg = target / "config.yaml"

    def effects(self) -> Effects:
        fx = Effects()
        folder = self.cfg.parent / "calendar" / MANAGER
        for p in list_items(folder):
            raw = p.read_bytes()
            for line in raw.decode("utf-8", "replace").splitlines():
                if line.startswith("X-COACHD-KEY:"):
                    fx.booked[line.split(":", 1)[1].strip()] += 1
                    fx.writes += 1
                if line.startswith("ATTENDEE") and "DECLINED" in line and MANAGER in line:
                    fx.declines[p.name] += 1
        _maildir(self.cfg.parent / "outbox", fx)
        return fx


def demo_events(demo: Path, person: str) -> list[Event]:
    """A person's demo events (series expanded) over the demo's weeks, as coachd reads them."""
    now = _now()
    window = Interval(now - timedelta(weeks=2), now + timedelta(weeks=5))
    return LocalCalendar(demo / "calendar", TZ).read(person, window).events


_SEEDS: dict[Path, list[tuple[str, dict[str, Any]]]] = {}


def seed_events(demo: Path) -> list[tuple[str, dict[str, Any]]]:
    """(calendar, Google resource) for every demo event of the manager and the reps;
    computed once per demo folder (parsing the .ics files is the slow part)."""
    if demo not in _SEEDS:
        _SEEDS[demo] = [
            (person, google_body(ev, person))
            for person in (MANAGER, *REPS)
            for ev in demo_events(demo, person)
        ]
    return _SEEDS[demo]


def google_body(ev: Event, owner: str) -> dict[str, Any]:
    """The Google resource another person's client would have stored for `ev`."""
    if ev.all_day:
        when = {
            "start": {"date": ev.start.date().isoformat()},
            "end": {"date": ev.end.date().isoformat()},
        }
    else:
        when = {
            "start": {"dateTime": ev.start.isoformat()},
            "end": {"dateTime": ev.end.isoformat()},
        }
    body: dict[str, Any] = {
        # sha1 hex digits are all in Google's base32hex id alphabet.
        "id": "d" + hashlib.sha1(ev.id.encode()).hexdigest()[:25],
        "summary": ev.title,
        "description": ev.description,
        **when,
        "attendees": [{"email": a.email, "responseStatus": a.status} for a in ev.attendees],
    }
    if ev.organizer:
        body["organizer"] = {"email": ev.organizer, "self": ev.organizer == owner}
    if ev.transparent:
        body["transparency"] = "transparent"
    if ev.recurring:
        body["recurringEventId"] = "series" + hashlib.sha1(ev.uid.encode()).hexdigest()[:10]
    return body


def invite(
    eid: str, title: str, organizer: str, start: datetime, minutes: int = 60
) -> dict[str, Any]:
    """An invitation to the manager, not answered yet."""
    return {
        "id": eid,
        "summary": title,
        "start": {"dateTime": start.isoformat()},
        "end": {"dateTime": (start + timedelta(minutes=minutes)).isoformat()},
        "organizer": {"email": organizer},
        "attendees": [
            {"email": organizer, "responseStatus": "accepted", "organizer": True},
            {"email": MANAGER, "responseStatus": "needsAction"},
            {"email": REPS[0], "responseStatus": "needsAction"},
        ],
    }


class _Fake(Protocol):
    def add_event(self, calendar: str, body: dict[str, Any]) -> Any: ...


def seed_fake(
    fake: _Fake,
    seeds: list[tuple[str, dict[str, Any]]],
    invitation: Callable[[int], dict[str, Any]],
) -> None:
    """Fill a fake remote calendar with the demo's events (`seeds`) and the manager's
    invitations (`invitation(i)` for each of INVITES)."""
    for person, body in seeds:
        fake.add_event(person, body)
    for i in range(len(INVITES)):
        fake.add_event(MANAGER, invitation(i))


def invite_at(i: int) -> tuple[str, str, datetime]:
    """Title, organizer and start of the i-th invitation: 15:00, from 3 days ahead on."""
    day = _now().replace(hour=15, minute=0, second=0, microsecond=0) + timedelta(days=3)
    title, organizer = INVITES[i]
    return title, organizer, day + timedelta(days=i)


def point_config(cfg: Path, backend: str, endpoint: str, transport: str, *, decline: bool) -> None:
    """Point a demo config.yaml at a fake remote backend (calendar and mail through it) with
    triage in decline or flag mode and room for every invitation's decline in one tick."""
    conf = yaml.safe_load(cfg.read_text())
    conf["calendar"] = {
        "backend": backend,
        backend: {"credentials": "none", "api_endpoint": endpoint},
    }
    conf["email"]["transport"] = transport
    conf["triage"]["mode"] = "decline" if decline else "flag"
    conf["triage"]["max_declines_per_tick"] = 50
    cfg.write_text(yaml.safe_dump(conf, sort_keys=False))


class GoogleWorld(World):
    """The demo's people and meetings on a FakeGoogle; mail through Gmail on the same fake.

    Gmail does not deduplicate, so here the design's "at most one resend" is what holds.
    `decline=True` sets `triage.mode: decline` so the planted invitations are declined.
    """

    max_copies = 2

    def __init__(self, template: Path, target: Path, *, decline: bool) -> None:
        shutil.copytree(template, target)
        self.cfg = target / "config.yaml"
        self.fake = FakeGoogle(owner=MANAGER).start()
        invitation = lambda i: invite(f"invite{i:05d}", *invite_at(i))  # noqa: E731
        seed_fake(self.fake, seed_events(template), invitation)
        point_config(self.cfg, "google", self.fake.endpoint, "gmail", decline=decline)

    def effects(self) -> Effects:
        fx = Effects()
        for ev in self.fake.events(MANAGER):
            key = ev.get("extendedProperties", {}).get("private", {}).get("coachd_key")
            if key:
                fx.booked[key] += 1
        for r in self.fake.requests:
            if r.status // 100 != 2 or r.method_name not in (
                "events.insert",
                "events.patch",
                "events.delete",
                "gmail.users.messages.send",
                "users.messages.send",
            ):
                continue
            fx.writes += 1
            if r.method_name == "events.patch" and isinstance(r.body, dict):
                for a in r.body.get("attendees", []):
                    if a.get("email") == MANAGER and a.get("responseStatus") == "declined":
                        fx.declines[r.path.rsplit("/", 1)[-1]] += 1
        for msg in self.fake.sent_mail:
            mid, key = str(msg["Message-ID"]).strip(), str(msg["X-Coachd-Key"])
            fx.mail[mid] += 1
            fx.mail_keys.setdefault(key, set()).add(mid)
        return fx

    def close(self) -> None:
        self.fake.stop()


def make_template(target: Path) -> Path:
    """`coachd init DIR --demo --at PINNED` as a user runs it (subprocess)."""
    done = subprocess.run(
        coachd_argv("init", str(target), "--demo"),
        capture_output=True,
        text=True,
        timeout=120,
        env=ENV,
    )
    assert done.returncode == 0, done.stderr
    return target


def timed_once(cfg: Path) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """One full `coachd once`: how long it took, how long its executor part took (from
    its first log line, after which every outside write comes, to the end), and the
    result. The log's timestamps are the child's local wall clock."""
    wall = time.time()
    t = time.monotonic()
    done = coachd(cfg, "once")
    duration = time.monotonic() - t
    acting = 0.0
    for line in done.stderr.splitlines():
        if ACTING in line:
            stamp = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
            acting = duration - min(max(0.0, stamp.timestamp() - wall), duration)
            break
    return duration, acting, done
