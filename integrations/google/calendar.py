"""GoogleCalendar: the Calendar port over Google Calendar API v3.

Reading uses incremental sync (see `sync`), reps' busy times use freebusy.query, and writes
go in batches of at most 50 with per-sub-request outcomes and retries of only the transient
ones. Every write is idempotent: bookings carry a client-supplied deterministic id (a 409 on
insert means "already there"), deletes accept 404/410, patches set absolute values.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from googleapiclient.errors import HttpError

from integrations.calendar.base import BusyRead, CalendarRead, CalendarWrite, WriteOutcome
from integrations.errors import CoachdError, RemoteError, TransientError
from integrations.google import retry, serializer
from integrations.google.auth import SCOPE_EVENTS, SCOPE_FREEBUSY
from integrations.google.batch import BatchRunner, Sub
from integrations.google.client import DEFAULT_TIMEOUT, READ_TIMEOUT, Connection
from integrations.google.retry import Backoff, RetryBudget
from integrations.google.sync import SyncState, cache_key
from integrations.store.kv import KeyValue
from planner.actions import Book, Cancel, Decline, Flag, Move
from planner.model import Event
from planner.policy import GoogleSettings
from planner.timeutil import Interval, merge

log = logging.getLogger(__name__)

FREEBUSY_CALENDARS = 50  # freebusy.query answers for at most 50 calendars per call
# Ranges are split under Google's ~90-day limit; 85 days holds the longest horizon (12 weeks).
FREEBUSY_SPAN = timedelta(days=85)
PAGE_SIZE = 2500  # the largest page events.list allows: fewest requests per sync
RESYNC_MARGIN = timedelta(days=7)  # a full sync covers this much beyond the asked window
READ_BUDGET = 30.0  # seconds per tick for reads, retries and waits included
WRITE_BUDGET = 60.0  # seconds per tick for the write batches
SEND_UPDATES_BOOK = "all"  # guests get the invitation, the move and the cancellation
SEND_UPDATES_DECLINE = "all"  # the organizer gets the decline and its comment
SEND_UPDATES_FLAG = "none"  # a flag is private to the manager


class SyncTokenGone(Exception):
    """The server answered 410: the sync token expired; a full sync is needed."""


class GoogleCalendar:
    """The Calendar port for Google Calendar. Builds no client until the first call.

    `manager` is the calendar owner's address (used to find the `self` attendee and to name
    the calendar in events); `calendar_id` is the calendar read and written ("primary").
    """

    def __init__(
        self,
        connection: Connection,
        *,
        manager: str,
        tz: ZoneInfo,
        kv: KeyValue,
        calendar_id: str = "primary",
        backoff: Backoff | None = None,
        page_size: int = PAGE_SIZE,
        resync_margin: timedelta = RESYNC_MARGIN,
        read_budget: float = READ_BUDGET,
        write_budget: float = WRITE_BUDGET,
    ) -> None:
        self.conn = connection
        self.manager = manager.lower()
        self.tz = tz
        self.kv = kv
        self.calendar_id = calendar_id
        self.backoff = backoff or Backoff()
        self.page_size = page_size
        self.resync_margin = resync_margin
        # Per tick: reads (list pages, free/busy) and writes each get a time budget,
        # retries and waits included, so a flaky server holds a tick, never sticks it.
        self.read_budget = RetryBudget(read_budget)
        self.write_budget = RetryBudget(write_budget)
        self.runner = BatchRunner(connection, self.backoff, self.write_budget)
        self._series: dict[str, str] = {}

    # --- reading ---------------------------------------------------------------------------

    def read(self, owner: str, window: Interval) -> CalendarRead:
        """The owner's events overlapping `window`, recurring events expanded.

        Incremental after the first call; a full sync when there is no cache, the window
        moved beyond what the cache covers, or the token expired (410).
        """
        warnings: list[str] = []
        key = cache_key(owner, self.calendar_id)
        self.read_budget.start()  # a tick starts with reading the manager's calendar
        try:
            stored = self.kv.get(key)
            state = SyncState.from_json(stored, self.tz)
            if state is not None and state.covers(window):
                try:
                    self._incremental(state)
                except SyncTokenGone:
                    log.info("sync token for %s expired (410); full resync", self.calendar_id)
                    state = None
            else:
                state = None
            if state is None:
                cover = Interval(window.start, window.end + self.resync_margin)
                try:
                    state = self._full_sync(cover)
                except SyncTokenGone:
                    # A page token can expire mid-way through a full sync too: start over.
                    log.info("410 during the full sync of %s; starting it over", self.calendar_id)
                    try:
                        state = self._full_sync(cover)
                    except SyncTokenGone as e:
                        raise TransientError(
                            f"events.list of {self.calendar_id}: the server answered 410 "
                            "(full sync required) to two full syncs in a row; the next tick "
                            "tries again"
                        ) from e
            fresh = state.to_json()
            if fresh != stored:  # a quiet tick rewrites nothing in the state store
                self.kv.put(key, fresh)
        finally:
            self.conn.persist()
        # Triage decides a recurring invitation once, naming its first upcoming occurrence;
        # the answer belongs to the whole series, so writes go to the series id.
        self._series = {
            str(i["id"]): str(i["recurringEventId"])
            for i in state.items.values()
            if i.get("id") and i.get("recurringEventId")
        }
        events: list[Event] = []
        for item in state.items.values():
            ev = self._parse(item, owner, warnings)
            if ev is not None and not ev.cancelled and ev.interval.overlaps(window):
                events.append(ev)
        events.sort(key=lambda e: (e.start, e.end, e.id))
        return CalendarRead(events=events, warnings=warnings)

    def _parse(self, item: Mapping[str, Any], owner: str, warnings: list[str]) -> Event | None:
        try:
            return serializer.parse_event(item, calendar=owner.lower(), tz=self.tz)
        except ValueError as e:
            msg = f"Google event {item.get('id')!r} skipped: {e}"
            log.warning("%s", msg)
            warnings.append(msg)
            return None

    def _overlapper(self, cover: Interval) -> Callable[[Mapping[str, Any]], bool]:
        def overlaps(item: Mapping[str, Any]) -> bool:
            try:
                iv = serializer.item_interval(item, self.tz)
            except ValueError:
                return True  # keep it so the reader warns about it by id
            return iv.overlaps(cover)

        return overlaps

    def _list_pages(self, what: str, **params: Any) -> tuple[list[dict[str, Any]], str]:
        """Every item of an events.list across pages, and the nextSyncToken of the last."""
        events = self.conn.calendar().events()
        items: list[dict[str, Any]] = []
        page_token: str | None = None
        while True:
            extra = {"pageToken": page_token} if page_token else {}

            def fetch(extra: dict[str, str] = extra) -> Any:
                try:
                    return events.list(calendarId=self.calendar_id, **params, **extra).execute(
                        http=self.conn.read_http(), num_retries=0
                    )
                except HttpError as e:
                    if retry.status_of(e) == 410:
                        raise SyncTokenGone() from e
                    raise

            page = retry.call(fetch, what, self.backoff, self.read_budget)
            items.extend(serializer.slim(i) for i in page.get("items", []) if isinstance(i, dict))
            page_token = page.get("nextPageToken")
            if not page_token:
                token = page.get("nextSyncToken")
                if not isinstance(token, str) or not token:
                    raise RemoteError(f"{what}: the last page carried no nextSyncToken")
                return items, token

    def _full_sync(self, cover: Interval) -> SyncState:
        items, token = self._list_pages(
            "events.list (full sync)",
            singleEvents=True,
            timeMin=serializer.rfc3339(cover.start),
            timeMax=serializer.rfc3339(cover.end),
            maxResults=self.page_size,
        )
        state = SyncState(token=token, cover=cover)
        state.apply_changes(items, self._overlapper(cover))
        log.info("full sync of %s: %d events", self.calendar_id, len(state.items))
        return state

    def _incremental(self, state: SyncState) -> None:
        # timeMin/timeMax/orderBy are not allowed with syncToken; singleEvents must match
        # the full sync, so the same expanded instances come back.
        items, token = self._list_pages(
            "events.list (incremental)",
            singleEvents=True,
            syncToken=state.token,
            maxResults=self.page_size,
        )
        up, gone = state.apply_changes(items, self._overlapper(state.cover))
        state.token = token
        if up or gone:
            log.info("incremental sync of %s: %d changed, %d removed", self.calendar_id, up, gone)

    # --- busy times ------------------------------------------------------------------------

    def busy(self, people: Sequence[str], window: Interval) -> BusyRead:
        """Each person's busy intervals from freebusy.query.

        At most 50 calendars per call and spans under 90 days; an error for one calendar
        (or one failed call) marks only the people it concerns.
        """
        # Google puts coachd's invitations on the guests' calendars: free/busy shows them
        result = BusyRead(busy={p: [] for p in people}, shows_invites=True)
        spans: list[Interval] = []
        t = window.start
        while t < window.end:
            spans.append(Interval(t, min(t + FREEBUSY_SPAN, window.end)))
            t = spans[-1].end
        fb = None
        try:
            for i in range(0, len(people), FREEBUSY_CALENDARS):
                group = list(people[i : i + FREEBUSY_CALENDARS])
                for span in spans:
                    if fb is None:
                        fb = self.conn.calendar().freebusy()
                    self._busy_chunk(fb, group, span, result)
        finally:
            self.conn.persist()
        for p in people:
            if p in result.errors:
                result.busy.pop(p, None)
            else:
                result.busy[p] = merge(result.busy[p])
        return result

    def _busy_chunk(self, fb: Any, group: list[str], span: Interval, out: BusyRead) -> None:
        body = {
            "timeMin": serializer.rfc3339(span.start),
            "timeMax": serializer.rfc3339(span.end),
            "items": [{"id": p} for p in group],
        }
        try:
            resp = retry.call(
                lambda: fb.query(body=body).execute(http=self.conn.read_http(), num_retries=0),
                "freebusy.query",
                self.backoff,
                self.read_budget,
            )
        except CoachdError as e:
            for p in group:
                out.errors.setdefault(p, str(e))
            return
        cals = resp.get("calendars", {}) if isinstance(resp, Mapping) else {}
        by_lower = {str(k).lower(): v for k, v in cals.items()} if isinstance(cals, Mapping) else {}
        for p in group:
            cal = by_lower.get(p.lower())
            if not isinstance(cal, Mapping):
                out.errors.setdefault(p, "freebusy: calendar missing from the response")
                continue
            errs = cal.get("errors")
            if errs:
                reasons = ", ".join(
                    str(e.get("reason", "unknown")) for e in errs if isinstance(e, Mapping)
                )
                out.errors.setdefault(p, f"freebusy: {reasons or 'error'}")
                continue
            for b in cal.get("busy", []) or []:
                try:
                    iv = serializer.item_interval(
                        {"start": {"dateTime": b["start"]}, "end": {"dateTime": b["end"]}},
                        self.tz,
                    )
                except (KeyError, TypeError, ValueError):
                    out.warnings.append(f"freebusy: unreadable busy period for {p}: {b!r}")
                    continue
                out.busy[p].append(iv)

    # --- writing ---------------------------------------------------------------------------

    def apply(self, owner: str, writes: Sequence[CalendarWrite]) -> list[WriteOutcome]:
        """Carry out the writes, in batches; one outcome per write, in the same order."""
        outcomes: list[WriteOutcome | None] = [None] * len(writes)
        self.write_budget.start()
        try:
            self._apply(owner, writes, outcomes)
        finally:
            self.conn.persist()
        return [
            o or WriteOutcome(action=w, error="not attempted", transient=True)
            for o, w in zip(outcomes, writes, strict=True)
        ]

    def _target(self, w: CalendarWrite) -> str:
        """The event id a write goes to: the series for a decline or flag of an occurrence."""
        if isinstance(w, Decline | Flag):
            return self._series.get(w.event_id, w.event_id)
        return w.event_id

    def _apply(
        self, owner: str, writes: Sequence[CalendarWrite], outcomes: list[WriteOutcome | None]
    ) -> None:
        try:
            events = self.conn.calendar().events()
        except CoachdError as e:
            for i, w in enumerate(writes):
                outcomes[i] = WriteOutcome(
                    action=w, error=str(e), transient=isinstance(e, TransientError)
                )
            return
        cal = self.calendar_id

        subs: list[Sub] = []
        declines: list[tuple[int, Decline]] = []
        for i, w in enumerate(writes):
            ids = {"calendarId": cal, "eventId": self._target(w)}
            if isinstance(w, Book):
                make = partial(
                    events.insert,
                    calendarId=cal,
                    body=serializer.book_body(w, self.tz),
                    sendUpdates=SEND_UPDATES_BOOK,
                )
                subs.append(Sub(i, make, frozenset({409}), f"events.insert {w.event_id}"))
            elif isinstance(w, Move):
                body = serializer.move_body(w, self.tz)
                make = partial(events.patch, **ids, body=body, sendUpdates=SEND_UPDATES_BOOK)
                subs.append(Sub(i, make, what=f"events.patch (move) {w.event_id}"))
            elif isinstance(w, Cancel):
                make = partial(events.delete, **ids, sendUpdates=SEND_UPDATES_BOOK)
                subs.append(Sub(i, make, frozenset({404, 410}), f"events.delete {w.event_id}"))
            elif isinstance(w, Flag):
                body = serializer.flag_body(w)
                make = partial(events.patch, **ids, body=body, sendUpdates=SEND_UPDATES_FLAG)
                subs.append(Sub(i, make, what=f"events.patch (flag) {w.event_id}"))
            elif isinstance(w, Decline):
                declines.append((i, w))
        if declines:
            self._decline(owner, events, declines, outcomes)
        results = self.runner.run(subs)
        for s in subs:
            r = results[s.index]
            w = writes[s.index]
            outcomes[s.index] = WriteOutcome(w, w.event_id, r.error, r.transient)

    def _decline(
        self,
        owner: str,
        events: Any,
        todo: Sequence[tuple[int, Decline]],
        outcomes: list[WriteOutcome | None],
    ) -> None:
        """Decline each invitation once, whatever was sent before.

        Each round GETs the current event first: one already declined by the owner is done
        without a patch (so a restart after a kill, or a retry after a timeout whose patch
        the server had stored, never sends the organizer a second decline), and a patch that
        failed transiently is re-read before it is sent again. A decline of an occurrence
        goes to its series; when the series is declined already, the occurrence is one that
        was changed on its own (moved) and keeps its own answer, so it is declined itself.
        """
        cal = self.calendar_id
        pending = dict(todo)
        target = {i: self._target(w) for i, w in todo}
        attempt = 0
        while pending:
            got = self.runner.run(
                [
                    Sub(
                        i,
                        partial(events.get, calendarId=cal, eventId=target[i]),
                        frozenset({404, 410}),
                        f"events.get {target[i]}",
                    )
                    for i in pending
                ]
            )
            patches: list[Sub] = []
            for i, w in list(pending.items()):
                g = got[i]
                item = g.response
                done: WriteOutcome | None = None
                if g.error is not None:
                    done = WriteOutcome(w, w.event_id, g.error, g.transient)
                elif not isinstance(item, Mapping) or item.get("status") == "cancelled":
                    done = WriteOutcome(w, w.event_id)  # gone: nothing is left to decline
                elif serializer.self_response(item, owner) == "declined":
                    if target[i] != w.event_id:
                        target[i] = w.event_id  # the series is declined: this one was moved
                        continue
                    done = WriteOutcome(w, w.event_id)  # declined before: send nothing
                else:
                    try:
                        body = serializer.decline_body(item, w, owner)
                    except ValueError as e:
                        done = WriteOutcome(w, w.event_id, f"cannot decline: {e}")
                    else:
                        make = partial(
                            events.patch,
                            calendarId=cal,
                            eventId=target[i],
                            body=body,
                            sendUpdates=SEND_UPDATES_DECLINE,
                        )
                        patches.append(Sub(i, make, what=f"events.patch (decline) {target[i]}"))
                        continue
                outcomes[i] = done
                del pending[i]
            if not patches:
                continue
            results = self.runner.run(patches, attempts=1)
            again = False
            for sub in patches:
                r = results[sub.index]
                w = pending[sub.index]
                if r.transient and attempt + 1 < self.backoff.max_attempts:
                    again = True  # stays pending: re-read before sending it again
                    continue
                if r.transient:
                    r.error = f"{r.error} (gave up after {attempt + 1} attempts)"
                outcomes[sub.index] = WriteOutcome(w, w.event_id, r.error, r.transient)
                del pending[sub.index]
            if not again:
                continue
            wait = self.backoff.delay(attempt)
            if not self.write_budget.allows(wait):
                for i, w in pending.items():
                    outcomes[i] = WriteOutcome(
                        w,
                        w.event_id,
                        f"decline not confirmed: this tick's {self.write_budget.seconds:g}s "
                        "for writes is spent; the next tick checks it again",
                        True,
                    )
                return
            log.warning("a decline failed transiently; re-reading it in %.1fs", wait)
            self.backoff.sleep(wait)
            attempt += 1


def open_google_calendar(
    settings: GoogleSettings,
    *,
    manager: str,
    tz: ZoneInfo,
    base_dir: Path,
    kv: KeyValue,
    timeout: float | None = None,
    backoff: Backoff | None = None,
) -> GoogleCalendar:
    """The Google backend for `calendar.google` settings; paths resolve against base_dir.

    Touches neither the network nor the token file: both happen on the first call.
    """
    conn = Connection(
        credentials=settings.credentials,
        scopes=[SCOPE_EVENTS, SCOPE_FREEBUSY],
        token_file=base_dir / settings.token_file,
        service_account_key=(
            base_dir / settings.service_account_key if settings.service_account_key else None
        ),
        subject=manager,
        endpoint=settings.api_endpoint,
        # Given one timeout (tests), every request uses it; else reads get the shorter one.
        timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
        read_timeout=READ_TIMEOUT if timeout is None else timeout,
    )
    return GoogleCalendar(
        conn, manager=manager, tz=tz, kv=kv, calendar_id=settings.calendar_id, backoff=backoff
    )
