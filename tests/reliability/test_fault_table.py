"""The fault table: each Google fault the design names, injected on the loopback fake, and
how coachd handles it, judged from the server's request log (what was sent, in what order,
answered how) and the backoff waits requested.

Design (DESIGN.md "Faults are normal"): 429, 403 rate limits, 5xx and timeouts back off
exponentially with jitter (honouring Retry-After); an expired sync token (410) triggers a
full resync; a 401 refreshes the token once; a plain 403 is reported, never retried; a 404
or 410 on an event that is gone makes a cancel or decline a no-op.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fake_server import FakeGoogle
from google_support import OWNER, TZ, WINDOW, at, book, make_calendar, timed

from integrations.calendar.base import WriteOutcome
from integrations.google.auth import SCOPE_EVENTS, SCOPE_FREEBUSY
from integrations.google.calendar import GoogleCalendar, open_google_calendar
from integrations.google.retry import Backoff
from integrations.google.sync import MemoryKV
from planner.actions import Cancel, Decline
from planner.policy import GoogleSettings


@dataclass
class Ctx:
    """What a row's steps work with: the fake, a calendar on it, the waits requested."""

    fake: FakeGoogle
    cal: GoogleCalendar
    sleeps: list[float]
    tmp: Path
    monkeypatch: pytest.MonkeyPatch


def statuses(ctx: Ctx, method: str) -> list[int]:
    return [r.status for r in ctx.fake.calls(method)]


def _ok(outcomes: list[WriteOutcome]) -> None:
    assert [o.error for o in outcomes] == [None] * len(outcomes)


def _invitation(fake: FakeGoogle, status: str = "needsAction") -> str:
    ev = fake.add_event(
        "primary",
        timed(
            at(10, 13),
            at(10, 14),
            summary="Parking update",
            organizer={"email": "facilities@example.com"},
            attendees=[
                {"email": "facilities@example.com", "organizer": True},
                {"email": OWNER, "responseStatus": status},
            ],
        ),
    )
    return str(ev["id"])


def _decline(eid: str) -> Decline:
    return Decline(
        event_id=eid,
        fingerprint="fp",
        title="Parking update",
        organizer="facilities@example.com",
        start=at(10, 13),
        rule="facilities",
        message="I keep this time for coaching.",
        reason="rule matched",
    )


# --- the rows ------------------------------------------------------------------------------


def row_429_retry_after(ctx: Ctx) -> None:
    ctx.fake.add_event("primary", timed(at(2, 9), at(2, 10)))
    ctx.fake.inject("GET", r"/events$", 429, retry_after=3, times=2)
    assert len(ctx.cal.read(OWNER, WINDOW).events) == 1
    assert statuses(ctx, "events.list") == [429, 429, 200]
    assert ctx.sleeps == [3.0, 3.0]  # the server's Retry-After, not our own schedule


def row_403_rate_limit(ctx: Ctx) -> None:
    b = book("rep@example.com", at(2, 9))
    ctx.fake.inject("POST", r"/events$", 403, reason="rateLimitExceeded", times=2)
    _ok(ctx.cal.apply(OWNER, [b]))
    assert statuses(ctx, "events.insert") == [403, 403, 200]
    assert ctx.sleeps == [1.0, 2.0]  # exponential
    assert [e["id"] for e in ctx.fake.events()] == [b.event_id]


def row_500_on_read(ctx: Ctx) -> None:
    ctx.fake.inject("GET", r"/events$", 500, times=3)
    ctx.cal.read(OWNER, WINDOW)
    assert statuses(ctx, "events.list") == [500, 500, 500, 200]
    assert ctx.sleeps == [1.0, 2.0, 4.0]


def row_503_on_write(ctx: Ctx) -> None:
    b = book("rep@example.com", at(2, 9))
    ctx.fake.inject("POST", r"/events$", 503)
    _ok(ctx.cal.apply(OWNER, [b]))
    assert statuses(ctx, "events.insert") == [503, 200]
    assert len(ctx.fake.events()) == 1


def row_503_persistent(ctx: Ctx) -> None:
    b = book("rep@example.com", at(2, 9))
    ctx.fake.inject("POST", r"/events$", 503, times=99)
    [o] = ctx.cal.apply(OWNER, [b])
    # Given up for this tick, marked transient so the next tick retries it.
    assert o.error is not None and o.transient
    assert statuses(ctx, "events.insert") == [503] * 5 and ctx.fake.events() == []


def row_timeout_after_commit(ctx: Ctx) -> None:
    b = book("rep@example.com", at(2, 9))
    ctx.fake.inject("POST", r"/events$", commit_then_sleep=1.5)
    _ok(ctx.cal.apply(OWNER, [b]))
    # The first insert was stored though its answer never came; the retry with the same
    # deterministic id answers 409, which is success: one event, not two.
    assert statuses(ctx, "events.insert") == [200, 409]
    assert [e["id"] for e in ctx.fake.events()] == [b.event_id]


def row_410_sync_token(ctx: Ctx) -> None:
    first = ctx.fake.add_event("primary", timed(at(2, 9), at(2, 10)))["id"]
    ctx.cal.read(OWNER, WINDOW)
    ctx.fake.expire_sync_tokens()
    later = ctx.fake.add_event("primary", timed(at(3, 9), at(3, 10)))["id"]
    ctx.fake.clear_log()
    got = ctx.cal.read(OWNER, WINDOW)
    assert sorted(e.id for e in got.events) == sorted([first, later])
    calls = ctx.fake.calls("events.list")
    assert [("syncToken" in r.query, r.status) for r in calls] == [(True, 410), (False, 200)]
    assert ctx.sleeps == []  # a 410 is not throttling: no wait, straight to a full sync


def row_401_refreshable_token(ctx: Ctx) -> None:
    token = ctx.tmp / "secrets" / "token.json"
    token.parent.mkdir(mode=0o700)
    token.write_text(
        json.dumps(
            {
                "token": "old-access",
                "refresh_token": "refresh-0",
                "client_id": "cid",
                "client_secret": "csecret",
                "token_uri": ctx.fake.root + "token",
                "scopes": [SCOPE_EVENTS, SCOPE_FREEBUSY],
                # Valid by its expiry; the server has revoked it anyway.
                "expiry": (datetime.now(UTC) + timedelta(hours=1))
                .replace(tzinfo=None)
                .isoformat(timespec="seconds")
                + "Z",
            }
        )
    )
    token.chmod(0o600)
    # google-auth refreshes user tokens at Google's own endpoint: point it at the fake.
    ctx.monkeypatch.setattr(
        "google.oauth2.credentials._GOOGLE_OAUTH2_TOKEN_ENDPOINT", ctx.fake.root + "token"
    )
    settings = GoogleSettings(
        credentials="oauth", token_file="secrets/token.json", api_endpoint=ctx.fake.endpoint
    )
    cal = open_google_calendar(
        settings,
        manager=OWNER,
        tz=TZ,
        base_dir=ctx.tmp,
        kv=MemoryKV(),
        backoff=Backoff(sleep=ctx.sleeps.append, rand=lambda: 1.0),
    )
    ctx.fake.inject("GET", r"/events$", 401)
    cal.read(OWNER, WINDOW)
    calls = ctx.fake.calls("events.list")
    assert [(r.status, r.authorization) for r in calls] == [
        (401, "Bearer old-access"),
        (200, "Bearer access-1"),
    ]
    assert ctx.fake.token_grants == ["refresh_token"] and ctx.sleeps == []
    saved = json.loads(token.read_text())
    assert saved["token"] == "access-1" and saved["refresh_token"] == "refresh-0"
    assert stat.S_IMODE(token.stat().st_mode) == 0o600


def row_403_forbidden(ctx: Ctx) -> None:
    ctx.fake.inject("POST", r"/events$", 403, reason="forbidden")
    [o] = ctx.cal.apply(OWNER, [book("rep@example.com", at(2, 9))])
    assert o.error is not None and "403" in o.error and not o.transient
    assert statuses(ctx, "events.insert") == [403] and ctx.sleeps == []


def row_404_cancel_deleted_event(ctx: Ctx) -> None:
    b = book("rep@example.com", at(2, 9))
    _ok(ctx.cal.apply(OWNER, [Cancel(b.key, b.event_id, reason="policy changed")]))
    assert statuses(ctx, "events.delete") == [404] and ctx.sleeps == []


def row_404_decline_deleted_event(ctx: Ctx) -> None:
    eid = _invitation(ctx.fake)
    ctx.fake.inject("GET", rf"/events/{eid}$", 404)
    _ok(ctx.cal.apply(OWNER, [_decline(eid)]))
    assert statuses(ctx, "events.get") == [404]
    assert ctx.fake.calls("events.patch") == [] and ctx.sleeps == []


def row_decline_of_a_cancelled_event(ctx: Ctx) -> None:
    eid = _invitation(ctx.fake)
    ctx.fake.remove_event("primary", eid)
    _ok(ctx.cal.apply(OWNER, [_decline(eid)]))
    assert ctx.fake.calls("events.patch") == []


ROWS: list[tuple[str, Callable[[Ctx], None]]] = [
    ("429 with Retry-After: waits as told, then succeeds", row_429_retry_after),
    ("403 rateLimitExceeded: exponential backoff, then succeeds", row_403_rate_limit),
    ("500 on a read: retried with backoff", row_500_on_read),
    ("503 on a write: retried, one event", row_503_on_write),
    ("503 persisting: given up as transient, retried next tick", row_503_persistent),
    ("timeout after commit: the retry finds it (409), one event", row_timeout_after_commit),
    ("410 on the sync token: full resync at once", row_410_sync_token),
    ("401 with a refreshable token: refresh once, retry, save 0600", row_401_refreshable_token),
    ("403 forbidden: reported, not retried", row_403_forbidden),
    ("404 cancelling a deleted event: done, nothing to do", row_404_cancel_deleted_event),
    ("404 declining a deleted event: done, no patch", row_404_decline_deleted_event),
    ("declining a cancelled event: done, no patch", row_decline_of_a_cancelled_event),
]


@pytest.mark.parametrize("row", [r[1] for r in ROWS], ids=[r[0] for r in ROWS])
def test_fault(
    row: Callable[[Ctx], None],
    fake_google: FakeGoogle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sleeps: list[float] = []
    backoff = Backoff(base=1.0, cap=32.0, max_attempts=5, sleep=sleeps.append, rand=lambda: 1.0)
    cal = make_calendar(fake_google, MemoryKV(), backoff)
    ctx = Ctx(fake_google, cal, sleeps, tmp_path, monkeypatch)
    row(ctx)
