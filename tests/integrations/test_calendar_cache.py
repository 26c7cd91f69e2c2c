"""The local backend's persistent cache and window pre-scan: never a different answer.

The reference for every check is the plain full parse of each file (`parse_ics`, then the
series expansion or the single events, filtered to the window), the way the backend read
files before it had a cache.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import test_local_calendar as local_suite
from calendar_contract import TZ
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_local_calendar import NOW, OWNER, ics, vevent

from integrations.calendar import prescan
from integrations.calendar.base import Calendar
from integrations.calendar.cache import EventCache, Row
from integrations.calendar.ics_decode import in_window, is_series, occurrences, parse_ics
from integrations.calendar.ics_decode import single_events as decode_singles
from integrations.calendar.ics_encode import EventSpec, encode_event
from integrations.calendar.local import LocalCalendar
from planner.model import Event
from planner.timeutil import Interval

CHICAGO = ZoneInfo("America/Chicago")
BASE = datetime(2027, 3, 1, tzinfo=UTC)


def reference(folder: Path, window: Interval, tz: ZoneInfo = TZ) -> list[Event]:
    """Every event of the folder in the window, by a full parse of every file."""
    out: list[Event] = []
    for path in sorted(folder.glob("*.ics")):
        parsed = parse_ics(path.read_bytes())
        if any(is_series(parsed.calendar, uid) for uid in parsed.uids):
            out += occurrences(parsed, window, tz, OWNER, OWNER)
        else:
            out += [e for e in decode_singles(parsed, tz, OWNER, OWNER) if in_window(e, window)]
    return sorted(out, key=lambda e: (e.start, e.id))


def cached_calendar(root: Path, cache: Path) -> LocalCalendar:
    return LocalCalendar(root, TZ, clock=lambda: NOW, cache=EventCache.open(cache))


class TestContractWithCache(local_suite.TestLocalCalendar):
    """The whole local-backend suite again, reading through a persistent cache."""

    def make_calendar(self) -> tuple[Calendar, str]:
        cache = EventCache.open(self.root.parent / "cache.sqlite3")
        return LocalCalendar(self.root, TZ, clock=lambda: NOW, cache=cache), OWNER


# --- generated calendars ------------------------------------------------------------------


def _stamp(dt: datetime, form: str) -> str:
    """A DTSTART/DTEND property tail (`;params:value`) in one of the forms files use."""
    if form == "utc":
        return ":" + dt.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    if form == "tzid":
        return ";TZID=America/Chicago:" + dt.astimezone(CHICAGO).strftime("%Y%m%dT%H%M%S")
    if form == "floating":
        return ":" + dt.astimezone(UTC).strftime("%Y%m%dT%H%M%S")
    return ";VALUE=DATE:" + dt.strftime("%Y%m%d")


@st.composite
def event_files(draw: st.DrawFn, uid: str) -> bytes:
    """One file: a single event (any time form, DTEND, DURATION or neither, an alarm), or a
    series (daily/weekly, maybe an EXDATE and an overridden instance far from the rule)."""
    start = BASE + timedelta(hours=draw(st.integers(-24 * 90, 24 * 90)))
    form = draw(st.sampled_from(["utc", "tzid", "floating", "date"]))
    if form == "date":
        start = start.replace(hour=0)
    length = timedelta(hours=draw(st.integers(0, 30)))
    if form == "date":
        length = timedelta(days=max(1, length.days))
    props = [f"SUMMARY:Meeting {uid} " + "x" * draw(st.integers(0, 90))]
    props.append("DTSTART" + _stamp(start, form))
    ending = draw(st.sampled_from(["dtend", "duration", "none"]))
    if ending == "dtend":
        props.append("DTEND" + _stamp(start + length, form))
    elif ending == "duration":
        props.append(f"DURATION:PT{int(length.total_seconds())}S")
    kind = draw(st.sampled_from(["single", "single", "weekly", "daily"]))
    lines = []
    if draw(st.booleans()):
        props += ["BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT15M", "END:VALARM"]
    if kind != "single":
        rule = "WEEKLY" if kind == "weekly" else "DAILY"
        props.append(f"RRULE:FREQ={rule};COUNT={draw(st.integers(1, 30))}")
        if draw(st.booleans()):
            props.append(
                "EXDATE" + _stamp(start + timedelta(days=7 if rule == "WEEKLY" else 1), form)
            )
    lines += vevent(uid, *props)
    if kind != "single" and draw(st.booleans()):
        # An overridden instance moved far from the rule: only RECURRENCE-ID tells.
        moved = start + timedelta(days=draw(st.integers(-120, 120)))
        lines += vevent(
            uid,
            "SUMMARY:moved",
            "RECURRENCE-ID" + _stamp(start, form),
            "DTSTART" + _stamp(moved, form),
            "DTEND" + _stamp(moved + timedelta(hours=1), form),
        )
    data = ics(*lines)
    if draw(st.booleans()):  # a file written by coachd carries a VTIMEZONE block
        data = data.replace(b"VERSION:2.0\r\n", b"VERSION:2.0\r\n" + _VTIMEZONE, 1)
    # Fold long lines as writers do (RFC 5545: 75 octets, CRLF + space).
    return b"\r\n".join(_fold(line) for line in data.split(b"\r\n"))


def _fold(line: bytes) -> bytes:
    parts = [line[i : i + 70] for i in range(0, len(line), 70)] or [b""]
    return b"\r\n ".join(parts)


_VTIMEZONE = (
    encode_event(
        EventSpec(
            uid="tz", start=BASE.astimezone(CHICAGO), end=BASE.astimezone(CHICAGO), summary="tz"
        ),
        CHICAGO,
        BASE,
    )
    .split(b"BEGIN:VEVENT")[0]
    .split(b"PRODID:-//coachd//coachd//EN\r\n")[1]
)

windows = st.builds(
    lambda start, days: Interval(
        BASE + timedelta(hours=start), BASE + timedelta(hours=start, days=days)
    ),
    st.integers(-24 * 120, 24 * 120),
    st.integers(0, 40),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    files=st.lists(st.integers(0, 10**6), min_size=1, max_size=6, unique=True).flatmap(
        lambda ids: st.tuples(*(event_files(f"ev{i}@example.com") for i in ids))
    ),
    first=windows,
    second=windows,
)
def test_cache_and_prescan_never_change_the_answer(
    files: Sequence[bytes], first: Interval, second: Interval
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "calendar"
        folder = root / OWNER
        folder.mkdir(parents=True)
        for i, data in enumerate(files):
            (folder / f"f{i}.ics").write_bytes(data)
        cache = Path(tmp) / "cache.sqlite3"
        # A first process fills the cache for one window; a second one, cold but with the
        # cache, asks for another (files skipped before must now be parsed if they touch it).
        one = cached_calendar(root, cache)
        assert one.read(OWNER, first).events == reference(folder, first)
        # A later cron run: the window's end moved on a little (series come from the cache).
        later = Interval(first.start + (first.end - first.start) / 3, first.end + timedelta(days=3))
        assert cached_calendar(root, cache).read(OWNER, later).events == reference(folder, later)
        two = cached_calendar(root, cache)
        assert two.read(OWNER, second).events == reference(folder, second)
        assert two.read(OWNER, first).events == reference(folder, first)


# --- the pre-scan -------------------------------------------------------------------------


def test_scan_reads_folded_lines_escaped_uids_and_skips_nested_components() -> None:
    data = ics(
        "BEGIN:VEVENT",
        "UID:a\\,b",
        'DTSTART;X-NOTE="a:b":20270301T09',
        " 0000Z",
        "DURATION:PT1H30M",
        "BEGIN:VALARM",
        "DTSTART:19990101T000000Z",  # inside the alarm: not the event's time
        "END:VALARM",
        "END:VEVENT",
    )
    found = prescan.scan(data)
    assert found is not None and found.uids == {"a,b"}
    assert found.start == datetime(2027, 3, 1, 9, tzinfo=UTC) - prescan.MARGIN
    assert found.end == datetime(2027, 3, 1, 10, 30, tzinfo=UTC) + prescan.MARGIN


@pytest.mark.parametrize(
    "props",
    [
        ("DTSTART:20270301T090000Z", "RRULE:FREQ=DAILY"),
        ("DTSTART:20270301T090000Z", "RDATE:20270305T090000Z"),
        ("DTSTART:20270301T090000Z", "RECURRENCE-ID:20270301T090000Z"),
        ("DTSTART:20270301T090000Z", "DTEND:20270301T080000Z"),  # ends before it starts
        ("DTSTART:2027-03-01",),  # not a DATE the scan knows
        ("DTEND:20270301T090000Z",),  # no DTSTART
        ("DTSTART;VALUE=DATE:20270301", "DTEND:20270302T000000Z"),  # date and date-time mixed
    ],
)
def test_scan_gives_up_on_anything_it_is_not_sure_of(props: tuple[str, ...]) -> None:
    assert prescan.scan(ics(*vevent("x", *props))) is None


def test_only_standard_zone_definitions_are_skipped_on_read() -> None:
    windows_zone = (
        b"BEGIN:VTIMEZONE\r\nTZID:Central Standard Time\r\nBEGIN:STANDARD\r\n"
        b"DTSTART:16010101T000000\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0600\r\n"
        b"END:STANDARD\r\nEND:VTIMEZONE\r\n"
    )
    data = ics("X-PLACEHOLDER:1").replace(b"X-PLACEHOLDER:1\r\n", _VTIMEZONE + windows_zone)
    out = prescan.strip_standard_vtimezones(data)
    assert b"TZID:America/Chicago" not in out and b"TZID:Central Standard Time" in out


def test_a_file_far_outside_the_window_is_not_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / OWNER
    folder.mkdir()
    (folder / "old.ics").write_bytes(
        ics(*vevent("old", "DTSTART:20200101T090000Z", "DTEND:20200101T100000Z"))
    )
    (folder / "now.ics").write_bytes(
        ics(*vevent("now", "DTSTART:20270301T090000Z", "DTEND:20270301T100000Z"))
    )
    parsed: list[bytes] = []
    real = parse_ics

    def counting(data: bytes) -> object:
        parsed.append(data)
        return real(data)

    monkeypatch.setattr("integrations.calendar.local.parse_ics", counting)
    window = Interval(BASE, BASE + timedelta(days=7))
    got = LocalCalendar(tmp_path, TZ).read(OWNER, window)
    assert [e.uid for e in got.events] == ["now"] and len(parsed) == 1


# --- the cache file: a cache, never a source of wrong answers -----------------------------


def _world(tmp_path: Path) -> tuple[Path, Path, Interval]:
    root = tmp_path / "calendar"
    folder = root / OWNER
    folder.mkdir(parents=True)
    for d in range(10):
        day = date(2027, 3, 1) + timedelta(days=d)
        start = datetime.combine(day, datetime.min.time(), CHICAGO).replace(hour=9)
        spec = EventSpec(uid=f"e{d}", start=start, end=start + timedelta(hours=1), summary=f"m{d}")
        (folder / f"e{d}.ics").write_bytes(encode_event(spec, CHICAGO, BASE))
    return root, tmp_path / "state" / "cache.sqlite3", Interval(BASE, BASE + timedelta(days=14))


def test_a_second_process_reads_from_the_cache_and_sees_changes(tmp_path: Path) -> None:
    root, cache, window = _world(tmp_path)
    first = cached_calendar(root, cache).read(OWNER, window).events
    assert len(first) == 10 and oct(cache.stat().st_mode & 0o777) == "0o600"
    with sqlite3.connect(cache) as db:
        assert db.execute("SELECT count(*) FROM files").fetchone() == (10,)
    path = root / OWNER / "e3.ics"
    data = path.read_bytes().replace(b"SUMMARY:m3", b"SUMMARY:changed")
    os.replace(_write_tmp(path, data), path)  # a new inode, as vdir writers replace files
    (root / OWNER / "e4.ics").unlink()
    again = cached_calendar(root, cache).read(OWNER, window).events
    assert again == reference(root / OWNER, window)
    assert "changed" in {e.title for e in again} and "m4" not in {e.title for e in again}


def _write_tmp(path: Path, data: bytes) -> Path:
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_bytes(data)
    return tmp


def test_a_corrupt_cache_is_rebuilt(tmp_path: Path) -> None:
    root, cache, window = _world(tmp_path)
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"this is not a database" * 100)
    got = cached_calendar(root, cache).read(OWNER, window).events
    assert got == reference(root / OWNER, window)
    assert cached_calendar(root, cache).read(OWNER, window).events == got


def test_a_damaged_row_is_ignored(tmp_path: Path) -> None:
    root, cache, window = _world(tmp_path)
    cached_calendar(root, cache).read(OWNER, window)
    with sqlite3.connect(cache) as db:
        # A payload changed behind the cache's back (its CRC no longer matches).
        db.execute("UPDATE files SET payload = replace(payload, 'm5', 'XX')")
    got = cached_calendar(root, cache).read(OWNER, window).events
    assert got == reference(root / OWNER, window) and "XX" not in {e.title for e in got}


def test_rows_of_another_decoder_version_are_dropped(tmp_path: Path) -> None:
    root, cache, window = _world(tmp_path)
    cached_calendar(root, cache).read(OWNER, window)
    with sqlite3.connect(cache) as db:
        db.execute("UPDATE meta SET value = 'an older coachd' WHERE key = 'decoder'")
        db.execute("UPDATE files SET payload = replace(payload, 'm5', 'XX')")
    EventCache.open(cache).close()
    with sqlite3.connect(cache) as db:
        assert db.execute("SELECT count(*) FROM files").fetchone() == (0,)


def test_two_processes_share_the_cache(tmp_path: Path) -> None:
    root, cache, window = _world(tmp_path)
    a, b = cached_calendar(root, cache), cached_calendar(root, cache)
    want = reference(root / OWNER, window)
    assert a.read(OWNER, window).events == want
    assert b.read(OWNER, window).events == want
    assert cached_calendar(root, cache).read(OWNER, window).events == want


def test_a_cache_that_cannot_be_written_costs_only_time(tmp_path: Path) -> None:
    root, _, window = _world(tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cache = EventCache.open(blocker / "cache.sqlite3")  # its folder cannot exist
    assert not cache.enabled
    cal = LocalCalendar(root, TZ, cache=cache)
    assert cal.read(OWNER, window).events == reference(root / OWNER, window)


_READ_AND_REPORT = """
import sys
from datetime import datetime, timedelta, UTC
from pathlib import Path
from zoneinfo import ZoneInfo
from integrations.calendar.cache import EventCache, Row
from integrations.calendar.local import LocalCalendar
from planner.timeutil import Interval
start = datetime(2027, 3, 1, tzinfo=UTC)
cal = LocalCalendar(Path(sys.argv[1]), ZoneInfo("America/Chicago"),
                    cache=EventCache.open(Path(sys.argv[2])))
got = cal.read("manager@example.com", Interval(start, start + timedelta(days=14)))
print(len(got.events), "icalendar" in sys.modules)
"""


def test_a_process_served_by_the_cache_does_not_load_the_parser(tmp_path: Path) -> None:
    root, cache, _ = _world(tmp_path)
    series = EventSpec(
        uid="weekly",
        start=datetime(2027, 2, 1, 9, tzinfo=CHICAGO),
        end=datetime(2027, 2, 1, 10, tzinfo=CHICAGO),
        summary="1:1",
        rrule="FREQ=WEEKLY",
    )
    (root / OWNER / "weekly.ics").write_bytes(encode_event(series, CHICAGO, BASE))

    def run() -> str:
        cmd = [sys.executable, "-c", _READ_AND_REPORT, str(root), str(cache)]
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()

    assert run() == "12 True"  # 10 single events and 2 weekly occurrences, parsed
    assert run() == "12 False"  # the same, from the cache alone


def test_a_dry_run_uses_the_cache_but_never_writes_it(tmp_path: Path) -> None:
    root, cache, window = _world(tmp_path)
    want = reference(root / OWNER, window)
    dry = LocalCalendar(root, TZ, cache=EventCache.open(cache, readonly=True))
    assert dry.read(OWNER, window).events == want
    assert not cache.parent.exists()  # no cache yet: none created, not even its folder
    cached_calendar(root, cache).read(OWNER, window)  # a real run leaves one
    (root / OWNER / "e1.ics").unlink()
    before = sorted((p.name, p.stat().st_mtime_ns) for p in cache.parent.iterdir())
    ro = EventCache.open(cache, readonly=True)
    assert ro.enabled
    dry = LocalCalendar(root, TZ, cache=ro)
    assert dry.read(OWNER, window).events == reference(root / OWNER, window)
    assert sorted((p.name, p.stat().st_mtime_ns) for p in cache.parent.iterdir()) == before


@pytest.mark.parametrize("uids", [set(), {"a"}, {"a", "b"}, {"x\ny", "z"}, {"[not json"}])
def test_rows_keep_any_uids(tmp_path: Path, uids: set[str]) -> None:
    cache = EventCache.open(tmp_path / "c.sqlite3")
    cache.store(tmp_path, OWNER, "UTC", [("f.ics", Row((1, 2, 3), "scan", frozenset(uids), 0, 1))])
    assert (
        EventCache.open(tmp_path / "c.sqlite3").load(tmp_path, OWNER, "UTC")["f.ics"].uids == uids
    )
