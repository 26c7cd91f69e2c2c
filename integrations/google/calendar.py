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
from integrations.google.client import DEFAULT_TIMEOUT, Connection
from integrations.google.retry import Backoff
from integrations.google.sync import KeyValue, SyncState, cache_key
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
    ) -> None:
        self.conn = connection
        self.manager = manager.lower()
        self.tz = tz
        self.kv = kv
        self.calendar_id = calendar_id
        self.backoff = backoff or Backoff()
        self.page_size = page_size
        self.resync_margin = resync_margin
        self.runner = BatchRunner(connection, self.backoff)
        self._series: dict[str, str] = {}

    # --- reading ---------------------------------------------------------------------------

    def read(self, owner: str, window: Interval) -> CalendarRead:
        """The owner's events overlapping `window`, recurring events expanded.

        Incremental after the first call; a full sync when there is no cache, the window
        moved beyond what the cache covers, or the token expired (410).
        """
        warnings: list[str] = []
        key = cache_key(owner, self.calendar_id)
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
                state = self._full_sync(cover)
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
                        num_retries=0
                    )
                except HttpError as e:
                    if retry.status_of(e) == 410:
                        raise SyncTokenGone() from e
                    raise

            page = retry.call(fetch, what, self.backoff)
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
                lambda: fb.query(body=body).execute(num_retries=0), "freebusy.query", self.backoff
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

        # Declines first need the current attendees: GET them (in one batch).
        got = self.runner.run(
            [
                Sub(
                    i,
                    partial(events.get, calendarId=cal, eventId=self._target(w)),
                    frozenset({404, 410}),
                    f"events.get {w.event_id}",
                )
                for i, w in enumerate(writes)
                if isinstance(w, Decline)
            ]
        )
        subs: list[Sub] = []
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
                g = got[i]
                if g.error is not None:
                    outcomes[i] = WriteOutcome(w, w.event_id, g.error, g.transient)
                    continue
                item = g.response
                if not isinstance(item, Mapping) or item.get("status") == "cancelled":
                    # 404/410 or cancelled: the invitation is gone, nothing is left to decline.
                    outcomes[i] = WriteOutcome(w, w.event_id)
                    continue
                try:
                    body = serializer.decline_body(item, w, owner)
                except ValueError as e:
                    outcomes[i] = WriteOutcome(w, w.event_id, f"cannot decline: {e}")
                    continue
                make = partial(events.patch, **ids, body=body, sendUpdates=SEND_UPDATES_DECLINE)
                subs.append(Sub(i, make, what=f"events.patch (decline) {w.event_id}"))
        results = self.runner.run(subs)
        for s in subs:
            r = results[s.index]
            w = writes[s.index]
            outcomes[s.index] = WriteOutcome(w, w.event_id, r.error, r.transient)


def open_google_calendar(
    settings: GoogleSettings,
    *,
    manager: str,
    tz: ZoneInfo,
    base_dir: Path,
    kv: KeyValue,
    timeout: float = DEFAULT_TIMEOUT,
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
        timeout=timeout,
    )
    return GoogleCalendar(
        conn, manager=manager, tz=tz, kv=kv, calendar_id=settings.calendar_id, backoff=backoff
    )
