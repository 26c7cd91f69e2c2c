"""Retries for Graph requests: the same single policy as the Google backend.

`Backoff` (truncated exponential backoff with full jitter, Retry-After honoured up to a cap)
and the transient-status rule (429 and 5xx, which covers Graph's 503/504 throttling) come
from `integrations.google.retry`, so both backends back off alike. Graph has no 403
rate-limit reasons, so a 403 is always permanent here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

import requests

from integrations.errors import RemoteError, TransientError, UserError
from integrations.google.retry import Backoff, RetryBudget, is_transient_status, spent
from integrations.microsoft.client import GraphError

log = logging.getLogger(__name__)

T = TypeVar("T")

__all__ = [
    "Backoff",
    "RetryBudget",
    "call",
    "describe",
    "is_transient",
    "is_transport_error",
    "spent",
]


def is_transient(status: int) -> bool:
    """Whether a Graph status is worth repeating (429, 5xx)."""
    return is_transient_status(status, "")


def is_transport_error(e: BaseException) -> bool:
    """Timeouts, refused or reset connections: the request may not have run."""
    return isinstance(e, requests.ConnectionError | requests.Timeout | OSError)


def describe(e: GraphError, what: str) -> str:
    """`<what>: HTTP 404 ErrorItemNotFound: <message>` for logs and outcomes."""
    return f"{what}: {e}"


def call(fn: Callable[[], T], what: str, backoff: Backoff, budget: RetryBudget | None = None) -> T:
    """Run `fn` (one Graph request), retrying transient failures.

    Raises TransientError after `backoff.max_attempts` transient failures, or as soon as the
    next retry would overrun the tick's `budget` (time spent, waits counted as asked), and
    RemoteError at once for a permanent HTTP error (401 says to sign in again).
    """
    if budget is not None and not budget.allows(0.0):
        # Spent by earlier requests of this tick: not even one more (it could hang too).
        raise TransientError(f"{what}: not sent: {spent(budget)}")
    attempt = 0
    while True:
        try:
            return fn()
        except GraphError as e:
            if e.status == 401:
                raise UserError(
                    f"{what}: Graph refused the token ({e.code or 'unauthorized'}); run "
                    "`coachd auth microsoft` again, or check the app's permissions"
                ) from e
            if not is_transient(e.status):
                raise RemoteError(describe(e, what)) from e
            wait = backoff.delay(attempt, e.retry_after)
            problem = describe(e, what)
        except Exception as e:
            if not is_transport_error(e):
                raise
            wait = backoff.delay(attempt)
            problem = f"{what}: {type(e).__name__}: {e}"
        attempt += 1
        if attempt >= backoff.max_attempts:
            raise TransientError(f"{problem} (gave up after {attempt} attempts)")
        if budget is not None and not budget.allows(wait):
            raise TransientError(f"{problem} (gave up after {attempt} attempts: {spent(budget)})")
        log.warning("%s; retry %d in %.1fs", problem, attempt, wait)
        backoff.sleep(wait)
