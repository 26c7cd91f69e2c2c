"""MicrosoftCalendar: the Calendar port over Microsoft Graph v1.0.

Reading uses calendarView delta (occurrences expanded by the server; one request per tick
when nothing changed; a full resync when the deltaLink is gone, 410 syncStateNotFound),
reps' availability uses getSchedule (at most 20 people and under 62 days per call), and
writes go through JSON $batch (at most 20 per request), each part judged on its own.

Every write is idempotent: a booking carries transactionId = the planner's deterministic
id (Graph returns the event it already made for a repeated transactionId), moves and flags
PATCH absolute values, deletes accept 404, and a decline first reads the event and is
skipped when the manager already declined it, so a replay never answers twice.

Timeouts fit a tick, as on Google: reads wait at most 10 s for an answer, writes 30 s, and
per tick the reads (delta pages, tags, getSchedule) get 30 s and the writes ($batch, the
reads before declines) 60 s, retries and waits included; past that the request fails as a
TransientError and the next tick goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from integrations.calendar.base import BusyRead, CalendarRead, CalendarWrite, WriteOutcome
from integrations.errors import CoachdError, RemoteError, TransientError
from integrations.google.retry import Backoff, RetryBudget
from integrations.microsoft import retry, serializer
from integrations.microsoft.batch import BatchRunner, Part, Result
from integrations.microsoft.client import DEFAULT_TIMEOUT, READ_TIMEOUT, GraphClient, GraphError
from integrations.microsoft.sync import DeltaState, cache_key
from integrations.microsoft.timezones import windows_name
from integrations.store.kv import KeyValue
from planner.actions import Book, Cancel, Decline, Flag, Move
from planner.model import Event
from planner.policy import MicrosoftSettings
from planner.timeutil import Interval, clip, merge

log = logging.getLogger(__name__)

SCHEDULE_PEOPLE = 20  # getSchedule answers for at most 20 schedules per call
# getSchedule's range must be under 62 days; 60 keeps a margin and holds 8 weeks.
SCHEDULE_SPAN = timedelta(days=60)
PAGE_SIZE = 1000  # odata.maxpagesize for delta pages: fewest requests per full sync
RESYNC_MARGIN = timedelta(days=7)  # a full sync covers this much beyond the asked window
BUSY_STATUSES = frozenset({"busy", "tentative", "oof"})  # free and workingElsewhere are free
READ_BUDGET = 30.0  # seconds per tick for reads, retries and waits included
WRITE_BUDGET = 60.0  # seconds per tick for the writes (and the reads before declines)


class DeltaGone(Exception):
    """The deltaLink is no longer valid (410 / syncStateNotFound): a full sync is needed."""


class MicrosoftCalendar:
    """The Calendar port for a Microsoft 365 mailbox. Builds nothing until the first call."""

    def __init__(
        self,
        client: GraphClient,
        *,
        manager: str,
        tz: ZoneInfo,
        kv: KeyValue,
        backoff: Backoff | None = None,
        page_size: int = PAGE_SIZE,
        resync_margin: timedelta = RESYNC_MARGIN,
        read_budget: float = READ_BUDGET,
        write_budget: float = WRITE_BUDGET,
    ) -> None:
        self.client = client
        self.manager = manager.lower()
        self.tz = tz
        self.kv = kv
        self.backoff = backoff or Backoff()
        self.page_size = page_size
        self.resync_margin = resync_margin
        self.runner = BatchRunner(client, self.backoff)
        # Per tick: reads and writes each get a time budget, retries and waits included,
        # so a slow or hanging Graph holds a tick, never sticks it.
        self.read_budget = RetryBudget(read_budget)
        self.write_budget = RetryBudget(write_budget)
        self._state: DeltaState | None = None

    # --- reading ---------------------------------------------------------------------------

    def read(self, owner: str, window: Interval) -> CalendarRead:
        """The owner's events overlapping `window`, occurrences expanded by Graph."""
        warnings: list[str] = []
        key = cache_key(owner)
        self.read_budget.start()  # a tick starts with reading the manager's calendar
        stored = self.kv.get(key)
        state = DeltaState.from_json(stored, self.tz)
        if state is not None and state.covers(window):
            try:
                self._delta(state, state.delta_link, "calendarView delta (incremental)")
            except DeltaGone:
                log.info("the delta link of %s expired (410); full resync", owner)
                state = None
        else:
            state = None
        if state is None:
            cover = Interval(window.start, window.end + self.resync_margin)
            state = self._full_sync(cover)
        present = set(state.by_transaction())
        state.tags = {tx: tag for tx, tag in state.tags.items() if tx in present}
        self._fetch_tags(state, warnings)
        fresh = state.to_json()
        if fresh != stored:  # a quiet tick rewrites nothing in the state store
            self.kv.put(key, fresh)
        self._state = state
        events: list[Event] = []
        for item in state.items.values():
            ev = self._parse(item, state, owner, warnings)
            if ev is not None and not ev.cancelled and ev.interval.overlaps(window):
                events.append(ev)
        events.sort(key=lambda e: (e.start, e.end, e.id))
        return CalendarRead(events=events, warnings=warnings)

    def _parse(
        self, item: Mapping[str, Any], state: DeltaState, owner: str, warnings: list[str]
    ) -> Event | None:
        tx = item.get("transactionId")
        tag = state.tags.get(tx) if isinstance(tx, str) and tx else None
        try:
            return serializer.parse_event(item, calendar=owner.lower(), tz=self.tz, tag=tag)
        except ValueError as e:
            msg = f"Outlook event {item.get('id')!r} skipped: {e}"
            log.warning("%s", msg)
            warnings.append(msg)
            return None

    def _delta_pages(
        self, url: str, what: str, params: Mapping[str, str] | None
    ) -> tuple[list[dict[str, Any]], str]:
        """Every change from `url` on, following nextLinks, and the final deltaLink."""
        items: list[dict[str, Any]] = []
        prefer = {"Prefer": f"odata.maxpagesize={self.page_size}"}
        next_url: str | None = url
        first = True
        while next_url:

            def fetch(u: str = next_url, p: Mapping[str, str] | None = params) -> Any:
                try:
                    return self.client.request("GET", u, params=p, headers=prefer, read=True)
                except GraphError as e:
                    if e.status == 410 or e.code in ("syncStateNotFound", "SyncStateNotFound"):
                        raise DeltaGone() from e
                    raise

            page = retry.call(fetch, what, self.backoff, self.read_budget)
            if first:
                params, first = None, False  # links carry the query from here on
            if not isinstance(page, Mapping):
                raise RemoteError(f"{what}: the answer is not a JSON object")
            value = page.get("value")
            items.extend(
                i if "@removed" in i else serializer.slim(i)
                for i in (value if isinstance(value, list) else [])
                if isinstance(i, dict)
            )
            link = page.get("@odata.deltaLink")
            if isinstance(link, str) and link:
                return items, link
            nxt = page.get("@odata.nextLink")
            if not isinstance(nxt, str) or not nxt:
                raise RemoteError(f"{what}: a page carried neither nextLink nor deltaLink")
            next_url = nxt
        raise RemoteError(f"{what}: no deltaLink")

    def _full_sync(self, cover: Interval) -> DeltaState:
        params = {
            "startDateTime": serializer.when(cover.start, ZoneInfo("UTC"))["dateTime"] + "Z",
            "endDateTime": serializer.when(cover.end, ZoneInfo("UTC"))["dateTime"] + "Z",
        }
        url = f"{self.client.user_path}/calendarView/delta"
        items, link = self._delta_pages(url, "calendarView delta (full sync)", params)
        state = DeltaState(delta_link=link, cover=cover)
        old = self._state
        if old is not None:
            state.tags = dict(old.tags)  # tags never change for a transactionId
        state.apply_changes(items)
        log.info("full sync of %s: %d events", self.client.mailbox, len(state.items))
        return state

    def _delta(self, state: DeltaState, link: str, what: str) -> None:
        items, new_link = self._delta_pages(link, what, None)
        up, gone = state.apply_changes(items)
        state.delta_link = new_link
        if up or gone:
            log.info("delta of %s: %d changed, %d removed", self.client.mailbox, up, gone)

    def _fetch_tags(self, state: DeltaState, warnings: list[str]) -> None:
        """Read the tag of each cached event whose transactionId is new (delta cannot
        $expand extended properties): one $batch per 20 such events, usually none."""
        todo = state.unknown_tags()
        if not todo:
            return
        flt = f"id eq '{serializer.PROP_TAG}'"
        parts = [
            Part(
                i,
                "GET",
                f"/{self.client.user_path}/events/{quote(gid, safe='')}"
                f"?$select=id,transactionId&$expand=singleValueExtendedProperties($filter={flt})",
                ok_statuses=frozenset({404}),
                what=f"tag of event {gid}",
            )
            for i, gid in enumerate(todo)
        ]
        results = self.runner.run(parts, budget=self.read_budget, read=True)
        for i, gid in enumerate(todo):
            r = results[i]
            tx = str(state.items[gid].get("transactionId"))
            if r.error is not None:
                warnings.append(f"could not read coachd's tag on {tx}: {r.error}")
                continue
            state.tags[tx] = (
                serializer.tag_from_item(r.response) if isinstance(r.response, Mapping) else None
            )

    # --- busy times ------------------------------------------------------------------------

    def busy(self, people: Sequence[str], window: Interval) -> BusyRead:
        """Each person's busy intervals from getSchedule (20 people and < 62 days a call);
        an error for one schedule (or a failed call) marks only the people it concerns."""
        # Exchange puts coachd's invitations on the guests' calendars (tentative until they
        # answer), so their schedules show them, as Google's free/busy does.
        result = BusyRead(busy={p: [] for p in people}, shows_invites=True)
        spans: list[Interval] = []
        t = window.start
        while t < window.end:
            spans.append(Interval(t, min(t + SCHEDULE_SPAN, window.end)))
            t = spans[-1].end
        for i in range(0, len(people), SCHEDULE_PEOPLE):
            group = list(people[i : i + SCHEDULE_PEOPLE])
            for span in spans:
                self._schedule_chunk(group, span, result)
        for p in people:
            if p in result.errors:
                result.busy.pop(p, None)
            else:
                result.busy[p] = merge(clip(result.busy[p], window))
        return result

    def _schedule_chunk(self, group: list[str], span: Interval, out: BusyRead) -> None:
        zone = windows_name(self.tz)
        body = {
            "schedules": group,
            "startTime": serializer.when(span.start, self.tz),
            "endTime": serializer.when(span.end, self.tz),
            "availabilityViewInterval": 60,
        }
        url = f"{self.client.user_path}/calendar/getSchedule"
        try:
            resp = retry.call(
                lambda: self.client.request("POST", url, body=body, read=True),
                "getSchedule",
                self.backoff,
                self.read_budget,
            )
        except CoachdError as e:
            for p in group:
                out.errors.setdefault(p, str(e))
            return
        values = resp.get("value") if isinstance(resp, Mapping) else None
        by_id = {
            str(v.get("scheduleId", "")).lower(): v
            for v in (values if isinstance(values, list) else [])
            if isinstance(v, Mapping)
        }
        for p in group:
            info = by_id.get(p.lower())
            if info is None:
                out.errors.setdefault(p, "getSchedule: schedule missing from the response")
                continue
            err = info.get("error")
            if isinstance(err, Mapping):
                code = err.get("responseCode") or ""
                out.errors.setdefault(p, f"getSchedule: {code} {err.get('message', '')}".strip())
                continue
            items = info.get("scheduleItems")
            for it in items if isinstance(items, list) else []:
                if not isinstance(it, Mapping):
                    continue
                if str(it.get("status", "")).lower() not in BUSY_STATUSES:
                    continue
                try:
                    iv = serializer.item_interval({"start": it["start"], "end": it["end"]}, self.tz)
                except (KeyError, TypeError, ValueError):
                    out.warnings.append(f"getSchedule: unreadable busy period for {p} ({zone})")
                    continue
                out.busy[p].append(iv)

    # --- writing ---------------------------------------------------------------------------

    def apply(self, owner: str, writes: Sequence[CalendarWrite]) -> list[WriteOutcome]:
        """Carry out the writes in $batch requests; one outcome per write, in order."""
        outcomes: list[WriteOutcome | None] = [None] * len(writes)
        self.write_budget.start()
        try:
            self._apply(writes, outcomes)
            if self._state is not None and writes:
                # What the writes taught the cache (new events and their tags) is kept, so
                # the next tick does not read those tags back from Graph.
                fresh = self._state.to_json()
                if fresh != self.kv.get(cache_key(owner)):
                    self.kv.put(cache_key(owner), fresh)
        except CoachdError as e:
            for i, w in enumerate(writes):
                if outcomes[i] is None:
                    outcomes[i] = WriteOutcome(
                        w, w.event_id, str(e), transient=isinstance(e, TransientError)
                    )
        return [
            o or WriteOutcome(action=w, error="not attempted", transient=True)
            for o, w in zip(outcomes, writes, strict=True)
        ]

    def _events_url(self, graph_id: str, suffix: str = "") -> str:
        return f"/{self.client.user_path}/events/{quote(graph_id, safe='')}{suffix}"

    def _cached(self, graph_id: str) -> Mapping[str, Any]:
        return self._state.items.get(graph_id, {}) if self._state else {}

    def _graph_id(self, w: CalendarWrite) -> str | None:
        """The Graph id a write goes to. A booking's planner id is its transactionId; an
        invitation's id is Graph's; a decline or flag of an occurrence goes to the series."""
        tx = self._state.by_transaction() if self._state else {}
        if isinstance(w, Move | Cancel):
            return tx.get(w.event_id) or self._lookup(w.event_id)
        gid = tx.get(w.event_id, w.event_id)
        master = self._cached(gid).get("seriesMasterId")
        return master if isinstance(master, str) and master else gid

    def _plain_id(self, w: CalendarWrite) -> str:
        """The Graph id of the event a write names (an occurrence, not its series)."""
        tx = self._state.by_transaction() if self._state else {}
        return tx.get(w.event_id, w.event_id)

    def _lookup(self, event_id: str) -> str | None:
        """Find a booking the cache does not hold by coachd's id property (one GET)."""
        flt = (
            "singleValueExtendedProperties/Any(ep: ep/id eq "
            f"'{serializer.PROP_ID}' and ep/value eq '{event_id}')"
        )
        url = f"{self.client.user_path}/events"
        resp = retry.call(
            lambda: self.client.request(
                "GET", url, params={"$filter": flt, "$select": "id"}, read=True
            ),
            f"events $filter {event_id}",
            self.backoff,
            self.write_budget,
        )
        values = resp.get("value") if isinstance(resp, Mapping) else None
        for v in values if isinstance(values, list) else []:
            if isinstance(v, Mapping) and isinstance(v.get("id"), str):
                return str(v["id"])
        return None

    def _apply(self, writes: Sequence[CalendarWrite], outcomes: list[WriteOutcome | None]) -> None:
        targets: dict[int, str] = {}
        for i, w in enumerate(writes):
            if isinstance(w, Book):
                continue
            gid = self._graph_id(w)
            if gid is None:
                # Move: nothing to move; Cancel: already gone (a retry after a crash).
                err = (
                    f"{type(w).__name__} {w.event_id}: event not found"
                    if isinstance(w, Move)
                    else None
                )
                outcomes[i] = WriteOutcome(w, w.event_id, err)
            else:
                targets[i] = gid
        # Declines read the event first: one already declined (a replay) is not answered again.
        looks = self.runner.run(
            [
                Part(
                    i,
                    "GET",
                    self._events_url(
                        targets[i], "?$select=id,responseStatus,isCancelled,isOrganizer"
                    ),
                    ok_statuses=frozenset({404}),
                    what=f"read before decline {w.event_id}",
                )
                for i, w in enumerate(writes)
                if isinstance(w, Decline) and i in targets
            ],
            budget=self.write_budget,
            read=True,
        )
        if any(isinstance(w, Flag) for w in writes):
            self._ensure_category()
        parts: list[Part] = []
        flagged: set[str] = set()
        for i, w in enumerate(writes):
            if outcomes[i] is not None:
                continue
            if isinstance(w, Flag):  # one PATCH per event, however often it is flagged
                if targets[i] in flagged:
                    outcomes[i] = WriteOutcome(w, w.event_id)
                    continue
                flagged.add(targets[i])
            part = self._part(i, w, targets.get(i), looks.get(i), outcomes)
            if part is not None:
                parts.append(part)
        results = self.runner.run(parts, budget=self.write_budget)
        for p in parts:
            w = writes[p.index]
            r = results[p.index]
            if r.status == 404 and isinstance(w, Move):
                r.error = f"{p.what}: event not found"
            outcomes[p.index] = WriteOutcome(w, w.event_id, r.error, r.transient)
            if r.error is None:
                self._remember(w, targets.get(p.index), r)

    def _part(
        self,
        i: int,
        w: CalendarWrite,
        gid: str | None,
        look: Result | None,
        outcomes: list[WriteOutcome | None],
    ) -> Part | None:
        if isinstance(w, Book):
            body = serializer.book_body(w, self.tz)
            return Part(
                i, "POST", f"/{self.client.user_path}/events", body, what=f"create {w.event_id}"
            )
        assert gid is not None
        if isinstance(w, Move):
            body = serializer.move_body(w, self.tz)
            return Part(i, "PATCH", self._events_url(gid), body, what=f"move {w.event_id}")
        if isinstance(w, Cancel):
            return Part(
                i,
                "DELETE",
                self._events_url(gid),
                ok_statuses=frozenset({404}),
                what=f"delete {w.event_id}",
            )
        if isinstance(w, Flag):
            # A series master is not in the calendarView cache; its occurrences carry its
            # categories, and the PATCH must keep them.
            item = self._cached(gid) or self._cached(self._plain_id(w))
            patch = serializer.flag_body(item.get("categories"))
            if patch is None:
                outcomes[i] = WriteOutcome(w, w.event_id)  # flagged already
                return None
            return Part(i, "PATCH", self._events_url(gid), patch, what=f"flag {w.event_id}")
        # Decline
        if look is None or look.error is not None:
            err = look.error if look else "not read"
            outcomes[i] = WriteOutcome(w, w.event_id, err, look.transient if look else True)
            return None
        ev = look.response
        if not isinstance(ev, Mapping) or ev.get("isCancelled") is True:
            outcomes[i] = WriteOutcome(w, w.event_id)  # gone or cancelled: nothing to decline
            return None
        rs = ev.get("responseStatus")
        if isinstance(rs, Mapping) and rs.get("response") == "declined":
            outcomes[i] = WriteOutcome(w, w.event_id)  # declined already: never answer twice
            return None
        if ev.get("isOrganizer") is True:
            outcomes[i] = WriteOutcome(
                w, w.event_id, "cannot decline a meeting the manager organizes"
            )
            return None
        return Part(
            i,
            "POST",
            self._events_url(gid, "/decline"),
            serializer.decline_body(w),
            what=f"decline {w.event_id}",
            replay_safe=False,
        )

    def _remember(self, w: CalendarWrite, gid: str | None, r: Result) -> None:
        """Keep the cache in step with a write, so the same tick's later writes find it."""
        state = self._state
        if state is None:
            return
        if isinstance(w, Book) and isinstance(r.response, Mapping):
            new_id = r.response.get("id")
            if isinstance(new_id, str):
                state.tags[w.event_id] = serializer.tag_json(w)
                item = serializer.slim(r.response)
                item.setdefault("transactionId", w.event_id)
                state.items[new_id] = item
        elif isinstance(w, Flag) and gid:
            cached = state.items.get(gid)
            patch = serializer.flag_body(cached.get("categories") if cached else None)
            if cached is not None and patch is not None:
                cached["categories"] = patch["categories"]

    def _ensure_category(self) -> None:
        """Create the `coachd: flagged` category in the master list once per mailbox."""
        key = f"microsoft:category:{self.client.mailbox.lower()}"
        if self.kv.get(key):
            return
        url = f"{self.client.user_path}/outlook/masterCategories"
        body = {"displayName": serializer.FLAG_CATEGORY, "color": serializer.FLAG_COLOR}

        def create() -> Any:
            try:
                return self.client.request("POST", url, body=body)
            except GraphError as e:
                if e.status == 409:  # it exists already: created by an earlier run
                    return None
                raise

        try:
            retry.call(create, "masterCategories create", self.backoff, self.write_budget)
        except CoachdError as e:
            # The event still gets the category; Outlook just shows it without a colour.
            log.warning("could not create the Outlook category: %s", e)
            return
        self.kv.put(key, True)


def open_microsoft_calendar(
    settings: MicrosoftSettings,
    *,
    manager: str,
    tz: ZoneInfo,
    base_dir: Path,
    kv: KeyValue,
    timeout: float | None = None,
    backoff: Backoff | None = None,
) -> MicrosoftCalendar:
    """The Microsoft backend for `calendar.microsoft` settings; paths resolve against
    base_dir. Touches neither the network nor the token cache until the first request.
    Given one `timeout` (tests), every request uses it; else reads get the shorter one."""
    from integrations.microsoft.auth import client_for

    client = client_for(
        settings,
        manager=manager,
        tz=tz,
        base_dir=base_dir,
        timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
        read_timeout=READ_TIMEOUT if timeout is None else timeout,
    )
    return MicrosoftCalendar(client, manager=manager, tz=tz, kv=kv, backoff=backoff)
