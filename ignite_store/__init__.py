"""Chat history in Apache Ignite. The only package in the project that imports pyignite.

Use `stores["default"]` (or `get_store()`), configured by settings.IGNITE_STORE the way
Django's `caches` is configured by CACHES.
"""

from .connection import get_store, stores  # noqa: F401
from .errors import ChangeRefused, InvalidMessage, SchemaError, StoreError, StoreUnavailable  # noqa: F401
from .sync_bridge import run_sync  # noqa: F401
from .types import (  # noqa: F401
    NOTIFY_LEVELS,
    ROLES,
    ROOM_KINDS,
    AppendResult,
    ChangeResult,
    ChangesPage,
    Membership,
    MembershipChange,
    Message,
    MyRoom,
    Page,
    Reaction,
    ReplyPreview,
    Room,
    RoomInfo,
    SearchHit,
    SearchPage,
    Version,
)
