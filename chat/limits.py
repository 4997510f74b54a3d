"""The chat's limits, read once from settings.CHAT into a frozen object handed to each session."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.conf import settings


@dataclass(frozen=True, slots=True)
class ChatLimits:
    max_body_chars: int = 4000
    max_frame_bytes: int = 32768
    room_pattern: str = r"^[a-z0-9][a-z0-9_-]{0,63}$"
    history_page_max: int = 100
    max_connections_per_user: int = 20
    outbox_max_frames: int = 1000
    max_rooms_per_socket: int = 50
    send_rate_per_second: float = 5.0
    send_burst: int = 20
    catchup_page: int = 200
    typing_min_interval_seconds: float = 2.0
    frame_rate_per_second: float = 20.0
    frame_burst: int = 100
    grant_ttl_seconds: float = 2.0
    grant_trusted_ttl_seconds: float = 30.0
    fanout_shards: int = 1
    read_flush_seconds: float = 1.0
    members_page_max: int = 1000
    edit_window_seconds: int = 600  # 0: never, -1: always
    allow_delete_own: bool = True
    max_reactions_per_message: int = 20
    room_mention_max_members: int = 50  # @room for anyone in rooms with fewer members; owners/admins always

    @classmethod
    def from_settings(cls) -> ChatLimits:
        chat = settings.CHAT
        return cls(
            max_body_chars=chat["MAX_BODY_CHARS"],
            max_frame_bytes=chat["MAX_FRAME_BYTES"],
            room_pattern=chat["ROOM_PATTERN"],
            history_page_max=chat["HISTORY_PAGE_MAX"],
            max_connections_per_user=chat["MAX_CONNECTIONS_PER_USER"],
            outbox_max_frames=chat.get("OUTBOX_MAX_FRAMES", 1000),
            max_rooms_per_socket=chat["MAX_ROOMS_PER_SOCKET"],
            send_rate_per_second=chat["SEND_RATE_PER_SECOND"],
            send_burst=chat["SEND_BURST"],
            catchup_page=chat["CATCHUP_PAGE"],
            typing_min_interval_seconds=chat["TYPING_MIN_INTERVAL_SECONDS"],
            frame_rate_per_second=chat.get("FRAME_RATE_PER_SECOND", 20.0),
            frame_burst=chat.get("FRAME_BURST", 100),
            grant_ttl_seconds=chat.get("GRANT_TTL_SECONDS", 2.0),
            grant_trusted_ttl_seconds=chat.get("GRANT_TRUSTED_TTL_SECONDS", 30.0),
            fanout_shards=chat.get("FANOUT_SHARDS", 1),
            read_flush_seconds=chat.get("READ_FLUSH_SECONDS", 1.0),
            edit_window_seconds=chat.get("EDIT_WINDOW_SECONDS", 600),
            allow_delete_own=chat.get("ALLOW_DELETE_OWN", True),
            max_reactions_per_message=chat.get("MAX_REACTIONS_PER_MESSAGE", 20),
            room_mention_max_members=chat.get("ROOM_MENTION_MAX_MEMBERS", 50),
        )


@cache
def current() -> ChatLimits:
    """The limits of this process, read from settings once (forgotten when a test changes CHAT)."""
    return ChatLimits.from_settings()
