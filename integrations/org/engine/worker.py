"""`coachd org worker`: an RQ worker on the org's queue. SimpleWorker: the job runs in the
worker's own process (no fork per job), which keeps each worker's parsed templates between
jobs; a job that crashes the process takes only that worker down, and its lease expires.

RQ's own loop survives Redis going away only while it waits for a job: a connection error
anywhere else (finishing a job, a heartbeat, maintenance) makes it log "unhandled exception,
quitting" and return, or raise from its teardown. A worker that quits whenever the broker
restarts is no worker for a daemon, so `run_worker` starts a fresh RQ worker after such an
exit, waiting 1 s, then 2, 4 … up to 30 s between attempts, until it is asked to stop.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

FIRST_WAIT = 1.0
MAX_WAIT = 30.0


def run_worker(
    redis: Any,
    queue: str,
    *,
    burst: bool = False,
    name: str | None = None,
    waits: Callable[[float], bool] | None = None,
) -> int:
    """Work the queue until SIGTERM or SIGINT (or, with `burst`, until it is empty); exit
    status 0. When RQ's loop ends for any other reason (Redis unreachable, restarted, a
    failed bookkeeping write) a new RQ worker starts after a growing wait. `waits(seconds)`
    sleeps and says whether a stop was asked for meanwhile (tests pass their own)."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from rq import Queue, SimpleWorker

    stop = threading.Event()
    wait_for_stop = waits or stop.wait
    wait = FIRST_WAIT
    while True:
        worker = None
        try:
            # The constructor talks to Redis too (CLIENT SETNAME).
            worker = SimpleWorker([Queue(queue, connection=redis)], connection=redis, name=name)
            worked = worker.work(burst=burst, with_scheduler=False)
        except (RedisConnectionError, RedisTimeoutError) as e:
            problem = f"Redis unreachable ({e})"
        else:
            if burst or _stop_was_requested(worker):
                return 0
            problem = "RQ's worker loop ended (see the error above)"
            if worked:
                wait = FIRST_WAIT
        if worker is not None and _stop_was_requested(worker):
            return 0
        # RQ's signal handlers belong to the worker that ended; ours wake the wait.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        log.warning("%s; the worker starts again in %.0fs", problem, wait)
        if wait_for_stop(wait):
            return 0
        wait = min(wait * 2, MAX_WAIT)


def _stop_was_requested(worker: Any) -> bool:
    """Whether SIGTERM/SIGINT reached RQ's handler (it records when, to stop warmly)."""
    return getattr(worker, "_shutdown_requested_date", None) is not None
