"""`coachd org scheduler`: every pass, enqueue a tick job for each manager that is due, has
no job waiting and whose lease nobody holds. Holds no state of its own (the due times are in
Redis, written by the workers), so it can be restarted at will; run one (a second one
enqueues nothing twice: the queued marker is taken with SET NX). When Redis is unreachable it
logs that and retries with backoff; a Redis that restarts empty makes every manager due
again, which is harmless: ticks are idempotent."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from integrations import clock
from integrations.errors import CoachdError, ConfigError
from integrations.org.config import Org, load_org, manager_files
from integrations.org.engine.jobs import due_at, queued_key, tick_job
from integrations.org.engine.lease import lease_key

log = logging.getLogger(__name__)

QUEUE = "coachd"
LEASE_TTL_MS = 60_000


def enqueue_due(
    redis: Any, queue: Any, org_path: Path, org: Org, lease_ttl_ms: int = LEASE_TTL_MS
) -> list[str]:
    """One pass: the managers enqueued now."""
    now = clock.now()
    enqueued = []
    for manager in manager_files(org):
        due = due_at(redis, manager)
        if due is not None and due > now:
            continue
        if redis.exists(lease_key(manager)):
            continue  # ticking right now; due again once it has finished
        # The marker outlives a lost job (a worker killed before it took the lease).
        if not redis.set(queued_key(manager), "1", nx=True, px=max(lease_ttl_ms * 5, 60_000)):
            continue
        queue.enqueue(
            tick_job,
            str(org_path.resolve()),
            manager,
            lease_ttl_ms,
            job_timeout=3600,
            result_ttl=3600,
            failure_ttl=86400,
            description=f"tick {manager}",
        )
        enqueued.append(manager)
    return enqueued


class Scheduler:
    """The scheduler loop; `run_until` is it without signal handlers (tests)."""

    def __init__(
        self,
        redis: Any,
        org_path: Path,
        *,
        queue: str = QUEUE,
        lease_ttl_ms: int = LEASE_TTL_MS,
        every: float = 1.0,
    ) -> None:
        from rq import Queue

        self.redis = redis
        self.org_path = org_path
        self.queue = Queue(queue, connection=redis)
        self.lease_ttl_ms = lease_ttl_ms
        self.every = every
        self.org = load_org(org_path)
        self.stop = threading.Event()

    def run(self) -> int:
        def on_signal(_signum: int, _frame: FrameType | None) -> None:
            self.stop.set()

        for s in (signal.SIGTERM, signal.SIGINT):
            signal.signal(s, on_signal)
        self.run_until(lambda: False)
        return 0

    def run_until(self, done: Callable[[], bool]) -> None:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError

        backoff = self.every
        log.info("coachd org scheduler started for %s", self.org_path)
        while not self.stop.is_set() and not done():
            self._reload()
            try:
                for manager in enqueue_due(
                    self.redis, self.queue, self.org_path, self.org, self.lease_ttl_ms
                ):
                    log.info("enqueued %s", manager)
                backoff = self.every
            except (RedisConnectionError, RedisTimeoutError) as e:
                backoff = min(backoff * 2, 30.0)
                log.error("Redis unreachable (%s); retrying in %.0fs", e, backoff)
            self.stop.wait(backoff)
        log.info("coachd org scheduler stopped")

    def _reload(self) -> None:
        try:
            self.org = load_org(self.org_path)
        except (CoachdError, OSError) as e:
            errors = e.errors if isinstance(e, ConfigError) else [str(e)]
            log.error("org.yaml rejected; scheduling on the previous one:\n%s", "\n".join(errors))
