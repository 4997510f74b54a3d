"""The message-store contract that every backend implements.

Sync methods serve admin views and management commands; each has an async twin
(prefixed with `a`) for consumers. Every method validates its input with
ignite_store.validation (InvalidMessage, nothing stored) and raises only
ignite_store.errors exceptions (StoreUnavailable when the cluster does not answer
within the configured timeout).

Ordering: each room has a gap-free sequence starting at 1. Pages are always returned
in ascending `seq` order, whatever the paging direction.
"""

from __future__ import annotations

from ..types import AppendResult, Message, Page, RoomInfo


class BaseMessageStore:
    """Base class of message-store backends. Options map onto constructor keywords."""

    def __init__(self, nodes: list[tuple[str, int]], **options):
        self.nodes = [(str(host), int(port)) for host, port in nodes]
        self.options = options

    # ------------------------------------------------------------------ schema
    def ensure_schema(self) -> list[str]:
        """Create missing caches/tables/indexes; return what was created (empty when all existed)."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide an ensure_schema() method")

    def check_schema(self) -> list[str]:
        """Return the problems found in the schema without changing anything (empty when all is well)."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide a check_schema() method")

    # ------------------------------------------------------------------ writes
    def append(self, room: str, author: str, body: str, client_id: str) -> AppendResult:
        """Store a message with the room's next sequence; the same (room, client_id) stores once."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide an append() method")

    async def aappend(self, room: str, author: str, body: str, client_id: str) -> AppendResult:
        raise NotImplementedError("subclasses of BaseMessageStore must provide an aappend() method")

    def delete(self, room: str, seq: int, *, by: str) -> Message | None:
        """Moderate a message: erase its body and leave a tombstone; None when it does not exist."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide a delete() method")

    async def adelete(self, room: str, seq: int, *, by: str) -> Message | None:
        raise NotImplementedError("subclasses of BaseMessageStore must provide an adelete() method")

    # ------------------------------------------------------------------ reads
    def get(self, room: str, seq: int) -> Message | None:
        """Return one message, or None."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide a get() method")

    async def aget(self, room: str, seq: int) -> Message | None:
        raise NotImplementedError("subclasses of BaseMessageStore must provide an aget() method")

    def last_seq(self, room: str) -> int:
        """Return the room's highest sequence (0 for a room without messages)."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide a last_seq() method")

    async def alast_seq(self, room: str) -> int:
        raise NotImplementedError("subclasses of BaseMessageStore must provide an alast_seq() method")

    def latest(self, room: str, limit: int) -> Page:
        """The newest `limit` messages; has_more tells whether older ones exist."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide a latest() method")

    async def alatest(self, room: str, limit: int) -> Page:
        raise NotImplementedError("subclasses of BaseMessageStore must provide an alatest() method")

    def before(self, room: str, before_seq: int, limit: int) -> Page:
        """Up to `limit` messages with seq < before_seq, the newest of them; has_more if older exist."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide a before() method")

    async def abefore(self, room: str, before_seq: int, limit: int) -> Page:
        raise NotImplementedError("subclasses of BaseMessageStore must provide an abefore() method")

    def after(self, room: str, after_seq: int, limit: int) -> Page:
        """Up to `limit` messages with seq > after_seq, the oldest of them; has_more if newer exist."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide an after() method")

    async def aafter(self, room: str, after_seq: int, limit: int) -> Page:
        raise NotImplementedError("subclasses of BaseMessageStore must provide an aafter() method")

    # ------------------------------------------------------------------ admin
    def rooms(self) -> list[RoomInfo]:
        """Every room with its message count and last activity, most recently active first."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide a rooms() method")

    def recent(
        self,
        limit: int,
        *,
        room: str | None = None,
        author: str | None = None,
        search: str | None = None,
        before: tuple[int, str, int] | None = None,
    ) -> list[Message]:
        """Most recent messages across rooms, newest first, filtered by room/author/substring.

        `before` is a cursor (created_at, room, seq) from the last message of the previous page.
        """
        raise NotImplementedError("subclasses of BaseMessageStore must provide a recent() method")

    def iter_messages(
        self, *, room: str | None = None, since: int | None = None, until: int | None = None
    ):
        """Yield every message (tombstones included) ordered by (room, seq), streaming, for export."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide an iter_messages() method")

    def import_message(self, message: Message) -> bool:
        """Store `message` with its own seq/id/timestamp (import); False when it already existed."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide an import_message() method")

    def prune(self, older_than: int, *, dry_run: bool = False) -> int:
        """Delete messages created before `older_than` (epoch ms); return how many (would be) deleted."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide a prune() method")

    def cluster_info(self) -> dict:
        """Cluster state, nodes, caches and partition distribution as plain data (see ignite_status)."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide a cluster_info() method")

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Close every connection this backend opened (sync and async)."""

    async def aclose(self) -> None:
        self.close()
