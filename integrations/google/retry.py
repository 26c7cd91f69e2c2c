"""Backoff and error classification for Google API calls (and the CRM KPI sources).

Retries 429, 403 with reason rateLimitExceeded/userRateLimitExceeded, 5xx, timeouts and
connection errors with truncated exponential backoff and full jitter, honouring Retry-After.
Never retries 400, 401, 404 or a plain 403: repeating them cannot help and only burns quota.
Other HTTP clients (Salesforce, HubSpot) raise `HttpStatusError` from inside `fn` to get the
same policy.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import google.auth.exceptions
import httplib2
from googleapiclient.errors import HttpError

from integrations.errors import RemoteError, TransientError, UserError

log = logging.getLogger(__name__)

T = TypeVar("T")

RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
# A server asking us to wait longer than this is treated as "try next tick" rather than
# blocking a tick for minutes.
MAX_RETRY_AFTER = 120.0


@dataclass(frozen=True)
class Backoff:
    """Truncated exponential backoff with full jitter.

    Attempt n (0-based) waits uniformly in [0, min(cap, base * 2**n)] seconds, unless the
    server sent Retry-After, which is honoured (up to MAX_RETRY_AFTER). `sleep` and `rand`
    are injectable so tests never really wait.
    """

    base: float = 1.0
    cap: float = 32.0
    max_attempts: int = 6
    sleep: Callable[[float], None] = field(default=time.sleep)
    rand: Callable[[], float] = field(default=random.random)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number `attempt + 1`."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), MAX_RETRY_AFTER)
        return float(self.rand()) * min(self.cap, self.base * (2.0**attempt))


def error_reason(content: bytes | str | None) -> str:
    """The `reason` of a Google JSON error body (`error.errors[0].reason`, else `error.status`)."""
    if not content:
        return ""
    try:
        data = json.loads(content)
    except (ValueError, TypeError):
        return ""
    err = data.get("error") if isinstance(data, dict) else None
    if not isinstance(err, dict):
        return ""
    errors = err.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        reason = errors[0].get("reason")
        if isinstance(reason, str):
            return reason
    status = err.get("status")
    return status if isinstance(status, str) else ""


def error_message(content: bytes | str | None) -> str:
    """The human message of a Google JSON error body, or a short excerpt of the body."""
    if not content:
        return ""
    try:
        data = json.loads(content)
        msg = data["error"]["message"]
        if isinstance(msg, str):
            return msg
    except (ValueError, TypeError, KeyError):
        pass
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
    return text[:200]


def status_of(e: HttpError) -> int:
    """The HTTP status of an HttpError as an int (httplib2 stores it as int or str)."""
    try:
        return int(getattr(e.resp, "status", 0))
    except (TypeError, ValueError):
        return 0


def is_transient_status(status: int, reason: str) -> bool:
    """Whether a response with this status and error reason is worth retrying."""
    if status == 429 or 500 <= status <= 599:
        return True
    return status == 403 and reason in RATE_LIMIT_REASONS


def retry_after(headers: Any) -> float | None:
    """Seconds from a Retry-After header (delta-seconds form only), or None."""
    try:
        value = headers.get("retry-after")
    except AttributeError:
        return None
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def is_transport_error(e: BaseException) -> bool:
    """Timeouts, refused or reset connections and DNS failures: the request may not have run.

    socket.timeout, TimeoutError and ConnectionError are all OSError subclasses; a failed
    token refresh over the network is google.auth's TransportError.
    """
    return isinstance(e, OSError | httplib2.HttpLib2Error | google.auth.exceptions.TransportError)


def describe_http_error(e: HttpError, what: str) -> str:
    """`<what>: HTTP 403 forbidden: <message>` for logs and outcomes."""
    reason = error_reason(e.content)
    msg = error_message(e.content)
    return f"{what}: HTTP {status_of(e)}{' ' + reason if reason else ''}: {msg}".rstrip(": ")


class HttpStatusError(Exception):
    """An HTTP error answer from a non-Google client, for `call` to classify like an HttpError:
    `status`, the service's `reason` code (retried when in RATE_LIMIT_REASONS with a 403),
    a one-line `message` and the Retry-After seconds if any."""

    def __init__(
        self, status: int, message: str, *, reason: str = "", retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.retry_after = retry_after


class RetryBudget:
    """The time one tick may spend on a kind of request, retries and waits included.

    `start()` at the beginning of the tick's reads (or writes); before each retry, `allows`
    says whether the time already spent plus the wait still fits. The waits are counted as
    asked for, so an injected non-sleeping backoff is bounded the same way.
    """

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self._started: float | None = None
        self._waited = 0.0

    def start(self) -> None:
        self._started = self.clock()
        self._waited = 0.0

    def allows(self, wait: float) -> bool:
        """Whether waiting `wait` more seconds (and retrying) stays within the budget; if
        so, the wait is counted."""
        if self._started is None:
            return True
        spent = max(self.clock() - self._started, 0.0) + self._waited
        if spent + wait > self.seconds:
            return False
        self._waited += wait
        return True


def spent(budget: RetryBudget) -> str:
    """The end of a message for a request given up because the tick's budget is spent."""
    return f"this tick's {budget.seconds:g}s for these requests is spent; the next tick tries again"


def call(fn: Callable[[], T], what: str, backoff: Backoff, budget: RetryBudget | None = None) -> T:
    """Run `fn` (one API request), retrying transient failures.

    Raises TransientError after `backoff.max_attempts` transient failures, or as soon as the
    next retry would overrun `budget`, and RemoteError at once for a permanent HTTP error.
    A budget already spent by earlier requests of the tick sends nothing (TransientError
    `not sent`): when Google hangs, the tick pays for it once, not once per request.
    `what` names the request in messages ("events.list").
    """
    if budget is not None and not budget.allows(0.0):
        raise TransientError(f"{what}: not sent: {spent(budget)}")
    attempt = 0
    while True:
        try:
            return fn()
        except HttpError as e:
            status = status_of(e)
            reason = error_reason(e.content)
            if not is_transient_status(status, reason):
                raise RemoteError(describe_http_error(e, what)) from e
            wait = backoff.delay(attempt, retry_after(e.resp))
            problem = describe_http_error(e, what)
        except HttpStatusError as e:
            problem = f"{what}: HTTP {e.status}: {e.message}".rstrip(": ")
            if not is_transient_status(e.status, e.reason):
                raise RemoteError(problem) from e
            wait = backoff.delay(attempt, e.retry_after)
        except google.auth.exceptions.RefreshError as e:
            raise UserError(
                f"{what}: Google refused the stored credentials ({e}); run `coachd auth google` "
                "again (or check the service account's domain-wide delegation)"
            ) from e
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
