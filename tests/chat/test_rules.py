"""Chat rules that need neither a socket nor a server: rate limits and typing throttle."""

import pytest

from chat.ratelimit import TokenBucket, UserBuckets
from chat.services import TypingThrottle

pytestmark = pytest.mark.unit


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_token_bucket_burst_then_rate():
    clock = FakeClock()
    bucket = TokenBucket(2.0, 3, clock)
    assert [bucket.take() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take() == 0.5
    clock.now += 0.5
    assert bucket.take() == 0.0
    assert bucket.take() > 0


def test_token_bucket_never_exceeds_burst():
    clock = FakeClock()
    bucket = TokenBucket(10.0, 2, clock)
    clock.now += 1000
    assert bucket.is_full()
    assert [bucket.take() for _ in range(3)][-1] > 0


def test_user_buckets_are_independent_and_forget_idle_users():
    clock = FakeClock()
    buckets = UserBuckets(1.0, 1, max_keys=2, clock=clock)
    assert buckets.take("ana") == 0.0
    assert buckets.take("ana") > 0
    assert buckets.take("bob") == 0.0  # another user is unaffected
    clock.now += 10
    assert buckets.take("cyd") == 0.0  # evicts idle buckets instead of growing
    assert len(buckets._buckets) <= 2


def test_typing_throttle():
    now = [1000.0]
    throttle = TypingThrottle(2.0, clock=lambda: now[0])

    def allowed(user: str, room: str, at: float) -> bool:
        now[0] = at
        return throttle.allow(user, room)

    assert allowed("ana", "t-room", 1000.0)
    assert not allowed("ana", "t-room", 1001.0)
    assert allowed("bob", "t-room", 1001.0)
    assert allowed("ana", "t-other", 1001.0)
    assert allowed("ana", "t-room", 1002.5)
