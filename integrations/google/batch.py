"""Running write sub-requests: in batches of at most 50, retrying only the transient ones.

Each sub-request gets its own result; a batch whose HTTP request itself fails (timeout,
429, 5xx) marks all of its parts transient, and they are sent again. That is safe because
every coachd write is idempotent (client-supplied ids, absolute patches, deletes that
accept 404/410).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import google.auth.exceptions
from googleapiclient.errors import HttpError

from integrations.google import retry
from integrations.google.client import Connection
from integrations.google.retry import Backoff, RetryBudget

log = logging.getLogger(__name__)

# Google accepts up to 1000 calls per batch, but advises small batches for Calendar.
BATCH_LIMIT = 50


@dataclass
class Sub:
    """One sub-request: its position, how to build it, which statuses mean success
    (409 for an insert, 404/410 for a delete) and a name for messages."""

    index: int
    make: Callable[[], Any]
    ok_statuses: frozenset[int] = frozenset()
    what: str = ""


@dataclass
class Result:
    """What one sub-request got: a response, or an error and whether it may pass."""

    response: Any = None
    error: str | None = None
    transient: bool = False
    status: int = 0


def _other_error(what: str, e: Exception) -> Result:
    """A non-HTTP failure: transport errors are transient, refused credentials are not."""
    if isinstance(e, google.auth.exceptions.RefreshError):
        return Result(
            error=f"{what}: Google refused the stored credentials ({e}); "
            "run `coachd auth google` again"
        )
    if retry.is_transport_error(e):
        return Result(error=f"{what}: {type(e).__name__}: {e}", transient=True)
    raise e


class BatchRunner:
    """Executes Sub lists for one Connection with one Backoff policy."""

    def __init__(
        self, conn: Connection, backoff: Backoff, budget: RetryBudget | None = None
    ) -> None:
        self.conn = conn
        self.backoff = backoff
        self.budget = budget

    def run(self, subs: Sequence[Sub], *, attempts: int | None = None) -> dict[int, Result]:
        """Execute sub-requests in batches of at most 50, retrying only the transient ones,
        up to `attempts` tries each (default: the backoff's max_attempts), while the budget
        allows; a budget already spent sends nothing (each sub gets a transient `not sent`)."""
        max_attempts = attempts or self.backoff.max_attempts
        results: dict[int, Result] = {}
        pending = list(subs)
        if pending and self.budget is not None and not self.budget.allows(0.0):
            # Spent by earlier writes of this tick: send nothing more (it could hang too).
            for s in pending:
                results[s.index] = Result(
                    error=f"{s.what}: not sent: {retry.spent(self.budget)}", transient=True
                )
            return results
        attempt = 0
        while pending:
            round_results: dict[int, Result] = {}
            waits: list[float] = []
            for k in range(0, len(pending), BATCH_LIMIT):
                chunk = pending[k : k + BATCH_LIMIT]
                if len(chunk) == 1:
                    self._single(chunk[0], round_results, waits)
                else:
                    self._batch(chunk, round_results, waits)
            retry_next: list[Sub] = []
            for s in pending:
                r = round_results.get(s.index) or Result(
                    error=f"{s.what}: no answer in the batch response", transient=True
                )
                if r.transient and attempt + 1 < max_attempts:
                    retry_next.append(s)
                else:
                    if r.transient and max_attempts > 1:
                        r.error = f"{r.error} (gave up after {attempt + 1} attempts)"
                    results[s.index] = r
            if not retry_next:
                break
            wait = self.backoff.delay(attempt, max(waits) if waits else None)
            if self.budget is not None and not self.budget.allows(wait):
                for s in retry_next:
                    r = round_results.get(s.index) or Result(error=s.what, transient=True)
                    r.error = (
                        f"{r.error} (gave up after {attempt + 1} attempts: this tick's "
                        f"{self.budget.seconds:g}s for writes is spent; the next tick retries)"
                    )
                    results[s.index] = r
                break
            log.warning(
                "%d write(s) failed transiently; retry %d in %.1fs",
                len(retry_next),
                attempt + 1,
                wait,
            )
            self.backoff.sleep(wait)
            attempt += 1
            pending = retry_next
        return results

    def _classify(self, s: Sub, e: HttpError, waits: list[float]) -> Result:
        status = retry.status_of(e)
        if status in s.ok_statuses:
            return Result(status=status)
        reason = retry.error_reason(e.content)
        transient = retry.is_transient_status(status, reason)
        if transient:
            ra = retry.retry_after(e.resp)
            if ra is not None:
                waits.append(ra)
        return Result(
            error=retry.describe_http_error(e, s.what), transient=transient, status=status
        )

    def _single(self, s: Sub, out: dict[int, Result], waits: list[float]) -> None:
        try:
            out[s.index] = Result(response=s.make().execute(num_retries=0), status=200)
        except HttpError as e:
            out[s.index] = self._classify(s, e, waits)
        except Exception as e:
            out[s.index] = _other_error(s.what, e)

    def _batch(self, chunk: Sequence[Sub], out: dict[int, Result], waits: list[float]) -> None:
        by_id = {str(s.index): s for s in chunk}

        def callback(request_id: str, response: Any, exception: Exception | None) -> None:
            s = by_id[request_id]
            if exception is None:
                out[s.index] = Result(response=response, status=200)
            elif isinstance(exception, HttpError):
                out[s.index] = self._classify(s, exception, waits)
            else:
                out[s.index] = Result(error=f"{s.what}: {exception}", transient=True)

        batch = self.conn.new_batch(callback)
        for s in chunk:
            batch.add(s.make(), request_id=str(s.index))
        try:
            batch.execute()
        except HttpError as e:
            status = retry.status_of(e)
            reason = retry.error_reason(e.content)
            transient = retry.is_transient_status(status, reason)
            ra = retry.retry_after(e.resp)
            if transient and ra is not None:
                waits.append(ra)
            msg = retry.describe_http_error(e, "batch")
            for s in chunk:
                out[s.index] = Result(error=msg, transient=transient, status=status)
        except Exception as e:
            failed = _other_error("batch", e)
            for s in chunk:
                out[s.index] = Result(error=failed.error, transient=failed.transient)
