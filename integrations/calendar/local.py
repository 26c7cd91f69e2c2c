"""The local calendar backend: a vdir folder of iCalendar files, one sub-folder per person.

Layout: `root/<person email>/<name>.ics`, one VCALENDAR per file holding one event (a
recurring series and its overridden instances share a file). khal reads it as it is and
vdirsyncer syncs it with any CalDAV server. coachd names its own files `<uid>.ics`; files
written by other tools may be named anything, so an index UID -> file is kept, refreshed
from the folder whenever a lookup misses.

Event ids follow `ics_decode`: the UID for a single event, `UID/<recurrence-id in UTC>` for
an occurrence of a series. Writes on an occurrence:
- Decline and Flag apply to the whole series file: an answer to an invitation is given once
  for the series, as calendar clients do when you decline a recurring meeting.
- Cancel removes only that occurrence (EXDATE on the series); Cancel of a single event deletes
  its file.
- Move of an occurrence is refused (coachd only moves its own, single events).
Move and Cancel are refused for any event without coachd's X-COACHD-KEY tag: a planner bug
must never delete or shift someone else's meeting.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from integrations.calendar import prescan
from integrations.calendar.base import BusyRead, CalendarRead, CalendarWrite, WriteOutcome
from integrations.calendar.cache import (
    EventCache,
    Row,
    encode_events,
    from_us,
    to_us,
)
from integrations.calendar.ics_bounds import IcsLimits, check_size
from integrations.calendar.ics_decode import (
    ParsedFile,
    in_window,
    is_series,
    occurrences,
    parse_ics,
    parse_recurrence_suffix,
    single_events,
)
from integrations.calendar.vdir import (
    atomic_write,
    item_filename,
    list_items,
    person_dir,
    remove_file,
    write_event_file,
)
from integrations.errors import TransientError, UserError
from integrations.fsutil import remove_stale_temp_files
from planner.actions import Book, Cancel, Decline, Flag, Move
from planner.model import Event
from planner.timeutil import Interval, clip, merge

log = logging.getLogger(__name__)

# (inode, mtime_ns, size). vdir writers (khal, vdirsyncer, coachd) replace files by renaming a
# new one over them, which changes the inode, so an unchanged stamp means unchanged content.
_Stamp = tuple[int, int, int]


class NotFound(LookupError):
    """No file in the person's folder holds the event."""


@dataclass
class _Cached:
    """What is known about one file while its stamp stays the same."""

    stamp: _Stamp
    uids: frozenset[str]
    reader: str = ""  # the owner the events were decoded for (self_status depends on it)
    single: tuple[Event, ...] | None = None  # every event of a file without recurrence
    series: ParsedFile | None = None  # a recurring series, expanded anew for each window
    # No event of the file lies outside [span): exact for decoded events, widened for a
    # pre-scan (then neither `single` nor `series` is known until a window reaches it).
    span: tuple[datetime, datetime] | None = None
    span_us: tuple[int, int] | None = None  # the same from the persistent cache (UTC us)
    row: Row | None = None  # `single` from the persistent cache, decoded on first use
    # A series from the persistent cache: its occurrences over `cover` (encoded in `row`),
    # good for any window inside it; another window parses the file.
    cover: tuple[datetime, datetime] | None = None
    expanded: tuple[Event, ...] | None = None

    def misses(self, window: Interval) -> bool:
        """Whether no event of the file can overlap the window."""
        if self.span_us is not None:
            lo, hi = _window_us(window)
            return self.span_us[1] < lo or self.span_us[0] >= hi
        return self.span is not None and (self.span[1] < window.start or self.span[0] >= window.end)


_last_window: tuple[Interval, tuple[int, int]] | None = None


def _window_us(window: Interval) -> tuple[int, int]:
    """The window's bounds in UTC microseconds (kept for the last window: one per read)."""
    global _last_window
    if _last_window is None or _last_window[0] is not window:
        _last_window = (window, (to_us(window.start), to_us(window.end)))
    return _last_window[1]


# A series is expanded this far past the window for the persistent cache, so the next
# processes (whose window end moves with the clock) can reuse the expansion for a while.
SERIES_AHEAD = timedelta(days=7)

# How long an unchanged folder listing is trusted before every file is stat'ed again.
FULL_SWEEP_EVERY = 3600.0


def _dir_signature(folder: Path) -> tuple[int, int]:
    st = folder.stat()
    return (st.st_ino, st.st_mtime_ns)


def _stamp(path: Path) -> _Stamp:
    st = path.stat()
    return (st.st_ino, st.st_mtime_ns, st.st_size)


@dataclass(frozen=True)
class _Located:
    path: Path
    parsed: ParsedFile
    uid: str
    recurrence: str | None  # the `YYYYMMDD[THHMMSSZ]` part of an occurrence id


class LocalCalendar:
    """A `Calendar` over a vdir tree. `tz` is the manager's zone: all-day and floating events
    are read in it and coachd's own events are written in it. `clock` returns the current
    aware time for DTSTAMP/LAST-MODIFIED (defaults to the system clock). `limits` caps the
    work one file may cost (see `ics_bounds`): a file above them is skipped with a warning.
    `read_budget` bounds the seconds a tick spends reading folders (see `start_budget`)."""

    def __init__(
        self,
        root: Path,
        tz: ZoneInfo,
        *,
        clock: Callable[[], datetime] | None = None,
        limits: IcsLimits | None = None,
        read_budget: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        cache: EventCache | None = None,
    ) -> None:
        self.root = Path(root)
        self.tz = tz
        self.limits = limits or IcsLimits()
        self.read_budget = read_budget
        self._monotonic = monotonic
        self._deadline: float | None = None
        self._clock = clock or (lambda: datetime.now(UTC))
        # Decoded files kept across processes (None: only this process's memory).
        self._disk = cache
        self._disk_rows: dict[tuple[Path, str], dict[str, Row]] = {}
        self._disk_new: list[tuple[str, Row]] = []
        self._index: dict[Path, dict[str, Path]] = {}
        # Parsing dominates a read; files that did not change are not parsed again.
        self._files: dict[Path, _Cached] = {}
        self._by_folder: dict[Path, set[Path]] = {}
        self._listings: dict[Path, tuple[tuple[int, int], float, list[Path]]] = {}
        # For refresh_cache: each folder's last read (owner, window), the folders written.
        self._last_read: dict[Path, tuple[str, Interval]] = {}
        self._written: set[Path] = set()

    # ----------------------------------------------------------------- reading

    def read(self, owner: str, window: Interval) -> CalendarRead:
        """Every occurrence of the owner's events overlapping `window`, sorted by start.

        A missing folder holds no events (with a warning); a folder that cannot be listed
        raises UserError, because planning on a calendar that silently looks empty would
        book over real meetings. A malformed file is skipped with a warning naming it.
        """
        folder = person_dir(self.root, owner)
        try:
            sig = _dir_signature(folder)
            listed = self._listings.get(folder)
            # vdir writers replace files by rename, which changes the folder's mtime: an
            # unchanged folder needs no stat of each file. A full sweep still runs now and
            # then, for writers that edit a file in place.
            trust = (
                listed is not None
                and listed[0] == sig
                and time.monotonic() - listed[1] < FULL_SWEEP_EVERY
            )
            if trust and listed is not None:
                files = listed[2]
            else:
                files = list_items(folder)
                # Only a folder that was quiet when listed is trusted later: a change in the
                # same clock tick as the listing would leave the mtime as it was.
                if time.time() - sig[1] / 1e9 >= 2.0:
                    self._listings[folder] = (sig, time.monotonic(), files)
                else:
                    self._listings.pop(folder, None)
        except FileNotFoundError:
            return CalendarRead([], [f"no calendar folder for {owner} at {folder}: no events"])
        except OSError as e:
            raise UserError(f"cannot read calendar folder {folder}: {e}") from e
        events, warnings = [], []
        index: dict[str, Path] = {}
        self._disk_new = []
        for n, path in enumerate(files):
            self._within_budget(folder, n, len(files))
            try:
                events.extend(self._events_in(path, owner, window, restat=not trust))
                for uid in self._files[path].uids:
                    index.setdefault(uid, path)
            except Exception as e:
                # One bad file never stops the others; the warning names it so a person can fix it.
                # Returned, not logged here: the caller reports warnings once.
                warnings.append(f"skipped {path}: {e}")
        self._index[folder] = index
        present = set(files)
        self._save_rows(folder, owner, present)
        known = self._by_folder.setdefault(folder, set())
        for gone in known - present:
            self._files.pop(gone, None)
        self._by_folder[folder] = present
        self._last_read[folder] = (owner, window)
        events.sort(key=lambda ev: (ev.start, ev.id))
        return CalendarRead(events, warnings)

    def _events_in(
        self, path: Path, owner: str, window: Interval, *, restat: bool = True
    ) -> list[Event]:
        """The events of one file overlapping the window, decoding it only when it changed.

        With `restat=False` (its folder is unchanged since the last listing) a cached file is
        taken as it is, without a stat.
        """
        cached = self._files.get(path)
        stamp = cached.stamp if cached is not None and not restat else _stamp(path)
        if cached is None or cached.stamp != stamp or cached.reader != owner:
            cached = self._remembered(path, stamp, owner) or self._scan(path, stamp, owner, window)
            self._files[path] = cached
        if cached.misses(window):
            return []
        if cached.cover is not None:
            if cached.cover[0] <= window.start and window.end <= cached.cover[1]:
                if cached.expanded is None and cached.row is not None:
                    with contextlib.suppress(ValueError, TypeError, KeyError, IndexError):
                        cached.expanded = tuple(cached.row.events(self.tz, owner))
                    cached.row = None
                if cached.expanded is not None:
                    return [ev for ev in cached.expanded if in_window(ev, window)]
            cached = self._decode(path, self._read_bytes(path, stamp[2]), stamp, owner, window)
            self._files[path] = cached
        if cached.single is None and cached.row is not None:
            try:
                cached.single = tuple(cached.row.events(self.tz, owner))
            except (ValueError, TypeError, KeyError, IndexError) as e:
                log.debug("calendar cache: undecodable entry for %s (%s): parsing", path, e)
            cached.row = None
        if cached.single is None and cached.series is None:
            cached = self._decode(path, self._read_bytes(path, stamp[2]), stamp, owner, window)
            self._files[path] = cached
        if cached.single is not None:
            return [ev for ev in cached.single if in_window(ev, window)]
        assert cached.series is not None
        return occurrences(cached.series, window, self.tz, owner, owner, self.limits)

    def _read_bytes(self, path: Path, size: int) -> bytes:
        """The file's bytes, refused above the size cap before (and while) reading: a file
        that grows between the stat and the read is still cut off at the cap."""
        check_size(size, self.limits)
        with path.open("rb") as fh:
            data = fh.read(self.limits.max_file_bytes + 1)
        check_size(len(data), self.limits)
        return data

    def _remembered(self, path: Path, stamp: _Stamp, owner: str) -> _Cached | None:
        """The file's entry from the persistent cache, if it has one for this very file."""
        if self._disk is None:
            return None
        key = (path.parent, owner)
        rows = self._disk_rows.get(key)
        if rows is None:
            rows = self._disk_rows[key] = self._disk.load(path.parent, owner, self.tz.key)
        row = rows.get(path.name)
        if row is None or row.stamp != stamp:
            return None
        span = None if row.lo is None or row.hi is None else (row.lo, row.hi)
        if row.kind == "series":
            try:
                cover = (from_us(row.lo or 0, UTC), from_us(row.hi or 0, UTC))
            except (OverflowError, ValueError):
                return None  # bounds no datetime can hold: a damaged row, parse the file
            return _Cached(stamp, row.uids, owner, cover=cover, row=row)
        return _Cached(
            stamp, row.uids, owner, span_us=span, row=row if row.kind == "single" else None
        )

    def _scan(self, path: Path, stamp: _Stamp, owner: str, window: Interval) -> _Cached:
        """A file not seen before: pre-scanned, and parsed only if it may touch the window."""
        data = self._read_bytes(path, stamp[2])
        found = prescan.scan(data)
        if found is None or found.may_touch(window.start, window.end):
            return self._decode(path, data, stamp, owner, window)
        if self._disk is not None:
            row = Row(stamp, "scan", found.uids, to_us(found.start), to_us(found.end))
            self._disk_new.append((path.name, row))
        return _Cached(stamp, found.uids, owner, span=(found.start, found.end))

    def _decode(
        self, path: Path, data: bytes, stamp: _Stamp, owner: str, window: Interval
    ) -> _Cached:
        """A full parse of the file (standard zone definitions skipped, see prescan).

        For the persistent cache, a series is also expanded over the window and SERIES_AHEAD.
        """
        parsed = parse_ics(prescan.strip_standard_vtimezones(data))
        cached = _Cached(stamp, parsed.uids, owner)
        if any(is_series(parsed.calendar, uid) for uid in parsed.uids):
            cached.series = parsed
            if self._disk is not None:
                cover = Interval(window.start, window.end + SERIES_AHEAD)
                occ = occurrences(parsed, cover, self.tz, owner, owner, self.limits)
                bounds = (to_us(cover.start), to_us(cover.end))
                row = Row(stamp, "series", parsed.uids, *bounds, encode_events(occ))
                self._disk_new.append((path.name, row))
            return cached
        single = tuple(single_events(parsed, self.tz, owner, owner))
        cached.single = single
        lo: int | None = None
        hi: int | None = None
        if single:
            cached.span = (min(e.start for e in single), max(e.end for e in single))
            lo, hi = to_us(cached.span[0]), to_us(cached.span[1])
        if self._disk is not None:
            row = Row(stamp, "single", parsed.uids, lo, hi, encode_events(single))
            self._disk_new.append((path.name, row))
        return cached

    def _save_rows(self, folder: Path, owner: str, present: set[Path]) -> None:
        """Write what this read learned to the persistent cache; forget files gone."""
        new, self._disk_new = self._disk_new, []
        if self._disk is None:
            return
        rows = self._disk_rows.get((folder, owner), {})
        names = {p.name for p in present}
        gone = [name for name in rows if name not in names]
        for name in gone:
            rows.pop(name, None)
        self._disk.store(folder, owner, self.tz.key, new, gone)

    def busy(self, people: Sequence[str], window: Interval) -> BusyRead:
        """Per person, the merged intervals (clipped to the window) of events that block time.

        A person without a folder is free, with a warning naming them; a folder that cannot
        be read goes to `errors` and the others are still answered.
        """
        out = BusyRead(busy={})
        for person in people:
            try:
                folder = person_dir(self.root, person)
            except UserError as e:
                out.errors[person] = str(e)
                continue
            if not folder.is_dir():
                out.busy[person] = []
                out.warnings.append(f"no calendar folder for {person}: treated as free")
                continue
            try:
                got = self.read(person, window)
            except Exception as e:
                out.errors[person] = str(e)
                continue
            out.warnings.extend(got.warnings)
            # out of office blocks a person even when their client shows it as free
            blocking = [
                ev.interval
                for ev in got.events
                if ev.blocks_time() or (ev.event_type == "outOfOffice" and not ev.cancelled)
            ]
            out.busy[person] = merge(clip(blocking, window))
        return out

    def start_budget(self) -> None:
        """Start this tick's reading budget (`read_budget` seconds for every folder read
        until the next call); the shell calls it at the start of each tick."""
        if self.read_budget is not None:
            self._deadline = self._monotonic() + self.read_budget

    def _within_budget(self, folder: Path, done: int, total: int) -> None:
        """Raise TransientError once the tick's reading budget is spent. Files parsed so far
        stay cached, so the next tick goes on from there; the reader of the error books
        nothing that depends on this calendar (a rep's) or holds the tick (the manager's)."""
        if self._deadline is not None and self._monotonic() > self._deadline:
            raise TransientError(
                f"reading {folder} stopped: this tick's {self.read_budget:g}s for reading "
                f"calendars is spent ({done} of {total} files read; the next tick goes on)"
            )

    def remove_stale_temp_files(self, now: float) -> int:
        """Delete temp files that killed writes left in the person folders (older than an
        hour); returns how many. Called when coachd starts."""
        removed = 0
        with contextlib.suppress(OSError):
            for folder in self.root.iterdir():
                if folder.is_dir() and not folder.is_symlink():
                    removed += remove_stale_temp_files(folder, now)
        return removed

    def refresh_cache(self) -> None:
        """After a tick's writes: read each folder written again, over the window it was
        last read for, so the files this tick wrote are decoded into the persistent cache
        now and the next process (the next cron tick, a `coachd plan`) parses none of them.
        It only moves that parse into the tick that wrote; a failure (a spent reading
        budget, an unreadable folder) leaves the parse to the next process."""
        written, self._written = self._written, set()
        if self._disk is None:
            return
        for folder in sorted(written):
            last = self._last_read.get(folder)
            if last is None:
                continue
            try:
                self.read(*last)
            except Exception as e:
                log.debug("calendar cache: %s not refreshed after writing: %s", folder, e)

    # ----------------------------------------------------------------- writing

    def apply(self, owner: str, writes: Sequence[CalendarWrite]) -> list[WriteOutcome]:
        """Carry out each write on the owner's folder, independently: a failure becomes that
        write's outcome error and the next one still runs."""
        outcomes = []
        with contextlib.suppress(UserError):
            self._written.add(person_dir(self.root, owner))
        for write in writes:
            try:
                outcomes.append(self._apply_one(owner, write))
            except Exception as e:
                log.debug(
                    "calendar write %s %s failed: %s",
                    type(write).__name__,
                    getattr(write, "event_id", "?"),
                    e,
                )
                outcomes.append(
                    WriteOutcome(
                        write,
                        getattr(write, "event_id", None),
                        error=str(e) or type(e).__name__,
                        transient=isinstance(e, OSError),
                    )
                )
        return outcomes

    def _apply_one(self, owner: str, write: CalendarWrite) -> WriteOutcome:
        from integrations.calendar import ics_encode as enc  # icalendar: only when writing

        folder = person_dir(self.root, owner)
        if isinstance(write, Book):
            return self._book(owner, folder, write)
        try:
            found = self._locate(folder, write.event_id)
        except NotFound:
            if isinstance(write, Cancel):
                return WriteOutcome(write, write.event_id)  # already gone: nothing to do
            return WriteOutcome(write, write.event_id, error="not found")
        if isinstance(write, Cancel | Move) and not any(
            "X-COACHD-KEY" in ev for ev in enc.events_of(found.parsed.calendar, found.uid)
        ):
            # A safety brake: coachd moves and removes only what it booked itself.
            verb = "cancel" if isinstance(write, Cancel) else "move"
            return WriteOutcome(
                write, write.event_id, error=f"refusing to {verb} an event coachd did not book"
            )
        if isinstance(write, Cancel):
            self._cancel(found)
        elif isinstance(write, Move):
            if enc.move(
                found.parsed.calendar, found.uid, write.start, write.end, self.tz, self._clock()
            ):
                self._save(found)
        elif isinstance(write, Decline):
            if enc.decline(found.parsed.calendar, found.uid, owner, write.rule, write.delegate_to):
                self._save(found)
        elif isinstance(write, Flag):
            if enc.flag(found.parsed.calendar, found.uid, write.rule):
                self._save(found)
        else:  # pragma: no cover - the union is exhaustive
            raise TypeError(f"unknown calendar write {write!r}")
        return WriteOutcome(write, write.event_id)

    def _book(self, owner: str, folder: Path, book: Book) -> WriteOutcome:
        """Write coachd's event as `<event_id>.ics`, unless a file already holds that UID."""
        from integrations.calendar import ics_encode as enc

        item_filename(book.event_id)  # refuse an id that is not a safe file name, before looking
        if book.end.astimezone(UTC) < book.start.astimezone(UTC):
            # Written, it would be a file every reader skips as malformed.
            raise ValueError(f"booking ends ({book.end}) before it starts ({book.start})")
        try:
            # A read of this folder indexed every UID in it; only without one is a full
            # rescan needed (each rescan stats every file: costly in a year-old folder).
            self._locate(folder, book.event_id, exact_uid=True, rescan=folder not in self._index)
            return WriteOutcome(book, book.event_id)  # booked before: idempotent success
        except NotFound:
            pass
        data = enc.encode_event(enc.book_spec(book, owner), self.tz, self._clock())
        path = write_event_file(folder, book.event_id, data)
        self._index.setdefault(folder, {})[book.event_id] = path
        return WriteOutcome(book, book.event_id)

    def apply_reply(self, owner: str, reply: Any, sender: str) -> bool:
        """Record an attendee's iMIP REPLY (an icalendar.Calendar) on the owner's copy of the
        event it answers, written atomically; returns False when it was already recorded.

        Raises `imip.apply.ReplyRejected` (with the reason) for a reply that must not be
        applied, including one whose UID no file of the owner holds; OSError when the file
        cannot be read or written (try again later).
        """
        from integrations.imip.apply import ReplyRejected, apply_reply, reply_uid

        uid = reply_uid(reply)
        folder = person_dir(self.root, owner)
        try:
            found = self._locate(folder, uid, exact_uid=True)
        except NotFound:
            raise ReplyRejected(f"no event with UID {uid!r} in this calendar") from None
        from integrations.calendar import ics_encode as enc

        if not any("X-COACHD-KEY" in ev for ev in enc.events_of(found.parsed.calendar, uid)):
            # coachd invited nobody to it: the organizer's own client records the answers.
            raise ReplyRejected(f"{uid!r} is not an event coachd booked")
        if not apply_reply(found.parsed.calendar, reply, sender):
            return False
        self._save(found)
        return True

    def _cancel(self, found: _Located) -> None:
        if found.recurrence is None:
            remove_file(found.path)
            self._index.get(found.path.parent, {}).pop(found.uid, None)
            self._files.pop(found.path, None)
            return
        from integrations.calendar import ics_encode as enc

        rid = parse_recurrence_suffix(found.recurrence)
        if enc.exclude_occurrence(found.parsed.calendar, found.uid, rid, self.tz, self._clock()):
            self._save(found)

    def _save(self, found: _Located) -> None:
        atomic_write(found.path, found.parsed.calendar.to_ical())

    # ----------------------------------------------------------------- finding files

    def _parse(self, path: Path) -> ParsedFile:
        """Parse a file afresh (edits must never touch a cached copy) and note its UIDs."""
        stamp = _stamp(path)
        parsed = parse_ics(self._read_bytes(path, stamp[2]))
        cached = self._files.get(path)
        if cached is None or cached.stamp != stamp:
            self._files[path] = _Cached(stamp, parsed.uids)
        return parsed

    def _uids(self, path: Path) -> frozenset[str]:
        """The UIDs in a file, parsing it only when it changed since last seen."""
        cached = self._files.get(path)
        if cached is not None and cached.stamp == _stamp(path):
            return cached.uids
        return self._parse(path).uids

    def _locate(
        self, folder: Path, event_id: str, *, exact_uid: bool = False, rescan: bool = True
    ) -> _Located:
        """The file holding an event id (UID, or `UID/<recurrence>` for an occurrence).

        Looks in the index, then at `<uid>.ics`, then rescans the folder (files that changed
        are re-parsed; a malformed file is skipped here, it is reported by `read`).
        """
        candidates: list[tuple[str, str | None]] = [(event_id, None)]
        if not exact_uid and "/" in event_id:
            series_uid, _, suffix = event_id.rpartition("/")
            candidates.append((series_uid, suffix))
        for uid, rec in candidates:
            hit = self._lookup(folder, uid, rescan=False)
            if hit is not None:
                return self._located(hit, uid, rec)
        if not rescan:
            raise NotFound(event_id)
        self._rescan(folder)
        for uid, rec in candidates:
            hit = self._lookup(folder, uid, rescan=True)
            if hit is not None:
                return self._located(hit, uid, rec)
        raise NotFound(event_id)

    def _located(self, path: Path, uid: str, rec: str | None) -> _Located:
        parsed = self._parse(path)
        if rec is not None and not is_series(parsed.calendar, uid):
            raise NotFound(f"{uid}/{rec}")
        return _Located(path, parsed, uid, rec)

    def _lookup(self, folder: Path, uid: str, *, rescan: bool) -> Path | None:
        paths = [self._index.get(folder, {}).get(uid)]
        if not rescan:
            with contextlib.suppress(ValueError):
                paths.append(folder / item_filename(uid))
        for path in paths:
            if path is None:
                continue
            try:
                if uid in self._uids(path):
                    return path
            except (OSError, ValueError):
                continue
        return None

    def _rescan(self, folder: Path) -> None:
        index: dict[str, Path] = {}
        try:
            files = list_items(folder)
        except FileNotFoundError:
            files = []
        for path in files:
            try:
                for uid in self._uids(path):
                    index.setdefault(uid, path)
            except (OSError, ValueError):
                continue
        self._index[folder] = index
