"""Token buckets: per-user send rate (per process) and per-socket frame rate."""

from __future__ import annotations

import math
import time
from collections.abc import Callable


def retry_after(wait: float) -> float:
    """Seconds to wait, rounded up to the millisecond: never 0 for a refused frame."""
    return math.ceil(wait * 1000) / 1000


class TokenBucket:
    """`rate` tokens per second up to `burst`; `take()` spends one or says how long to wait."""

    __slots__ = ("rate", "burst", "tokens", "stamp", "clock")

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate = float(rate)
        self.burst = float(burst)
        self.tokens = float(burst)
        self.clock = clock
        self.stamp = clock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def take(self) -> float:
        """Spend one token: return 0.0 on success, else the seconds until one is available."""
        self._refill()
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        if self.rate <= 0:
            return float("inf")
        return (1.0 - self.tokens) / self.rate

    def is_full(self) -> bool:
        """True when the bucket holds `burst` tokens (an idle user; safe to forget)."""
        self._refill()
        return self.tokens >= self.burst


class UserBuckets:
    """One bucket per key (username). Per process: N processes allow up to N x the rate."""

    def __init__(self, rate: float, burst: int, *, max_keys: int = 10_000, clock=time.monotonic):
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    def take(self, key: str) -> float:
        """Spend one token of `key`'s bucket; 0.0 when allowed, else seconds to wait."""
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._forget_idle()
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst, self.clock)
        return bucket.take()

    def _forget_idle(self) -> None:
        # A full bucket behaves exactly like a new one, so dropping it loses nothing.
        for key in [k for k, b in self._buckets.items() if b.is_full()]:
            del self._buckets[key]
