"""`coachd org worker`: an RQ worker on the org's queue. SimpleWorker: the job runs in the
worker's own process (no fork per job), which keeps each worker's parsed templates between
jobs; a job that crashes the process takes only that worker down, and its lease expires."""

from __future__ import annotations

from typing import Any


def run_worker(redis: Any, queue: str, *, burst: bool = False, name: str | None = None) -> int:
    """Work the queue until SIGTERM (or, with `burst`, until it is empty); exit status 0."""
    from rq import Queue, SimpleWorker

    worker = SimpleWorker([Queue(queue, connection=redis)], connection=redis, name=name)
    worker.work(burst=burst, with_scheduler=False)
    return 0
