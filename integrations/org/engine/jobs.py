"""The engine's job: one manager's tick, behind that manager's lease.

A job is plain data, `(org.yaml path, manager address, lease TTL)`, so any worker on any
machine that sees the same paths (the org folder on a shared volume) can run it. The job
reads the manager's file fresh, takes the lease (or returns "busy" at once: the scheduler
enqueues the manager again on a later pass), ticks through integrations.org.tick.tick_manager
(the same tick as `coachd org run`, idempotent with the manager's state: a tick cut short by
a kill is finished by the next one with nothing booked or sent twice), and records when the
manager is due next in Redis. Outcomes: ok, failed, busy, not-due, rejected, gone.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from integrations import clock
from integrations.errors import CoachdError, describe_os_error
from integrations.mail.render import Renderer
from integrations.org.config import OrgLoadedConfig, load_org, manager_files, stand_in_config
from integrations.org.engine.bucket import RedisTokenBucket
from integrations.org.engine.lease import PREFIX, Lease
from integrations.org.roster import load_entry
from integrations.org.runner import next_due
from integrations.org.tick import report_config_error, tick_manager

log = logging.getLogger(__name__)

_renderers: dict[str | None, Renderer] = {}  # per worker process, one per templates folder


def due_key(manager: str) -> str:
    """When the manager ticks next (ISO 8601); absent = due now."""
    return f"{PREFIX}due:{manager}"


def failures_key(manager: str) -> str:
    """Consecutive failed ticks (for the backoff)."""
    return f"{PREFIX}failures:{manager}"


def queued_key(manager: str) -> str:
    """Set while a job for the manager waits in the queue (so it is enqueued once)."""
    return f"{PREFIX}queued:{manager}"


def due_at(redis: Any, manager: str) -> datetime | None:
    """The manager's next due time, or None when unknown (due now)."""
    raw = redis.get(due_key(manager))
    return datetime.fromisoformat(raw.decode() if isinstance(raw, bytes) else raw) if raw else None


def _renderer(loaded: OrgLoadedConfig) -> Renderer:
    from integrations.tick.run_loop import checked_renderer

    key = loaded.policy.email.templates_dir
    if key not in _renderers:
        _renderers[key] = checked_renderer(loaded)
    return _renderers[key]


def _connection() -> Any:
    from rq import get_current_job

    job = get_current_job()
    if job is None:
        raise RuntimeError("tick_job runs in an RQ worker, or is given a connection")
    return job.connection


def tick_job(org_path: str, manager: str, lease_ttl_ms: int, *, connection: Any = None) -> str:
    """Tick `manager` of the org at `org_path` if their lease is free and they are due."""
    redis = connection if connection is not None else _connection()
    org = load_org(Path(org_path))
    path = manager_files(org).get(manager)
    if path is None:
        redis.delete(queued_key(manager), due_key(manager), failures_key(manager))
        log.info("manager %s: no file any more; nothing to do", manager)
        return "gone"
    lease = Lease(redis, manager, lease_ttl_ms)
    if not lease.acquire():
        redis.delete(queued_key(manager))  # the scheduler enqueues them again later
        log.info("manager %s: another worker holds their lease; skipped", manager)
        return "busy"
    try:
        redis.delete(queued_key(manager))
        now = clock.now()
        due = due_at(redis, manager)
        if due is not None and due > now:
            return "not-due"
        entry = load_entry(org, manager, path)
        if entry.loaded is None:
            log.error("manager %s: file rejected:\n%s", manager, "\n".join(entry.errors))
            try:  # emailed once per distinct set of errors (the state remembers)
                report_config_error(stand_in_config(org, manager, path), entry.errors)
            except (CoachdError, OSError) as e:
                text = describe_os_error(e) if isinstance(e, OSError) else str(e)
                log.error("manager %s: cannot send the config-error email: %s", manager, text)
            redis.set(due_key(manager), (now + org.settings.rescan).isoformat())
            return "rejected"
        loaded = entry.loaded
        s = org.settings
        bucket = RedisTokenBucket(redis, s.requests_per_second, s.burst)
        lease.keep_renewed()
        ok = False
        try:
            ok = tick_manager(
                loaded, bucket=bucket, renderer=_renderer(loaded), stop_requested=lease.lost.is_set
            )
        except (CoachdError, OSError) as e:
            text = describe_os_error(e) if isinstance(e, OSError) else str(e)
            log.error("manager %s: tick failed: %s", manager, text)
        except Exception:  # one manager's failure never stops the worker
            log.exception("manager %s: tick failed", manager)
        failures = 0 if ok else int(redis.incr(failures_key(manager)))
        if ok:
            redis.delete(failures_key(manager))
        redis.set(due_key(manager), next_due(loaded, clock.now(), failures).isoformat())
        return "ok" if ok else "failed"
    finally:
        lease.release()
