"""Each decline reaches the organizer once: after a timeout whose patch the server stored,
after a restart, and for a recurring series with a moved occurrence (issue #16 B1, B3); and
a 410 on a full sync starts it over instead of escaping (B2)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fake_server import FakeGoogle
from google_support import OWNER, WINDOW, at, timed

from integrations.errors import TransientError
from integrations.google.calendar import GoogleCalendar
from integrations.mail.maildir import MaildirMailer
from integrations.mail.render import Renderer
from integrations.store.state import StateStore
from integrations.tick.executor import Executor
from planner.actions import Decline

BOSS = "boss@example.com"


def _guests() -> list[dict[str, Any]]:
    return [
        {"email": BOSS, "organizer": True, "responseStatus": "accepted"},
        {"email": OWNER, "responseStatus": "needsAction"},
    ]


def _decline(eid: str) -> Decline:
    return Decline(
        event_id=eid,
        fingerprint="fp",
        title="Parking update",
        organizer=BOSS,
        start=at(10, 13),
        rule="facilities",
        message="I keep this time for coaching.",
        reason="rule matched",
    )


def _invite(fake: FakeGoogle, day: int) -> str:
    ev = fake.add_event(
        "primary",
        timed(
            at(day, 13),
            at(day, 14),
            summary="Parking",
            organizer={"email": BOSS},
            attendees=_guests(),
        ),
    )
    return str(ev["id"])


def _decline_patches(fake: FakeGoogle) -> list[str]:
    """The event ids that got a patch declining for the owner."""
    out = []
    for r in fake.calls("events.patch"):
        for a in (r.body or {}).get("attendees", []):
            if a.get("email") == OWNER and a.get("responseStatus") == "declined":
                out.append(r.path.rsplit("/", 1)[-1])
    return out


def test_a_decline_already_given_is_not_sent_again(
    fake_google: FakeGoogle, gcal: GoogleCalendar
) -> None:
    eid = _invite(fake_google, 10)
    assert gcal.apply(OWNER, [_decline(eid)])[0].error is None
    # A restart after a kill that lost coachd's record plans the same decline again.
    [again] = gcal.apply(OWNER, [_decline(eid)])
    assert again.error is None
    assert _decline_patches(fake_google) == [eid]


def test_a_batch_timing_out_after_the_server_stored_it_declines_each_once(
    fake_google: FakeGoogle, gcal: GoogleCalendar
) -> None:
    eids = [_invite(fake_google, d) for d in (10, 11, 12)]
    fake_google.inject("POST", r"^/batch/", commit_then_sleep=1.5, skip=1)  # not the GETs

    outcomes = gcal.apply(OWNER, [_decline(e) for e in eids])

    assert [o.error for o in outcomes] == [None] * 3
    assert sorted(_decline_patches(fake_google)) == sorted(eids)
    for e in eids:
        ev = fake_google.event(e)
        assert ev is not None
        assert [a["responseStatus"] for a in ev["attendees"] if a["email"] == OWNER] == ["declined"]


def test_a_single_decline_timing_out_after_commit_is_sent_once(
    fake_google: FakeGoogle, gcal: GoogleCalendar, sleeps: list[float]
) -> None:
    eid = _invite(fake_google, 10)
    fake_google.inject("PATCH", rf"/events/{eid}$", commit_then_sleep=1.5)
    [o] = gcal.apply(OWNER, [_decline(eid)])
    assert o.error is None
    assert _decline_patches(fake_google) == [eid]
    assert len(sleeps) == 1


def _series(fake: FakeGoogle) -> tuple[str, list[str], str]:
    """A weekly series with three instances; the last one was moved by its organizer."""
    sid = "series0001"
    fake.add_event(
        "primary",
        timed(
            at(2, 9),
            at(2, 10),
            id=sid,
            summary="Facilities sync",
            organizer={"email": BOSS},
            attendees=_guests(),
            recurrence=["RRULE:FREQ=WEEKLY;COUNT=3"],
        ),
    )
    ids = []
    for day, moved_to in ((2, None), (9, None), (16, 17)):
        start, end = at(moved_to or day, 9), at(moved_to or day, 10)
        iid = f"{sid}_202703{day:02d}t150000z"
        body = timed(
            start,
            end,
            id=iid,
            summary="Facilities sync",
            organizer={"email": BOSS},
            attendees=_guests(),
            recurringEventId=sid,
            originalStartTime={"dateTime": at(day, 9).isoformat()},
        )
        fake.add_event("primary", body)
        ids.append(iid)
    return sid, ids, ids[-1]


def test_a_declined_series_declines_its_moved_occurrence_once_and_the_series_once(
    fake_google: FakeGoogle, gcal: GoogleCalendar
) -> None:
    sid, ids, moved = _series(fake_google)
    gcal.read(OWNER, WINDOW)
    assert gcal.apply(OWNER, [_decline(ids[0])])[0].error is None
    assert _decline_patches(fake_google) == [sid]

    # The moved occurrence is an exception: it kept its own answer, so triage meets it as
    # an open invitation and declines it. The series is not declined (or notified) again.
    status = {e.id: e.self_status for e in gcal.read(OWNER, WINDOW).events}
    assert status == {ids[0]: "declined", ids[1]: "declined", moved: "needsAction"}
    assert gcal.apply(OWNER, [_decline(moved)])[0].error is None
    assert _decline_patches(fake_google) == [sid, moved]

    # Asked once more (a restart, a replay): nothing is sent.
    status = {e.id: e.self_status for e in gcal.read(OWNER, WINDOW).events}
    assert set(status.values()) == {"declined"}
    assert gcal.apply(OWNER, [_decline(moved)])[0].error is None
    assert gcal.apply(OWNER, [_decline(ids[1])])[0].error is None
    assert _decline_patches(fake_google) == [sid, moved]


def test_a_410_on_a_full_sync_starts_it_over_in_the_same_tick(
    fake_google: FakeGoogle, gcal: GoogleCalendar
) -> None:
    eid = _invite(fake_google, 10)
    fake_google.inject("GET", r"/events$", 410)
    read = gcal.read(OWNER, WINDOW)
    assert [e.id for e in read.events] == [eid]
    assert [r.status for r in fake_google.calls("events.list")] == [410, 200]


def test_a_410_to_every_full_sync_is_a_transient_error_not_a_traceback(
    fake_google: FakeGoogle, gcal: GoogleCalendar
) -> None:
    fake_google.inject("GET", r"/events$", 410, times=5)
    with pytest.raises(TransientError, match="410"):
        gcal.read(OWNER, WINDOW)


class _Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs (not even `except Exception`)."""


class _KilledAfterApply:
    """The real calendar, killed right after the server committed the writes."""

    def __init__(self, cal: GoogleCalendar) -> None:
        self.cal = cal

    def read(self, owner: str, window: Any) -> Any:
        return self.cal.read(owner, window)

    def busy(self, people: Any, window: Any) -> Any:
        return self.cal.busy(people, window)

    def apply(self, owner: str, writes: Any) -> Any:
        self.cal.apply(owner, writes)
        raise _Killed()


def test_a_kill_between_the_decline_and_its_record_loses_nothing_and_resends_nothing(
    fake_google: FakeGoogle, gcal: GoogleCalendar, tmp_path: Path
) -> None:
    eid = _invite(fake_google, 10)
    now = at(1, 6)

    def tick(cal: Any, actions: list[Any]) -> Any:
        with StateStore.open(tmp_path / "state.json", now=now) as store:
            report = Executor(
                owner=OWNER,
                calendar=cal,
                mailer=MaildirMailer(tmp_path / "outbox"),
                store=store,
                renderer=Renderer(),
                sender="coachd@example.com",
                now=now,
            ).run(actions)
            return report, store.decisions(), store.counts(now - timedelta(days=1))

    with pytest.raises(_Killed):
        tick(_KilledAfterApply(gcal), [_decline(eid)])
    assert _decline_patches(fake_google) == [eid]

    # The restarted tick reads the invitation as declined, so the planner plans nothing
    # for it; the decline recorded as intended is confirmed without a second patch.
    report, decisions, counts = tick(gcal, [])
    assert report.errors == []
    assert _decline_patches(fake_google) == [eid]
    assert decisions[eid].action == "decline" and decisions[eid].rule == "facilities"
    assert counts.get("declined") == 1
    # ... once: the next tick has nothing left to confirm.
    _report, _decisions, counts = tick(gcal, [])
    assert counts.get("declined") == 1 and _decline_patches(fake_google) == [eid]
