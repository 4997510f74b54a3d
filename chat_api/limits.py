"""The API's limits, read once from settings.CHAT_API (chat.limits pattern)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.conf import settings


@dataclass(frozen=True, slots=True)
class ApiLimits:
    rate_per_second: float = 10.0  # requests per token and per user, all processes (Redis)
    burst: int = 50
    send_rate_per_second: float = 5.0  # sends per user over the API (the socket's send rate)
    send_burst: int = 20
    webhook_rate_per_second: float = 1.0  # posts per webhook
    webhook_burst: int = 10
    max_request_bytes: int = 32768  # request bodies; larger ones get 413 `too_large` unread
    last_used_interval: float = 60.0  # a token's last_used_at is written at most this often

    @classmethod
    def from_settings(cls) -> ApiLimits:
        api, default = getattr(settings, "CHAT_API", {}), cls()
        return cls(
            rate_per_second=api.get("RATE_PER_SECOND", default.rate_per_second),
            burst=api.get("BURST", default.burst),
            send_rate_per_second=api.get("SEND_RATE_PER_SECOND", settings.CHAT["SEND_RATE_PER_SECOND"]),
            send_burst=api.get("SEND_BURST", settings.CHAT["SEND_BURST"]),
            webhook_rate_per_second=api.get("WEBHOOK_RATE_PER_SECOND", default.webhook_rate_per_second),
            webhook_burst=api.get("WEBHOOK_BURST", default.webhook_burst),
            max_request_bytes=api.get("MAX_REQUEST_BYTES", settings.CHAT["MAX_FRAME_BYTES"]),
            last_used_interval=api.get("LAST_USED_INTERVAL_SECONDS", default.last_used_interval),
        )


@cache
def current() -> ApiLimits:
    """The API limits of this process, read from settings once (forgotten when a test changes them)."""
    return ApiLimits.from_settings()
