"""Running write requests through Graph's JSON `$batch`: at most 20 per request, each part's
status handled on its own, only the transient ones sent again.

A part answered 429/5xx, or a whole batch that failed (timeout, 429, 5xx), is retried with
the shared Backoff, except a part marked `replay_safe=False` (a decline: POSTing it twice
would answer the organizer twice). Such a part is retried only on 429, when the server
surely did not run it; otherwise it is reported transient, and the next tick reads the
event before trying again.

Given the tick's `RetryBudget`, no retry is started that would overrun it: the parts still
pending then fail as transient ("this tick's Ns ... is spent"), and the next tick goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from integrations.google.retry import Backoff, RetryBudget
from integrations.microsoft import retry
from integrations.microsoft.client import GraphClient, GraphError, error_from

log = logging.getLogger(__name__)

BATCH_LIMIT = 20  # Graph's documented maximum number of requests in one JSON batch


@dataclass
class Part:
    """One request: its position, method, URL relative to the version root (`/me/events`),
    body, which non-2xx statuses still mean success (404 for a delete), and a name."""

    index: int
    method: str
    url: str
    body: Any = None
    ok_statuses: frozenset[int] = frozenset()
    what: str = ""
    replay_safe: bool = True
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Result:
    """What one part got: a response body, or an error and whether it may pass."""

    response: Any = None
    error: str | None = None
    transient: bool = False
    status: int = 0


class BatchRunner:
    """Executes Part lists for one GraphClient with one Backoff policy."""

    def __init__(self, client: GraphClient, backoff: Backoff) -> None:
        self.client = client
        self.backoff = backoff

    def run(
        self, parts: Sequence[Part], *, budget: RetryBudget | None = None, read: bool = False
    ) -> dict[int, Result]:
        """Execute the parts, in batches of at most 20, retrying only the transient ones
        while `budget` allows; `read` parts (GETs) get the client's shorter read timeout."""
        results: dict[int, Result] = {}
        pending = list(parts)
        if pending and budget is not None and not budget.allows(0.0):
            # Spent by earlier requests of this tick: send nothing more (it could hang too).
            for p in pending:
                results[p.index] = Result(
                    error=f"{p.what}: not sent: {retry.spent(budget)}", transient=True
                )
            return results
        attempt = 0
        while pending:
            got: dict[int, Result] = {}
            waits: list[float] = []
            for k in range(0, len(pending), BATCH_LIMIT):
                chunk = pending[k : k + BATCH_LIMIT]
                if len(chunk) == 1:
                    self._single(chunk[0], got, waits, read)
                else:
                    self._batch(chunk, got, waits, read)
            again: list[Part] = []
            for p in pending:
                r = got.get(p.index) or Result(
                    error=f"{p.what}: no answer in the batch response", transient=True
                )
                retryable = r.transient and (p.replay_safe or r.status == 429)
                if retryable and attempt + 1 < self.backoff.max_attempts:
                    again.append(p)
                else:
                    if r.transient and retryable:
                        r.error = f"{r.error} (gave up after {attempt + 1} attempts)"
                    results[p.index] = r
            if not again:
                break
            wait = self.backoff.delay(attempt, max(waits) if waits else None)
            if budget is not None and not budget.allows(wait):
                for p in again:
                    r = got.get(p.index) or Result(error=p.what, transient=True)
                    r.error = (
                        f"{r.error} (gave up after {attempt + 1} attempts: {retry.spent(budget)})"
                    )
                    results[p.index] = r
                break
            log.warning("%d Graph request(s) failed transiently; retry in %.1fs", len(again), wait)
            self.backoff.sleep(wait)
            attempt += 1
            pending = again
        return results

    def _classify(self, p: Part, e: GraphError, waits: list[float]) -> Result:
        if e.status in p.ok_statuses:
            return Result(status=e.status)
        transient = retry.is_transient(e.status)
        if transient and e.retry_after is not None:
            waits.append(e.retry_after)
        return Result(error=retry.describe(e, p.what), transient=transient, status=e.status)

    def _single(self, p: Part, out: dict[int, Result], waits: list[float], read: bool) -> None:
        try:
            body = self.client.request(p.method, p.url, body=p.body, headers=p.headers, read=read)
            out[p.index] = Result(response=body, status=200)
        except GraphError as e:
            out[p.index] = self._classify(p, e, waits)
        except Exception as e:
            if not retry.is_transport_error(e):
                raise
            out[p.index] = Result(error=f"{p.what}: {type(e).__name__}: {e}", transient=True)

    def _batch(
        self, chunk: Sequence[Part], out: dict[int, Result], waits: list[float], read: bool
    ) -> None:
        by_id = {str(p.index): p for p in chunk}
        requests_: list[dict[str, Any]] = []
        for p in chunk:
            req: dict[str, Any] = {"id": str(p.index), "method": p.method, "url": p.url}
            headers = dict(p.headers)
            if p.body is not None:
                headers["Content-Type"] = "application/json"
                req["body"] = p.body
            if headers:
                req["headers"] = headers
            requests_.append(req)
        try:
            answer = self.client.request("POST", "$batch", body={"requests": requests_}, read=read)
        except GraphError as e:
            transient = retry.is_transient(e.status)
            if transient and e.retry_after is not None:
                waits.append(e.retry_after)
            for p in chunk:
                out[p.index] = Result(
                    error=retry.describe(e, "$batch"), transient=transient, status=e.status
                )
            return
        except Exception as e:
            if not retry.is_transport_error(e):
                raise
            for p in chunk:
                out[p.index] = Result(error=f"$batch: {type(e).__name__}: {e}", transient=True)
            return
        responses = answer.get("responses") if isinstance(answer, Mapping) else None
        for r in responses if isinstance(responses, list) else []:
            if not isinstance(r, Mapping) or str(r.get("id")) not in by_id:
                continue
            p = by_id[str(r.get("id"))]
            try:
                status = int(r.get("status", 0))
            except (TypeError, ValueError):
                status = 0
            raw_headers = r.get("headers")
            if 200 <= status < 300:
                out[p.index] = Result(response=r.get("body"), status=status)
            else:
                hdrs = raw_headers if isinstance(raw_headers, Mapping) else None
                err = error_from(status, r.get("body"), hdrs)
                out[p.index] = self._classify(p, err, waits)
