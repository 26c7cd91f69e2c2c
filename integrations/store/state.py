"""coachd's memory: bookings, triage decisions, emails, adapter keys, ticks and an action log.

TinyDB sits behind `StateStore`; nothing outside this module sees a TinyDB type. Every write
is on disk when the call returns, so the executor can record intent before an outside write
and the outcome after, and a `kill -9` at any instant leaves the previous or the next
complete state. A write appends the changed records to the journal (state_journal: one
fsynced line, a cost that does not grow with history); the state file is rewritten whole
(AtomicJSONStorage: temp file, fsync, rename) when the journal has grown as large as it, at
`compact()` and at `close()`. `batch()` groups several updates into one journal line.
Only one writer at a time: `open()` takes a StateLock.
"""

from __future__ import annotations

import copy
import json
import logging
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar, cast

from tinydb import TinyDB, where

from integrations.errors import UserError
from integrations.fsutil import fsync_dir
from integrations.store import state_journal
from integrations.store.atomic_storage import AtomicJSONStorage, CorruptStateError
from integrations.store.lock import StateLock
from integrations.store.state_buffer import _Buffer
from integrations.store.state_codec import _booking, _decision, _dt, _email, _iso
from integrations.store.state_ports import EmailRecord, EmailStatus
from planner.model import BookingRecord, Decision

log = logging.getLogger(__name__)

SCHEMA = 1
T = TypeVar("T")


def _make_dirs(folder: Path) -> None:
    """Create missing folders 0700 (the state names the manager's meetings and team)."""
    missing: list[Path] = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for f in reversed(missing):
        f.mkdir(mode=0o700, exist_ok=True)


def _keep_aside(path: Path, now: datetime) -> Path:
    """Rename an unreadable state file to `<name>.corrupt-<UTC time>`, never over another."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    backup = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while backup.exists():
        n += 1
        backup = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    path.rename(backup)
    fsync_dir(path.parent)
    return backup


class StateStore:
    """The state file behind a small API. Use `StateStore.open(...)`, then `close()`.

    It implements every state port (integrations/store/state_ports.py: BookingStore,
    DecisionStore, SentMail, SyncTokens, and KeyValue)."""

    def __init__(
        self, db: TinyDB, buffer: _Buffer, *, path: Path, readonly: bool, lock: StateLock | None
    ) -> None:
        self._db = db
        self._buffer = buffer
        self._lock = lock
        self.path = path
        self.readonly = readonly
        self.recovered_from: Path | None = None

    # --- life cycle -----------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, *, readonly: bool = False, now: datetime) -> StateStore:
        """Open (or start) the state at `path`; unless readonly, take the single-writer lock.

        An empty or corrupt file is kept as `<name>.corrupt-<UTC time>`, logged, and a fresh
        state begins (`recovered_from` names the backup). A read-only store takes no lock, is a
        snapshot of the file at open and never changes any file: it raises CorruptStateError
        instead of recovering, and a missing file reads as empty.
        Raises UserError when another coachd holds the lock.
        """
        path = Path(path)
        lock: StateLock | None = None
        try:
            if not readonly:
                _make_dirs(path.parent)
                lock = StateLock(path)
                lock.acquire()
            return cls._load(path, readonly=readonly, now=now, lock=lock)
        except BaseException as e:
            if lock is not None:
                lock.release()
            if isinstance(e, OSError):
                # Permissions, a folder where the file should be, a read-only disk: fixable
                # by the person deploying coachd, so say what and where.
                where_ = "" if e.filename is None else f" ({e.filename})"
                raise UserError(
                    f"cannot use the state file {path}: {e.strerror or e}{where_}"
                ) from e
            raise

    @classmethod
    def _load(
        cls, path: Path, *, readonly: bool, now: datetime, lock: StateLock | None
    ) -> StateStore:
        buffer = _Buffer(AtomicJSONStorage)
        db = TinyDB(path, storage=buffer)
        store = cls(db, buffer, path=path, readonly=readonly, lock=lock)
        try:
            data = buffer.read()
        except CorruptStateError as e:
            if readonly:
                raise
            backup = _keep_aside(path, now)
            journal = state_journal.journal_path(path)
            if journal.exists():
                _keep_aside(journal, now)
            log.error(
                "state file %s was unreadable (%s); kept it as %s and started a fresh state",
                path,
                e.reason,
                backup,
            )
            store.recovered_from = backup
            buffer.forget()
            data = None
        if not readonly:
            # Temp files of a writer killed mid-write; we hold the lock, so none is live.
            for tmp in path.parent.glob(f".{path.name}.*.tmp"):
                tmp.unlink(missing_ok=True)
            journal = state_journal.journal_path(path)
            if data is None:
                journal.unlink(missing_ok=True)  # no state file: nothing it could add to
            buffer.journal = state_journal.Journal.open_for_append(journal)
            buffer.file_size = path.stat().st_size if data is not None else 0
        meta = (data or {}).get("meta", {})
        schema = max(
            (d["schema"] for d in meta.values() if isinstance(d.get("schema"), int)), default=0
        )
        if schema > SCHEMA:
            raise UserError(
                f"state file {path} was written by a newer coachd (schema {schema}); "
                "upgrade coachd or move the file away"
            )
        if data is None and not readonly:
            store._insert("meta", {"schema": SCHEMA, "created": _iso(now)})
        return store

    def close(self) -> None:
        """Fold the journal into the state file and release the lock. Everything written is
        already on disk; a store killed before this leaves its journal for the next open."""
        if not self.readonly and self._lock is not None:
            try:
                self._buffer.checkpoint()
            except OSError as e:
                log.warning("could not fold the journal into %s (kept it): %s", self.path, e)
        self._db.close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def checkpoint(self) -> None:
        """Rewrite the state file with everything in the journal, and remove the journal
        (for tools that read the file itself; the store needs no checkpoint to be safe)."""
        self._writable()
        self._buffer.checkpoint()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Defer the writes inside into one atomic write at the end of the outermost batch.

        All or nothing: if the outermost batch ends with an exception, its updates are
        dropped and the store reads the file again. Nothing inside is durable until the
        end, so do not make outside writes (calendar, mail) that depend on it in a batch.
        Nested batches join the outer one.
        """
        self._writable()
        buf = self._buffer
        buf.depth += 1
        try:
            yield
        except BaseException:
            buf.depth -= 1
            if buf.depth == 0:
                buf.forget()
            raise
        buf.depth -= 1
        if buf.depth == 0 and buf.dirty:
            buf.flush()

    def _writable(self) -> None:
        if self.readonly:
            raise RuntimeError(f"state {self.path} was opened read-only")

    # --- generic keyed tables --------------------------------------------------------------

    def _track_put(self, table: str, doc_ids: Sequence[int]) -> None:
        t = self._db.table(table)
        ops: list[state_journal.Op] = []
        for doc_id in doc_ids:
            doc = t.get(doc_id=doc_id)
            if doc is not None:
                ops.append(["put", table, str(doc_id), dict(cast(dict[str, Any], doc))])
        self._buffer.track(ops)

    def _insert(self, table: str, doc: dict[str, Any]) -> None:
        self._track_put(table, [self._db.table(table).insert(doc)])

    def _remove(self, table: str, doc_ids: Sequence[int]) -> None:
        self._db.table(table).remove(doc_ids=list(doc_ids))
        self._buffer.track([["del", table, str(i)] for i in doc_ids])

    def _rows(self, table: str) -> list[dict[str, Any]]:
        return [dict(d) for d in self._db.table(table).all()]

    def _upsert(self, table: str, field: str, doc: dict[str, Any]) -> None:
        # One file write: TinyDB's own upsert writes twice when it ends up inserting.
        self._writable()
        t = self._db.table(table)
        old = t.get(where(field) == doc[field])
        if old is None:
            self._insert(table, doc)
        else:
            t.update(doc, doc_ids=[old.doc_id])
            self._track_put(table, [old.doc_id])

    def _one(self, table: str, field: str, value: str) -> dict[str, Any] | None:
        doc = self._db.table(table).get(where(field) == value)
        return None if doc is None else dict(cast(dict[str, Any], doc))

    def _decoded(
        self, table: str, field: str, decode: Callable[[dict[str, Any]], T]
    ) -> dict[str, T]:
        out: dict[str, T] = {}
        for row in self._rows(table):
            try:
                out[row[field]] = decode(row)
            except (KeyError, TypeError, ValueError) as e:
                # One damaged record must not stop a tick: skip it, say which.
                log.warning("skipping a malformed %s record in %s: %s", table, self.path, e)
        return out

    # --- bookings --------------------------------------------------------------------------

    def bookings(self) -> dict[str, BookingRecord]:
        """Every booking coachd remembers, by its key."""
        return self._decoded("bookings", "key", _booking)

    def put_booking(self, rec: BookingRecord) -> None:
        """Insert or replace the booking with `rec.key`."""
        self._upsert(
            "bookings",
            "key",
            {
                "key": rec.key,
                "event_id": rec.event_id,
                "generation": rec.generation,
                "status": rec.status,
                "kind": rec.kind,
                "rep": rec.rep,
                "start": _iso(rec.start),
                "end": _iso(rec.end),
                "person_moved": rec.person_moved,
            },
        )

    # --- triage decisions ------------------------------------------------------------------

    def decisions(self) -> dict[str, Decision]:
        """Every triage decision taken, by event id."""
        return self._decoded("decisions", "event_id", _decision)

    def put_decision(self, d: Decision) -> None:
        """Insert or replace the decision for `d.event_id`."""
        self._upsert(
            "decisions",
            "event_id",
            {
                "event_id": d.event_id,
                "fingerprint": d.fingerprint,
                "action": d.action,
                "rule": d.rule,
                "reason": d.reason,
                "decided_at": _iso(d.decided_at),
                "title": d.title,
                "organizer": d.organizer,
                "start": None if d.start is None else _iso(d.start),
                "cap": d.cap,
                "policy": d.policy,
                "was": d.was,
            },
        )

    # --- emails ----------------------------------------------------------------------------

    def email_record(self, key: str) -> EmailRecord | None:
        """Where the email `key` stands, or None if it was never attempted."""
        row = self._one("emails", "key", key)
        return None if row is None else _email(row)

    def mark_email_sending(self, key: str, *, kind: str, to: Sequence[str], at: datetime) -> int:
        """Record that `key` is about to go to the transport; returns the attempt number."""
        old = self._one("emails", "key", key)
        attempts = int(old.get("attempts", 0)) + 1 if old else 1
        self._upsert(
            "emails",
            "key",
            {
                "key": key,
                "status": "sending",
                "attempts": attempts,
                "kind": kind,
                "to": list(to),
                "at": _iso(at),
                "error": None,
            },
        )
        return attempts

    def mark_email_sent(self, key: str, *, at: datetime) -> None:
        """Record that the transport accepted `key` (or that it is to be treated so)."""
        self._set_email_status(key, "sent", at, None)

    def mark_email_failed(self, key: str, *, at: datetime, error: str) -> None:
        """Record that the transport refused `key`: it was not delivered, a later tick retries."""
        self._set_email_status(key, "failed", at, error)

    def _set_email_status(
        self, key: str, status: EmailStatus, at: datetime, error: str | None
    ) -> None:
        old = self._one("emails", "key", key) or {"key": key, "attempts": 0, "kind": "", "to": []}
        self._upsert("emails", "key", {**old, "status": status, "at": _iso(at), "error": error})

    def sent_keys(self) -> frozenset[str]:
        """Keys of every email recorded as sent."""
        return frozenset(r["key"] for r in self._rows("emails") if r.get("status") == "sent")

    # --- key-value for adapters ------------------------------------------------------------

    def get(self, key: str, default: Any = None) -> Any:
        """The value stored under `key` (a copy: change it, then `put` it back)."""
        row = self._one("kv", "key", key)
        if row is None:
            return default
        # Stored values are JSON (put and the file both go through json): a copy through
        # JSON is exact for them and several times faster than deepcopy on a team's busy
        # cache; deepcopy stays for anything else.
        value = row["value"]
        try:
            return json.loads(json.dumps(value, allow_nan=True))
        except (TypeError, ValueError):
            return copy.deepcopy(value)

    def put(self, key: str, value: Any) -> None:
        """Store a JSON-able value under `key` (tuples come back as lists)."""
        try:
            # A copy through JSON: fails here, not at some later write, and never aliases.
            stored = json.loads(json.dumps(value))
        except (TypeError, ValueError) as e:
            raise TypeError(f"state value for {key!r} is not JSON-able: {e}") from e
        self._upsert("kv", "key", {"key": key, "value": stored})

    def delete(self, key: str) -> None:
        """Forget `key` (no error if absent)."""
        self._writable()
        old = self._db.table("kv").get(where("key") == key)
        if old is not None:
            self._remove("kv", [old.doc_id])

    # --- ticks, heartbeat, errors, action log ----------------------------------------------

    def record_tick(
        self,
        *,
        started: datetime,
        finished: datetime,
        ok: bool,
        summary: dict[str, int],
        error: str | None,
    ) -> None:
        """Remember how the last tick went."""
        self._status(
            "tick",
            started=_iso(started),
            finished=_iso(finished),
            ok=ok,
            summary=dict(summary),
            error=error,
        )

    def last_tick(self) -> dict[str, Any] | None:
        """{started, finished (datetimes), ok, summary, error} of the last tick, or None."""
        row = self._one("status", "name", "tick")
        if row is None:
            return None
        return {
            "started": _dt(row["started"]),
            "finished": _dt(row["finished"]),
            "ok": bool(row["ok"]),
            "summary": dict(row.get("summary") or {}),
            "error": row.get("error"),
        }

    def heartbeat(self, now: datetime, pid: int) -> None:
        """Say the daemon (pid) is alive at `now`."""
        self._status("heartbeat", at=_iso(now), pid=pid)

    def last_heartbeat(self) -> dict[str, Any] | None:
        """{at, pid} of the last heartbeat, or None."""
        row = self._one("status", "name", "heartbeat")
        return None if row is None else {"at": _dt(row["at"]), "pid": int(row["pid"])}

    def record_error(self, now: datetime, message: str) -> None:
        """Remember the last error for `coachd status`."""
        self._status("error", at=_iso(now), message=message)

    def last_error(self) -> dict[str, Any] | None:
        """{at, message} of the last recorded error, or None."""
        row = self._one("status", "name", "error")
        return None if row is None else {"at": _dt(row["at"]), "message": str(row["message"])}

    def _status(self, name: str, **fields: Any) -> None:
        self._upsert("status", "name", {"name": name, **fields})

    def log_action(self, at: datetime, what: str, detail: str) -> None:
        """Append to the action log ("booked", "declined", "flagged", "emailed", ...)."""
        self._writable()
        self._insert("events_log", {"at": _iso(at), "what": what, "detail": detail})

    def counts(self, since: datetime) -> dict[str, int]:
        """How many of each logged action happened at or after `since`."""
        c: Counter[str] = Counter()
        for row in self._rows("events_log"):
            try:
                if _dt(row["at"]) >= since:
                    c[str(row["what"])] += 1
            except (KeyError, ValueError):
                continue
        return dict(c)

    # --- compaction ------------------------------------------------------------------------

    def compact(self, now: datetime, keep_weeks: int) -> int:
        """Drop what is older than `keep_weeks` (bookings by end, decisions by the meeting's
        start, emails by their last change, log entries by time); returns how many went."""
        self._writable()
        cutoff = now - timedelta(weeks=keep_weeks)

        def older(*fields: str) -> Callable[[dict[str, Any]], bool]:
            def test(doc: dict[str, Any]) -> bool:
                for f in fields:
                    if doc.get(f):
                        try:
                            return _dt(doc[f]) < cutoff
                        except ValueError:
                            return False  # keep what we cannot date; never guess
                return False

            return test

        rules = {
            "bookings": older("end"),
            "decisions": older("start", "decided_at"),
            "emails": older("at"),
            "events_log": older("at"),
        }
        removed = 0
        with self.batch():
            for table, test in rules.items():
                t = self._db.table(table)
                ids = [d.doc_id for d in t.all() if test(dict(d))]
                if ids:
                    self._remove(table, ids)
                removed += len(ids)
        self._buffer.checkpoint()  # a daily job: a good moment to fold the journal in
        if removed:
            log.info("compacted the state: %d records older than %s removed", removed, cutoff)
        return removed
