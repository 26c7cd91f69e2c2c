"""Bounded work per outside .ics file: size cap, sub-hourly rules, expansion and instance caps,
and a fuzz target over the decoder (a bounded number of hypothesis examples)."""

from __future__ import annotations

import contextlib
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from calendar_contract import TZ, WINDOW
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.calendar.ics_bounds import IcsLimits, expansion_steps
from integrations.calendar.ics_decode import IcsError, occurrences, parse_ics
from integrations.calendar.local import LocalCalendar
from integrations.errors import TransientError

OWNER = "manager@example.com"
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def ics(*lines: str) -> bytes:
    body = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//test//EN", *lines, "END:VCALENDAR"]
    return ("\r\n".join(body) + "\r\n").encode()


def vevent(uid: str, *props: str) -> list[str]:
    return ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20270201T000000Z", *props, "END:VEVENT"]


GOOD = ics(*vevent("good", "DTSTART:20270309T150000Z", "DURATION:PT1H", "SUMMARY:Real"))


def read(
    root: Path, files: dict[str, bytes], limits: IcsLimits | None = None
) -> tuple[list[str], list[str]]:
    folder = root / OWNER
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    got = LocalCalendar(root, TZ, clock=lambda: NOW, limits=limits).read(OWNER, WINDOW)
    return [e.id for e in got.events], got.warnings


@pytest.mark.parametrize("freq", ["SECONDLY", "MINUTELY"])
def test_a_rule_repeating_more_often_than_hourly_is_ignored_with_a_warning(
    tmp_path: Path, freq: str
) -> None:
    # COUNT keeps the pre-fix expansion short, so the old behaviour fails fast instead of hanging.
    spam = ics(*vevent("spam", "DTSTART:20270309T150000Z", f"RRULE:FREQ={freq};COUNT=50"))
    ids, warnings = read(tmp_path, {"good.ics": GOOD, "spam.ics": spam})
    assert ids == ["good"]
    assert len(warnings) == 1
    assert "spam.ics" in warnings[0] and f"FREQ={freq}" in warnings[0]


def test_an_endless_secondly_rule_costs_nothing(tmp_path: Path) -> None:
    spam = ics(*vevent("spam", "DTSTART:20200101T000000Z", "RRULE:FREQ=SECONDLY"))
    ids, warnings = read(tmp_path, {"good.ics": GOOD, "spam.ics": spam})
    assert ids == ["good"] and "more often than hourly" in warnings[0]


def test_an_hourly_rule_with_minute_and_second_lists_is_a_secondly_rule_in_disguise(
    tmp_path: Path,
) -> None:
    minutes = ",".join(str(m) for m in range(60))
    rule = f"RRULE:FREQ=HOURLY;BYMINUTE={minutes};BYSECOND={minutes}"
    spam = ics(*vevent("spam", "DTSTART:20270101T000000Z", rule))
    ids, warnings = read(tmp_path, {"good.ics": GOOD, "spam.ics": spam})
    assert ids == ["good"]
    assert "spam.ics" in warnings[0] and "FREQ=HOURLY" in warnings[0]


def test_a_file_above_the_size_cap_is_not_read(tmp_path: Path) -> None:
    padding = "DESCRIPTION:" + "x" * 60
    big = ics(*vevent("big", "DTSTART:20270309T160000Z", "DURATION:PT1H", *[padding] * 400))
    limits = IcsLimits(max_file_bytes=10_000)
    ids, warnings = read(tmp_path, {"good.ics": GOOD, "big.ics": big}, limits)
    assert ids == ["good"]
    assert "big.ics" in warnings[0] and "10,000-byte cap" in warnings[0]
    # Under the cap it is an ordinary event.
    ids, warnings = read(tmp_path / "2", {"big.ics": big}, IcsLimits(max_file_bytes=100_000))
    assert ids == ["big"] and warnings == []


def test_a_rule_with_more_occurrences_in_the_window_than_the_cap_is_ignored(
    tmp_path: Path,
) -> None:
    hourly = ics(*vevent("hourly", "DTSTART:20270301T000000Z", "RRULE:FREQ=HOURLY"))
    ids, warnings = read(
        tmp_path, {"good.ics": GOOD, "h.ics": hourly}, IcsLimits(max_instances=100)
    )
    assert ids == ["good"] and "cap 100" in warnings[0] and "h.ics" in warnings[0]
    # The default cap (3000) lets an hourly event over a 4-week window through.
    ids, warnings = read(tmp_path / "2", {"h.ics": hourly})
    assert len(ids) > 600 and warnings == []


def test_too_many_rdates_are_ignored(tmp_path: Path) -> None:
    dates = ",".join(f"20270310T{h:02d}{m:02d}00Z" for h in range(24) for m in range(0, 60, 5))
    spam = ics(*vevent("spam", "DTSTART:20270310T000000Z", f"RDATE:{dates}"))
    ids, warnings = read(tmp_path, {"good.ics": GOOD, "r.ics": spam}, IcsLimits(max_instances=100))
    assert ids == ["good"] and "RDATE" in warnings[0]


def test_a_rule_that_never_matches_is_given_up_on(tmp_path: Path) -> None:
    # dateutil would walk day by day to the year 9999 looking for a 30 February.
    never = ics(
        *vevent("never", "DTSTART:20270301T150000Z", "RRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30")
    )
    limits = IcsLimits(max_expand_seconds=0.5)
    ids, warnings = read(tmp_path, {"good.ics": GOOD, "never.ics": never}, limits)
    assert ids == ["good"]
    assert "never.ics" in warnings[0] and "took longer than 0.5s" in warnings[0]


def test_an_old_weekly_meeting_is_still_expanded() -> None:
    parsed = parse_ics(
        ics(*vevent("w", "DTSTART:19900305T150000Z", "DURATION:PT1H", "RRULE:FREQ=WEEKLY"))
    )
    assert len(occurrences(parsed, WINDOW, TZ, OWNER, OWNER)) == 4


def test_the_estimate_bounds_the_real_count() -> None:
    rule = parse_ics(
        ics(*vevent("d", "DTSTART:20270301T090000Z", "RRULE:FREQ=DAILY;BYHOUR=9,10,11"))
    ).calendar.walk("VEVENT")[0]["RRULE"]
    steps = expansion_steps(rule, datetime(2027, 3, 1, 9, tzinfo=UTC), WINDOW.end)
    assert 28 * 3 <= steps <= 30 * 3


# --------------------------------------------------------------------------- fuzz target

_FREQS = ["SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY", "BOGUS"]
_PARTS = st.sampled_from(
    [
        "INTERVAL=1",
        "INTERVAL=0",
        "INTERVAL=3",
        "COUNT=5",
        "COUNT=100000",
        "UNTIL=20270320T000000Z",
        "UNTIL=20270320",
        "BYDAY=MO,TU,WE,TH,FR,SA,SU",
        "BYDAY=-1FR",
        "BYHOUR=" + ",".join(str(h) for h in range(24)),
        "BYMINUTE=" + ",".join(str(m) for m in range(60)),
        "BYSECOND=0,30",
        "BYMONTHDAY=1,15,31",
        "BYMONTH=2",
        "BYSETPOS=-1",
        "WKST=SU",
        "BYYEARDAY=1,100",
        "BYWEEKNO=1",
    ]
)
_STARTS = st.sampled_from(
    [
        "DTSTART:20270309T150000Z",
        "DTSTART:18000101T000000Z",
        "DTSTART;VALUE=DATE:20270310",
        "DTSTART;TZID=America/Chicago:20270314T023000",
        "DTSTART;TZID=Nowhere/Atlantis:20270309T090000",
        "DTSTART:20270309T150000",
        "DTSTART:99991231T235959Z",
    ]
)
_EXTRA = st.sampled_from(
    [
        "DURATION:PT1H",
        "DURATION:-PT1H",
        "DURATION:P400W",
        "DTEND:20270309T160000Z",
        "DTEND;VALUE=DATE:20270311",
        "EXDATE:20270310T150000Z",
        "RDATE:20270311T150000Z,20270312T150000Z",
        "RECURRENCE-ID:20270310T150000Z",
        "ATTENDEE;PARTSTAT=DECLINED:mailto:manager@example.com",
        "ORGANIZER:mailto:x@example.com",
        "STATUS:CANCELLED",
        "TRANSP:TRANSPARENT",
        "X-COACHD-KEY:k",
        "SEQUENCE:notanumber",
        "SUMMARY:\u202e\u0000evil",
    ]
)


@st.composite
def hostile_ics(draw: st.DrawFn) -> bytes:
    events = []
    for n in range(draw(st.integers(1, 3))):
        props = [draw(_STARTS)]
        if draw(st.booleans()):
            parts = draw(st.lists(_PARTS, max_size=4))
            props.append(";".join([f"FREQ={draw(st.sampled_from(_FREQS))}", *parts]))
            props[-1] = "RRULE:" + props[-1]
        props += draw(st.lists(_EXTRA, max_size=4))
        events += vevent(draw(st.sampled_from(["a", "b", f"e{n}"])), *props)
    data = ics(*events)
    if draw(st.booleans()):  # then damage it: cut it short or splice in random bytes
        cut = draw(st.integers(0, len(data)))
        data = data[:cut] + draw(st.binary(max_size=40)) + data[cut:]
    return data


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.one_of(hostile_ics(), st.binary(max_size=300)))
def test_fuzz_the_decoder_never_escapes_and_stays_bounded(data: bytes) -> None:
    """Any bytes: `parse_ics` refuses them with IcsError or parses them; the local reader
    never raises, skips a refused file with one warning naming it, and yields only events
    inside the window, at most the instance cap per event."""
    with contextlib.suppress(IcsError):
        parse_ics(data)
    limits = IcsLimits(max_instances=500, max_expand_seconds=0.3)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / OWNER
        folder.mkdir()
        (folder / "fuzz.ics").write_bytes(data)
        got = LocalCalendar(Path(tmp), TZ, clock=lambda: NOW, limits=limits).read(OWNER, WINDOW)
    assert len(got.warnings) <= 1
    assert all("fuzz.ics" in w for w in got.warnings)
    by_uid = Counter(ev.uid for ev in got.events)
    assert all(n <= limits.max_instances for n in by_uid.values())
    for ev in got.events:
        assert ev.start <= WINDOW.end and ev.end >= WINDOW.start


def test_a_tick_reading_longer_than_its_budget_stops_and_says_how_far_it_got(
    tmp_path: Path,
) -> None:
    folder = tmp_path / OWNER
    folder.mkdir()
    for d in range(5):
        uid = f"m{d}"
        (folder / f"{uid}.ics").write_bytes(
            ics(*vevent(uid, f"DTSTART:2027030{d + 2}T150000Z", "DURATION:PT1H"))
        )
    ticks = iter(range(1000))
    cal = LocalCalendar(
        tmp_path, TZ, clock=lambda: NOW, read_budget=2.5, monotonic=lambda: float(next(ticks))
    )
    cal.start_budget()  # t=0: the budget ends at t=2.5; each file read costs one second
    with pytest.raises(TransientError, match=r"2 of 5 files read; the next tick goes on"):
        cal.read(OWNER, WINDOW)
    busy = cal.busy([OWNER], WINDOW)  # a rep's calendar: an error for that rep only
    assert OWNER in busy.errors and "spent" in busy.errors[OWNER]
    # Without a budget started (a read outside a tick) every file is read.
    assert len(LocalCalendar(tmp_path, TZ, read_budget=2.5).read(OWNER, WINDOW).events) == 5
