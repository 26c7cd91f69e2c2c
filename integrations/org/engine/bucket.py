"""One request rate across every worker on every machine: a token bucket kept in Redis and
refilled by a Lua script on Redis's own clock (`TIME`), so the workers' clocks never matter.
Same interface as integrations.org.limiter.TokenBucket; used by the engine's jobs in place
of the per-process bucket."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from integrations.org.engine.lease import PREFIX

_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local t = redis.call('time')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local v = redis.call('hmget', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(v[1]) or burst
local stamp = tonumber(v[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - stamp) * rate)
local wait = 0
if tokens >= n then tokens = tokens - n else wait = (n - tokens) / rate end
redis.call('hset', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(now))
redis.call('pexpire', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return tostring(wait)
"""

BUCKET_KEY = f"{PREFIX}bucket"


class RedisTokenBucket:
    """`rate` tokens a second shared by everyone using `key`, at most `burst` saved up."""

    def __init__(
        self,
        redis: Any,
        rate: float,
        burst: int,
        *,
        key: str = BUCKET_KEY,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.key = key
        self._sleep = sleep
        self._script = redis.register_script(_TAKE)
        self.taken = 0
        self.waited = 0.0

    def try_take(self, n: int = 1) -> float:
        """Take `n` tokens if there are enough (returns 0.0), else take nothing and return
        the seconds until there would be."""
        n = max(1, min(n, self.burst))
        return float(self._script(keys=[self.key], args=[self.rate, self.burst, n]))

    def take(self, n: int = 1) -> float:
        """Take `n` tokens (at most `burst`), sleeping while there are too few; returns
        the seconds waited."""
        waited = 0.0
        while (wait := self.try_take(n)) > 0:
            self._sleep(wait)
            waited += wait
        self.taken += max(1, min(n, self.burst))
        self.waited += waited
        return waited
