"""Rate limits that hold across server processes: token buckets in Redis (the channel layer's Redis).

One Lua script spends one token from every bucket of a request at once (the token's, the user's, the
user's sends): either all of them pay or none does, so a refused request costs the caller nothing.
The buckets are GCRA (a bucket is one timestamp: when it will be full again), timed by Redis's own
clock, so processes on different machines agree.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass

from redis import asyncio as aioredis
from redis.exceptions import RedisError

from chat.presence import redis_url
from chat.protocol import ProtocolError

KEY_PREFIX = "chat:api:rl:"

# KEYS: the buckets; ARGV: per bucket, the interval between tokens (us) and the burst.
# Returns 0 when every bucket had a token (all spent), else the microseconds until they all will.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local wait, tats = 0, {}
for i, key in ipairs(KEYS) do
  local interval, burst = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  local new_tat = tat + interval
  local allow_at = new_tat - burst * interval
  if allow_at > now and allow_at - now > wait then wait = allow_at - now end
  tats[i] = new_tat
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  redis.call('SET', key, tats[i], 'PX', math.ceil((tats[i] - now) / 1000) + 1)
end
return 0
"""


@dataclass(frozen=True, slots=True)
class Bucket:
    key: str
    rate: float  # tokens per second
    burst: int


class RedisLimiter:
    """The buckets of one event loop's Redis client."""

    def __init__(self, url: str):
        self.redis = aioredis.from_url(url)
        self._script = self.redis.register_script(_GCRA)

    async def take(self, *buckets: Bucket, ref: str | None = None) -> None:
        """Spend one token of each bucket, or raise `rate_limited` (with retry_after) and spend none."""
        args: list[float | int] = []
        for bucket in buckets:
            args += [max(1, int(1_000_000 / bucket.rate)), bucket.burst]
        try:
            wait = int(await self._script(keys=[KEY_PREFIX + b.key for b in buckets], args=args))
        except RedisError as e:
            # Fail closed: without Redis the limit cannot hold across processes (and live fan-out is down too).
            raise ProtocolError("unavailable", "the rate limiter is unavailable, retry", ref=ref) from e
        if wait:
            raise ProtocolError("rate_limited", "slow down", ref=ref, retry_after=wait / 1_000_000)


_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, RedisLimiter] = weakref.WeakKeyDictionary()


def get_limiter() -> RedisLimiter:
    """The limiter of the running event loop (one Redis client per Daphne process)."""
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = RedisLimiter(redis_url())
    return limiter
