"""The chat's limits, read once from settings.CHAT into a frozen object handed to each session."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True, slots=True)
class ChatLimits:
    max_rooms_per_socket: int = 50
    send_rate_per_second: float = 5.0
    send_burst: int = 20
    catchup_page: int = 200
    typing_min_interval_seconds: float = 2.0
    frame_rate_per_second: float = 20.0
    frame_burst: int = 100
    grant_ttl_seconds: float = 2.0
    read_flush_seconds: float = 1.0
    members_page_max: int = 1000

    @classmethod
    def from_settings(cls) -> ChatLimits:
        chat = settings.CHAT
        return cls(
            max_rooms_per_socket=chat["MAX_ROOMS_PER_SOCKET"],
            send_rate_per_second=chat["SEND_RATE_PER_SECOND"],
            send_burst=chat["SEND_BURST"],
            catchup_page=chat["CATCHUP_PAGE"],
            typing_min_interval_seconds=chat["TYPING_MIN_INTERVAL_SECONDS"],
            frame_rate_per_second=chat.get("FRAME_RATE_PER_SECOND", 20.0),
            frame_burst=chat.get("FRAME_BURST", 100),
            grant_ttl_seconds=chat.get("GRANT_TTL_SECONDS", 2.0),
            read_flush_seconds=chat.get("READ_FLUSH_SECONDS", 1.0),
        )
