"""A persistent cache of decoded events for the local backend, so a cold process (cron's
`coachd once`, `coachd plan`) reads only the .ics files that changed since the last run.

The store is SQLite (the stdlib's sqlite3, as khal's cache): one file, transactions that a
crash cannot leave half-applied, and file locks that let two processes share it. It keeps a
rollback journal rather than WAL: a read-only open (the dry run, `coachd plan`) then creates
no file at all, and a write is one short transaction per folder read, so readers wait for a
writer only for that long. A JSON file would be rewritten whole on every change, and a
folder of small files costs a stat and a read per entry.

It is only a cache. A row is used only while its file's identity (inode, size, mtime_ns)
is unchanged and the cache was written by the same decoder (FORMAT and the icalendar and
recurring-ical-events versions); each row carries a CRC of its payload. A cache that cannot
be opened, is corrupt or was written by another decoder is deleted and rebuilt; a failure
while in use disables it for the process. Either way the reader parses the files instead:
it costs time, never a wrong answer.

Per file, a row holds one of:
- `single` (a file without recurrence): its decoded events and their exact UTC bounds;
- `scan` (the same, never parsed): the pre-scan's UIDs and widened bounds, for a file whose
  events lay outside every window asked so far (parsed, and its row replaced, once a window
  reaches it);
- `series`: its occurrences over a covered range (`lo`..`hi`); a window inside the range
  takes those overlapping it, any other window parses the file again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from importlib.metadata import version
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from planner.model import Attendee, CoachdTag, Event

log = logging.getLogger(__name__)

# Bump when ics_decode's mapping from a file to Events changes.
FORMAT = 2
Kind = Literal["single", "scan", "series"]
Stamp = tuple[int, int, int]  # (inode, mtime_ns, size), as the local backend stats a file
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def decoder_version() -> str:
    """What decoded the rows: a change of any part makes every row stale."""
    return f"{FORMAT}/icalendar {version('icalendar')}/rie {version('recurring-ical-events')}"


def to_us(dt: datetime) -> int:
    """Microseconds since the epoch of an aware datetime (exact, unlike a float)."""
    return (dt - _EPOCH) // timedelta(microseconds=1)


def from_us(us: int, tz: tzinfo) -> datetime:
    """The inverse of `to_us`, in `tz` (as the decoder gives every time)."""
    return (_EPOCH + timedelta(microseconds=us)).astimezone(tz)


@dataclass(frozen=True)
class Row:
    """One file's cached entry. `lo`/`hi` are UTC microseconds: the bounds of its events (None:
    a file without events), or for a series the range its occurrences were expanded over."""

    stamp: Stamp
    kind: Kind
    uids: frozenset[str]
    lo: int | None = None
    hi: int | None = None
    payload: bytes = b""
    payload_crc: int | None = None  # checked when the payload is decoded (None: not stored yet)

    def events(self, tz: ZoneInfo, calendar: str) -> list[Event]:
        """The payload's events; raises ValueError (or TypeError...) if it is damaged."""
        if self.payload_crc is not None and zlib.crc32(self.payload) != self.payload_crc:
            raise ValueError("payload CRC does not match")
        return decode_events(self.payload, tz, calendar)


def encode_events(events: Sequence[Event]) -> bytes:
    """Events as compact JSON (times as UTC microseconds; `calendar` is the reader)."""
    return json.dumps(
        [
            [
                e.id,
                e.uid,
                e.title,
                to_us(e.start),
                to_us(e.end),
                e.all_day,
                e.description,
                e.location,
                e.organizer,
                [[a.email, a.name, a.status, a.organizer] for a in e.attendees],
                e.self_status,
                e.transparent,
                e.cancelled,
                e.recurring,
                e.event_type,
                None
                if e.tag is None
                else [e.tag.key, e.tag.kind, e.tag.rep, e.tag.period, e.tag.generation],
                e.flagged,
                e.sequence,
                e.updated,
            ]
            for e in events
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode("utf-8")


def decode_events(payload: bytes, tz: ZoneInfo, calendar: str) -> list[Event]:
    """The inverse of `encode_events`. Raises ValueError/TypeError/KeyError on a bad payload."""
    out = []
    for r in json.loads(payload):
        tag = r[15]
        out.append(
            Event(
                id=r[0],
                uid=r[1],
                calendar=calendar,
                title=r[2],
                start=from_us(r[3], tz),
                end=from_us(r[4], tz),
                all_day=r[5],
                description=r[6],
                location=r[7],
                organizer=r[8],
                attendees=tuple(Attendee(a[0], a[1], a[2], a[3]) for a in r[9]),
                self_status=r[10],
                transparent=r[11],
                cancelled=r[12],
                recurring=r[13],
                event_type=r[14],
                tag=None if tag is None else CoachdTag(tag[0], tag[1], tag[2], tag[3], tag[4]),
                flagged=r[16],
                sequence=r[17],
                updated=r[18],
            )
        )
    return out


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    folder TEXT NOT NULL, name TEXT NOT NULL, reader TEXT NOT NULL, tz TEXT NOT NULL,
    ino INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, size INTEGER NOT NULL,
    kind TEXT NOT NULL, uids TEXT NOT NULL, lo INTEGER, hi INTEGER,
    payload BLOB NOT NULL, payload_crc INTEGER NOT NULL, crc INTEGER NOT NULL,
    PRIMARY KEY (folder, reader, tz, name)
);
"""


def _crc(kind: str, uids: str, lo: Any, hi: Any, payload_crc: int) -> int:
    """The CRC of a row's small columns (the payload's own CRC among them)."""
    return zlib.crc32(f"{kind}\x00{uids}\x00{lo}\x00{hi}\x00{payload_crc}".encode())


def _join_uids(uids: frozenset[str]) -> str:
    """UIDs one a line (the common case, cheap to split), or as JSON when one could not be."""
    ordered = sorted(uids)
    if any("\n" in u for u in ordered) or (ordered and ordered[0].startswith("[")):
        return json.dumps(ordered, ensure_ascii=False)
    return "\n".join(ordered)


def _split_uids(text: str) -> frozenset[str]:
    if text.startswith("["):
        uids = json.loads(text)
        if not isinstance(uids, list) or not all(isinstance(u, str) for u in uids):
            raise TypeError("uids are not a list of strings")
        return frozenset(uids)
    return frozenset(text.split("\n")) if text else frozenset()


class EventCache:
    """The cache file behind a small API; every method swallows SQLite errors (a cache that
    fails is a cache that misses). Use `EventCache.open(path)`."""

    def __init__(self, db: sqlite3.Connection | None, path: Path, *, readonly: bool) -> None:
        self._db = db
        self.path = path
        self.readonly = readonly

    @classmethod
    def open(cls, path: Path, *, readonly: bool = False) -> EventCache:
        """Open or create the cache at `path` (0600); one that is corrupt or written by
        another decoder is deleted and started afresh. Never raises: a cache that cannot be
        opened at all is a disabled one.

        `readonly` (for dry runs): use the cache if it exists and is of this decoder, never
        create, change or delete a file."""
        path = Path(path)
        if readonly:
            try:
                return cls(_connect_readonly(path), path, readonly=True)
            except (sqlite3.Error, OSError) as e:
                log.debug("calendar cache %s not used: %s", path, e)
                return cls(None, path, readonly=True)
        for attempt in (1, 2):
            try:
                return cls(_connect(path), path, readonly=False)
            except sqlite3.Error as e:
                if attempt == 2:
                    log.warning("calendar cache %s disabled: %s", path, e)
                    break
                log.warning("calendar cache %s unusable (%s): rebuilding it", path, e)
                _remove(path)
            except OSError as e:
                log.warning("calendar cache %s disabled: %s", path, e)
                break
        return cls(None, path, readonly=False)

    @property
    def enabled(self) -> bool:
        return self._db is not None

    def _failed(self, what: str, e: sqlite3.Error) -> None:
        log.warning("calendar cache %s disabled after a failed %s: %s", self.path, what, e)
        self.close()
        if self.readonly:
            return
        if isinstance(e, sqlite3.DatabaseError) and not isinstance(e, sqlite3.OperationalError):
            # Damaged, not merely busy: the next process starts a new one.
            _remove(self.path)

    def load(self, folder: Path, reader: str, tz: str) -> dict[str, Row]:
        """Every sound row of one folder read for `reader` in zone `tz`, by file name."""
        if self._db is None:
            return {}
        out: dict[str, Row] = {}
        try:
            cur = self._db.execute(
                "SELECT name, ino, mtime_ns, size, kind, uids, lo, hi, payload, payload_crc, crc "
                "FROM files WHERE folder = ? AND reader = ? AND tz = ?",
                (str(folder), reader, tz),
            )
            for name, *cols in cur:
                try:
                    out[name] = _row(*cols)
                except (TypeError, ValueError) as e:
                    log.debug("calendar cache: damaged row for %s/%s ignored: %s", folder, name, e)
        except sqlite3.Error as e:
            self._failed("read", e)
            return {}
        return out

    def store(
        self,
        folder: Path,
        reader: str,
        tz: str,
        rows: Iterable[tuple[str, Row]],
        gone: Iterable[str] = (),
    ) -> None:
        """Replace the rows of these files and drop those of files no longer there, in one
        transaction."""
        if self._db is None or self.readonly:
            return
        records = []
        for name, r in rows:
            uids = _join_uids(r.uids)
            pcrc = zlib.crc32(r.payload)
            crc = _crc(r.kind, uids, r.lo, r.hi, pcrc)
            head = (str(folder), name, reader, tz, *r.stamp)
            records.append((*head, r.kind, uids, r.lo, r.hi, r.payload, pcrc, crc))
        dropped = [(str(folder), reader, tz, name) for name in gone]
        if not records and not dropped:
            return
        try:
            with self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO files (folder, name, reader, tz, ino, mtime_ns, "
                    "size, kind, uids, lo, hi, payload, payload_crc, crc) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    records,
                )
                self._db.executemany(
                    "DELETE FROM files WHERE folder = ? AND reader = ? AND tz = ? AND name = ?",
                    dropped,
                )
        except sqlite3.Error as e:
            self._failed("write", e)

    def close(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None


def _row(
    ino: Any,
    mtime_ns: Any,
    size: Any,
    kind: Any,
    uids: Any,
    lo: Any,
    hi: Any,
    payload: Any,
    payload_crc: Any,
    crc: Any,
) -> Row:
    """A row as stored, checked (types, kind, CRC of the small columns; the payload's CRC is
    checked when it is decoded); raises TypeError/ValueError if damaged."""
    if not isinstance(payload, bytes) or not isinstance(uids, str):
        raise TypeError("a column of the wrong type")
    if kind not in ("single", "scan", "series") or _crc(kind, uids, lo, hi, payload_crc) != crc:
        raise ValueError("kind or CRC does not match")
    if not (lo is None or type(lo) is int) or not (hi is None or type(hi) is int):
        raise TypeError("bounds of the wrong type")
    stamp = (int(ino), int(mtime_ns), int(size))
    return Row(stamp, kind, _split_uids(uids), lo, hi, payload, int(payload_crc))


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(OSError):
            Path(f"{path}{suffix}").unlink()


def _connect_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection to an existing cache of this decoder version (raises)."""
    if not path.is_file():
        raise FileNotFoundError(path)
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5.0)
    try:
        row = db.execute("SELECT value FROM meta WHERE key = 'decoder'").fetchone()
        if row is None or row[0] != decoder_version():
            raise sqlite3.DatabaseError("written by another decoder")
        return db
    except BaseException:
        db.close()
        raise


def _connect(path: Path) -> sqlite3.Connection:
    """A connection to a checked cache file of this decoder version (raises sqlite3.Error)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        # Created 0600 before SQLite opens it: it holds meeting titles and guest lists.
        path.touch(mode=0o600)
    # Autocommit mode; transactions are explicit (`with db:` opens one through the module).
    db = sqlite3.connect(path, timeout=5.0, isolation_level="DEFERRED")
    try:
        db.execute("PRAGMA journal_mode=DELETE")
        db.execute("PRAGMA synchronous=NORMAL")  # a crash may lose the last commit: a miss
        db.executescript(_SCHEMA)
        want = decoder_version()
        row = db.execute("SELECT value FROM meta WHERE key = 'decoder'").fetchone()
        if row is None or row[0] != want:
            with db:  # another decoder's rows, maybe another layout: start the table anew
                db.execute("DROP TABLE IF EXISTS files")
            db.executescript(_SCHEMA)
            with db:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('decoder', ?)", (want,))
        return db
    except BaseException:
        db.close()
        raise
