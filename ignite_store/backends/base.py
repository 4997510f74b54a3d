"""The message-store contract that every backend implements.

Sync methods serve admin views and management commands; each has an async twin
(prefixed with `a`) for consumers. Every method validates its input with
ignite_store.validation (InvalidMessage, nothing stored) and raises only
ignite_store.errors exceptions (StoreUnavailable when the cluster does not answer
within the configured timeout).

Ordering: each room has a gap-free sequence starting at 1. Pages are always returned
in ascending `seq` order, whatever the paging direction. Messages in pages that reply to another
carry `reply_preview`, read from the original's current state (one batched read per page).

Change log: every change to an existing message (edit, delete own, moderation, react, unreact) takes
the room's next change sequence (gap-free, starting at 1) in the same transaction as the change, and
stamps it on the message (`Message.change_seq`). `changes(room, after_change)` returns the current
state of every message changed after a cursor, in ascending change_seq, with the room's change head,
so a client that missed changes converges to the stored state. A change refused by the message's
state raises ChangeRefused with a stable code (nothing stored); a change that changes nothing
(reaction already there, message already deleted) returns changed=False and takes no sequence.
"""

from __future__ import annotations

from ..types import (
    AppendResult,
    ChangeResult,
    ChangesPage,
    Membership,
    MembershipChange,
    Message,
    MyRoom,
    Page,
    Room,
    RoomInfo,
    SearchPage,
    Version,
)


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
    def append(self, room: str, author: str, body: str, client_id: str, *, reply_to: int | None = None,
               mentions: tuple[str, ...] = (), mentions_room: bool = False,
               notified: tuple[str, ...] = ()) -> AppendResult:
        """Store a message with the room's next sequence; the same (room, client_id) stores once.

        `reply_to` must name a message of the room that is not deleted (else ChangeRefused
        no_such_message). `mentions` (members named), `mentions_room` (@room) and `notified` (other
        members @room reaches) write one mention row per user, counted by auser_rooms until read.
        """
        raise NotImplementedError("subclasses of BaseMessageStore must provide an append() method")

    async def aappend(self, room: str, author: str, body: str, client_id: str, *, reply_to: int | None = None,
                      mentions: tuple[str, ...] = (), mentions_room: bool = False,
                      notified: tuple[str, ...] = ()) -> AppendResult:
        raise NotImplementedError("subclasses of BaseMessageStore must provide an aappend() method")

    def delete(self, room: str, seq: int, *, by: str) -> Message | None:
        """Moderate a message through the change log: a tombstone (body, reactions, mention rows erased);
        None when it does not exist."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide a delete() method")

    async def amoderate(self, room: str, seq: int, *, by: str) -> ChangeResult | None:
        """adelete with the change it made (changed=False when it was already deleted)."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide an amoderate() method")

    # ------------------------------------------------------------------ changes (the room change log)
    def edit(self, room: str, seq: int, body: str, client_id: str, *, author: str, window_seconds: int = -1,
             mentions: tuple[str, ...] = (), mentions_room: bool = False,
             notified: tuple[str, ...] = ()) -> ChangeResult:
        """Replace the body of the author's own message within `window_seconds` of its creation (0 never,
        -1 always); the replaced body is kept (versions). Idempotent by client_id. The mentions of the new
        body (as for append) replace the old ones: mention rows of users no longer named are removed, users
        newly named get one (ChangeResult.mentioned).
        ChangeRefused: no_such_message, not_author, message_deleted, edit_window_closed."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide an edit() method")

    async def aedit(self, room: str, seq: int, body: str, client_id: str, *, author: str, window_seconds: int = -1,
                    mentions: tuple[str, ...] = (), mentions_room: bool = False,
                    notified: tuple[str, ...] = ()) -> ChangeResult:
        raise NotImplementedError("subclasses of BaseMessageStore must provide an aedit() method")

    async def adelete_own(self, room: str, seq: int, client_id: str, *, author: str) -> ChangeResult:
        """Tombstone the author's own message. Idempotent by client_id. ChangeRefused: no_such_message, not_author."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide an adelete_own() method")

    def react(self, room: str, seq: int, emoji: str, *, user: str, add: bool = True,
              max_distinct: int = 20) -> ChangeResult:
        """Add (add=False: remove) the user's emoji: a set per (user, emoji), at most `max_distinct` emoji
        per message. ChangeRefused: no_such_message, message_deleted, too_many_reactions."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide a react() method")

    async def areact(self, room: str, seq: int, emoji: str, *, user: str, add: bool = True,
                     max_distinct: int = 20) -> ChangeResult:
        raise NotImplementedError("subclasses of BaseMessageStore must provide an areact() method")

    def changes(self, room: str, after_change: int, limit: int) -> ChangesPage:
        """The messages with change_seq in (after_change, after_change + limit] (current state, ascending,
        so at most `limit`), and the head; the next page starts after `upto`."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide a changes() method")

    async def achanges(self, room: str, after_change: int, limit: int) -> ChangesPage:
        raise NotImplementedError("subclasses of BaseMessageStore must provide an achanges() method")

    def last_change_seq(self, room: str) -> int:
        """The room's change head (0 before its first change)."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide a last_change_seq() method")

    async def alast_change_seq(self, room: str) -> int:
        raise NotImplementedError("subclasses of BaseMessageStore must provide an alast_change_seq() method")

    def versions(self, room: str, seq: int) -> list[Version]:
        """The bodies an edit replaced, oldest first (staff)."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide a versions() method")

    async def aversions(self, room: str, seq: int) -> list[Version]:
        raise NotImplementedError("subclasses of BaseMessageStore must provide an aversions() method")

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

    def around(self, room: str, seq: int, limit: int) -> Page:
        """`limit` messages centred on `seq` (shifted to fit); has_more: older exist; has_newer: newer exist."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide an around() method")

    async def aaround(self, room: str, seq: int, limit: int) -> Page:
        raise NotImplementedError("subclasses of BaseMessageStore must provide an aaround() method")

    async def aget_many(self, room: str, seqs: list[int]) -> dict[int, Message]:
        """The messages of a room with these seqs (missing ones absent), in one request."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide an aget_many() method")

    # ------------------------------------------------------------------ search
    def search(self, rooms: list[str] | None, query: str, *, limit: int = 20, author: str | None = None,
               since: int | None = None, until: int | None = None,
               cursor: tuple[int, str, int] | None = None) -> SearchPage:
        """Messages of `rooms` matching `query` (ignite_store.search_text), newest first by (created_at, room, seq).

        The caller decides which rooms may be searched (the store does not authorize); None searches the
        most recently active rooms (the admin's view). `since`/`until`
        bound created_at (ms, until exclusive); `cursor` is the previous page's. Deleted messages never
        match, edited ones match on their current body. Bounded: InvalidMessage for a bad query.
        """
        raise NotImplementedError("subclasses of BaseMessageStore must provide a search() method")

    async def asearch(self, rooms: list[str] | None, query: str, *, limit: int = 20, author: str | None = None,
                      since: int | None = None, until: int | None = None,
                      cursor: tuple[int, str, int] | None = None) -> SearchPage:
        raise NotImplementedError("subclasses of BaseMessageStore must provide an asearch() method")

    def reindex_search(self, room: str | None = None) -> int:
        """Rebuild the search index of a room, or of every room (the search_reindex command); how many
        messages were read."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide a reindex_search() method")

    async def areindex_search(self, room: str | None = None) -> int:
        raise NotImplementedError("subclasses of BaseMessageStore must provide an areindex_search() method")

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
        before: tuple[int, str, int] | None = None,
    ) -> list[Message]:
        """Most recent messages across rooms, newest first, filtered by room/author (text: `search`).

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

    # ------------------------------------------------------------------ rooms and memberships
    # Async only; sync callers (admin, commands) go through ignite_store.sync_bridge.run_sync.
    # These store what they are given: who may do what is chat.access's decision, not the store's.
    async def acreate_room(self, room: Room, members: dict[str, str]) -> tuple[Room, bool]:
        """Store a room and its first members (username -> role); (existing room, False) when the id exists."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide an acreate_room() method")

    async def aget_room(self, room: str) -> Room | None:
        """A room's settings, or None."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide an aget_room() method")

    async def aupdate_room(self, room: str, *, name: str | None = None, topic: str | None = None,
                           archived: bool | None = None) -> Room | None:
        """Change a room's name, topic or archived flag; None when the room does not exist."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide an aupdate_room() method")

    async def alist_rooms(self, *, kind: str | None = None, search: str | None = None,
                          include_archived: bool = False, limit: int = 100) -> list[tuple[Room, int, int | None]]:
        """(room, last_seq, last_at) by name, filtered by kind and a case-insensitive name substring."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide an alist_rooms() method")

    async def amember_counts(self, rooms: list[str]) -> dict[str, int]:
        """Number of members of each room (rooms without members are absent)."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide an amember_counts() method")

    async def amembership(self, room: str, user: str) -> Membership | None:
        """The user's membership of the room (with read marker), or None: one key read."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide an amembership() method")

    async def aaccess(self, room: str, user: str) -> tuple[Room | None, Membership | None]:
        """The room (None when missing) and the user's membership (None when not a member), for authorization.

        One key read for a member. The room's settings may come from the copy kept with the membership,
        which an update of the room rewrites right after the room itself."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide an aaccess() method")

    async def aadd_member(self, room: str, user: str, role: str = "member") -> MembershipChange:
        """Add a member (idempotent: an existing membership is returned unchanged)."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide an aadd_member() method")

    async def aremove_member(self, room: str, user: str) -> MembershipChange:
        """Remove a member from both sides of the membership."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide an aremove_member() method")

    async def aset_role(self, room: str, user: str, role: str) -> Membership | None:
        """Change a member's role; None when not a member."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide an aset_role() method")

    async def aset_notify(self, room: str, user: str, level: str) -> Membership | None:
        """Change a member's notification level (one of NOTIFY_LEVELS); None when not a member."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide an aset_notify() method")

    async def amembers(self, room: str, limit: int = 1000) -> list[Membership]:
        """The room's members by username (without read markers)."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide an amembers() method")

    async def amembers_among(self, room: str, users: list[str]) -> set[str]:
        """Which of `users` are members of the room (one request, for @mentions)."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide an amembers_among() method")

    async def aheads(self, room: str) -> tuple[int, int]:
        """(last seq, last change seq) of a room, read together (0 for none)."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide an aheads() method")

    async def auser_rooms(self, user: str) -> list[MyRoom]:
        """Every room of a user with role, read marker, the room's last seq and the user's mentions after
        the read marker: one partition's rows."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide an auser_rooms() method")

    async def amark_read(self, markers: dict[tuple[str, str], int]) -> dict[tuple[str, str], int]:
        """Move read markers {(room, user): seq} forward only, in one transaction; the stored markers."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide an amark_read() method")

    async def amemberships_page(self, after: tuple[str, str] | None, limit: int) -> list[Membership]:
        """Memberships ordered by (room, user) after a cursor, for export."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide an amemberships_page() method")

    async def aimport_room(self, room: Room) -> bool:
        """Store a room's settings as is unless the id exists; True when created."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide an aimport_room() method")

    async def aimport_membership(self, membership: Membership) -> bool:
        """Store a membership unless it exists (its read marker only moves forward); True when created."""
        raise NotImplementedError("subclasses of BaseMessageStore must provide an aimport_membership() method")

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Close every connection this backend opened (sync and async)."""

    async def aclose(self) -> None:
        self.close()
