"""A lease per manager in Redis: `SET key token NX PX ttl`; renewed and released only by
its holder (a Lua script compares the token), so a worker that lost its lease (paused past
the TTL, or killed) can never extend or delete the lease another worker now holds.

A holder renews every third of the TTL from a thread while its tick runs; a worker killed
mid-tick stops renewing and its lease expires after at most one TTL, after which another
worker may take the manager. The manager's state file lock (flock) stays underneath as a
second guard on the shared filesystem.
"""

from __future__ import annotations

import logging
import threading
import uuid
from typing import Any

log = logging.getLogger(__name__)

PREFIX = "coachd:org:"

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


def lease_key(manager: str) -> str:
    """The Redis key of a manager's lease."""
    return f"{PREFIX}lease:{manager}"


class Lease:
    """One manager's lease, held with a random token. `acquire` never waits."""

    def __init__(self, redis: Any, manager: str, ttl_ms: int) -> None:
        self.redis = redis
        self.key = lease_key(manager)
        self.ttl_ms = ttl_ms
        self.token = uuid.uuid4().hex
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    def acquire(self) -> bool:
        """Take the lease if nobody holds it; True when taken."""
        return bool(self.redis.set(self.key, self.token, nx=True, px=self.ttl_ms))

    def renew(self) -> bool:
        """Extend the lease by one TTL if it is still ours."""
        return bool(self._renew(keys=[self.key], args=[self.token, self.ttl_ms]))

    def release(self) -> None:
        """Give the lease back if it is still ours (a lost lease is left to its holder)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        try:
            self._release(keys=[self.key], args=[self.token])
        except Exception as e:  # Redis away: the lease expires on its own after the TTL
            log.warning("could not release %s (it expires by itself): %s", self.key, e)

    def keep_renewed(self) -> None:
        """Renew every third of the TTL from a thread until `release`; sets `lost` when
        the lease is no longer ours or Redis cannot be reached before it would expire."""

        def loop() -> None:
            every = self.ttl_ms / 3000
            unrenewed = 0.0  # seconds since the last renewal went through
            while not self._stop.wait(every):
                try:
                    ok = self.renew()
                    unrenewed = 0.0 if ok else self.ttl_ms
                except Exception as e:  # Redis away: keep trying until the TTL has run out
                    log.warning("renewing %s failed: %s", self.key, e)
                    unrenewed += every
                if unrenewed * 1000 >= self.ttl_ms - self.ttl_ms / 3:
                    log.error("lease %s lost; the tick stops after its current action", self.key)
                    self.lost.set()
                    return

        self._thread = threading.Thread(target=loop, name="lease-renew", daemon=True)
        self._thread.start()
