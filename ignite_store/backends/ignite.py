"""The Apache Ignite message store (pyignite thin client), composed of small parts.

- ignite_session: the runner (`IgniteSession.run`: pool, timeout, error translation, one retry);
  every operation is written once, async, and the sync API runs it through sync_bridge.run_sync.
- ignite_writes: appends (one transaction over the room-affine tables: read the room counters and the
  idempotency keys, write messages + keys + counters, commit), group-committed per event loop by
  ignite_batch; imports. Transactions are optimistic serializable by default (`transactions`).
- ignite_changes: the room change log: edits, deletes (own and moderation), reactions, each in one
  transaction that takes the room's next change sequence.
- ignite_reads: SQL range scans on the (ROOM, SEQ) primary-key index: sequences are gap-free, so "the
  latest N" and "N before a cursor" are exact ranges (ignite_queries builds them, without I/O).
- ignite_admin: schema, cross-room listings, export, retention, cluster health.
- ignite_codec: rows and binary objects to Messages; pyignite_seam: the optional fast codec.
"""

from __future__ import annotations

import asyncio
import dataclasses
import weakref
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any, TypeVar

from ..errors import ChangeRefused, InvalidMessage, StoreUnavailable
from ..search_text import parse_query
from ..sync_bridge import run_on_private_loops, run_sync
from ..types import (
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
    Room,
    RoomInfo,
    SearchPage,
    Version,
)
from ..validation import (
    DEFAULT_ROOM_PATTERN,
    StoreLimits,
    validate_author,
    validate_body,
    validate_choice,
    validate_client_id,
    validate_emoji,
    validate_limit,
    validate_room,
    validate_room_name,
    validate_seq,
    validate_topic,
)
from . import pyignite_seam
from .base import BaseMessageStore
from .ignite_admin import Admin
from .ignite_batch import AppendBatcher, PendingAppend
from .ignite_changes import Changes
from .ignite_client import ClientPool, ssl_tls_kwargs
from .ignite_codec import MESSAGE_COLUMNS, mentions_to_json, message_from_row, now_ms
from .ignite_queries import CATCHUP_LIMIT_MAX, EXPORT_PAGE, Queries
from .ignite_reads import Reads
from .ignite_rooms import IgniteRooms
from .ignite_schema import Schema
from .ignite_search import Search
from .ignite_search_index import SearchIndex
from .ignite_session import IgniteSession
from .ignite_writes import Writes

T = TypeVar("T")
SEARCH_PAGE_MAX = 50
SEARCH_ROOMS_MAX = 1000


class IgniteMessageStore(BaseMessageStore):
    """Chat history in an Apache Ignite 2.x cluster. See docs/architecture.md."""

    MESSAGE_COLUMNS = MESSAGE_COLUMNS

    def __init__(
        self,
        nodes: list[tuple[str, int]],
        *,
        username: str | None = None,
        password: str | None = None,
        use_ssl: bool = False,
        ssl_ca_file: str | None = None,
        ssl_cert_file: str | None = None,
        ssl_key_file: str | None = None,
        ssl_verify: bool = True,
        timeout: float = 5.0,
        backups: int = 1,
        table_prefix: str = "CHAT",
        retention_days: int = 0,
        partition_aware: bool = False,
        transactions: str = "optimistic",
        max_batch: int = 256,
        commit_interval: float = 0.0,
        fast_codec: bool = True,
        max_body_chars: int = 4000,
        history_page_max: int = 100,
        room_pattern: str = DEFAULT_ROOM_PATTERN,
        search_index: bool = True,
    ):
        if not nodes:
            raise ValueError("NODES must list at least one (host, port)")
        super().__init__(nodes)
        if not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        self.timeout = float(timeout)
        self.schema = Schema(prefix=table_prefix, backups=backups)
        self.retention_days = int(retention_days or 0)
        self.max_batch = int(max_batch)
        if not isinstance(commit_interval, (int, float)) or not 0 <= commit_interval <= 1:
            raise ValueError(f"commit_interval must be 0..1 seconds, got {commit_interval!r}")
        self.commit_interval = float(commit_interval)
        self.limits = StoreLimits(int(max_body_chars), int(history_page_max), room_pattern)
        # The pyignite seam (struct encoders and decoders) is process-wide; False keeps this store on
        # plain pyignite's SQL cursor for reads, and installs nothing.
        self.fast_codec = bool(fast_codec) and pyignite_seam.install()
        self._batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AppendBatcher] = (
            weakref.WeakKeyDictionary()
        )
        client_kwargs: dict = {"use_ssl": bool(use_ssl)}
        if username:
            client_kwargs.update(username=username, password=password)
        if use_ssl:
            client_kwargs.update(ssl_tls_kwargs(ssl_ca_file, ssl_cert_file, ssl_key_file, verify=ssl_verify))
        # Partition awareness: a connection to every node, key requests sent to the key's primary, and
        # each append batch split by its rooms' primary node with its transaction started there
        # (docs/performance.md, "Two nodes"). It needs pyignite_seam (pyignite 0.6.1 forgets a cache's
        # partition map at every get_cache, which cost an affinity round trip per key request, and cannot
        # choose a transaction's node): when the seam's guard refuses, it is off. Off by default: with
        # every node connected, a node cut off by the network and back as a one-node island took appends
        # that were acknowledged and then discarded when it rejoined (tests/faults/test_partition.py; fixed
        # since in AffinityAioClient, but only a few runs and one window remain: docs/performance.md).
        partition_aware = bool(partition_aware) and pyignite_seam.node_transactions()
        self._pool = ClientPool(
            self.nodes, timeout=self.timeout, partition_aware=partition_aware, client_kwargs=client_kwargs
        )
        self.transactions = transactions
        self._session = IgniteSession(self._pool, timeout=self.timeout, fast_codec=self.fast_codec,
                                      transactions=transactions)
        self._queries = Queries(self.schema, self.limits.room_pattern)
        self._reads = Reads(self._session, self._queries)
        # search_index=False: completed runs are not merged into the search index (bench/search.py measures
        # what the merge costs); searches stay exact, scanning every message above the room's watermark.
        self._search_index = SearchIndex(self._session, self.schema, enabled=bool(search_index))
        self._writes = Writes(self._session, self.schema, self._search_index)
        self._admin = Admin(self._session, self._queries)
        self._rooms = IgniteRooms(self._session, self.schema)
        self._search = Search(self._session, self.schema)
        self._changes = Changes(self._session, self.schema, max_batch=self.max_batch,
                                commit_interval=self.commit_interval)

    # Names used by the admin views and by tests.
    messages_table = property(lambda self: self.schema.messages_table)
    rooms_table = property(lambda self: self.schema.rooms_table)
    idempotency_table = property(lambda self: self.schema.idempotency_table)
    messages_cache = property(lambda self: self.schema.messages_cache)
    rooms_cache = property(lambda self: self.schema.rooms_cache)
    idempotency_cache = property(lambda self: self.schema.idempotency_cache)

    # ================================================================ plumbing (also for sibling components)
    async def _arun(self, operation: Callable[[Any], Awaitable[T]], *, retry: bool) -> T:
        """Await operation(client) with this store's pool: timeout, errors translated, one retry if `retry`."""
        return await self._session.run(operation, retry=retry)

    def _sync(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run one of the async methods for a sync caller (admin views, management commands)."""
        return run_sync(coroutine)

    def _sql(self, query: str, args: list | tuple = ()) -> list[list]:
        """Run a SQL statement and return every row (sync; admin tools, tests and the bench)."""
        return self._sync(self._session.sql(query, args))

    _message_from_row = staticmethod(message_from_row)

    # ================================================================ schema
    async def aensure_schema(self) -> list[str]:
        """Create missing tables/indexes; return what was created."""
        return await self._admin.ensure_schema()

    def ensure_schema(self) -> list[str]:
        return self._sync(self.aensure_schema())

    async def acheck_schema(self) -> list[str]:
        """The schema's problems, without changing anything."""
        return [f"missing {name}" for name in await self._admin.missing_tables_and_indexes()]

    def check_schema(self) -> list[str]:
        return self._sync(self.acheck_schema())

    # ================================================================ writes
    def _valid_append(self, room, author, body, client_id, reply_to, mentions, mentions_room, notified) -> dict:
        room, author = validate_room(room, self.limits.room_pattern), validate_author(author)
        body, client_id = validate_body(body, self.limits.max_body_chars), validate_client_id(client_id)
        extra: dict = {}
        if reply_to is not None:
            extra["reply_to"] = validate_seq(reply_to, "reply_to")
        if mentions or mentions_room:
            extra.update(_valid_mentions(mentions, mentions_room, notified))
        return {"room": room, "author": author, "body": body, "client_id": client_id, **extra}

    async def aappend(self, room: str, author: str, body: str, client_id: str, *, reply_to: int | None = None,
                      mentions: tuple[str, ...] = (), mentions_room: bool = False,
                      notified: tuple[str, ...] = ()) -> AppendResult:
        item = self._valid_append(room, author, body, client_id, reply_to, mentions, mentions_room, notified)
        return await self._batcher().submit(**item)

    def append(self, room: str, author: str, body: str, client_id: str, *, reply_to: int | None = None,
               mentions: tuple[str, ...] = (), mentions_room: bool = False,
               notified: tuple[str, ...] = ()) -> AppendResult:
        item = self._valid_append(room, author, body, client_id, reply_to, mentions, mentions_room, notified)
        return self._sync(self._append_now(**item))

    async def _append_now(self, room: str, author: str, body: str, client_id: str, **extra) -> AppendResult:
        """One append in its own transaction (the sync API: no batch to wait for)."""
        future = asyncio.get_running_loop().create_future()
        (result,) = await self._commit_batch([PendingAppend(room, author, body, client_id, future, **extra)])
        if isinstance(result, BaseException):
            raise result
        return result

    def _batcher(self) -> AppendBatcher:
        loop = asyncio.get_running_loop()
        batcher = self._batchers.get(loop)
        if batcher is None:
            batcher = self._batchers[loop] = AppendBatcher(self._commit_batch, self.max_batch, self.commit_interval)
        return batcher

    async def _commit_batch(self, batch: list[PendingAppend]) -> list:
        return await self._writes.commit_batch(batch)

    # ================================================================ changes (ignite_changes)
    def _room_seq(self, room: object, seq: object) -> tuple[str, int]:
        return validate_room(room, self.limits.room_pattern), validate_seq(seq)

    async def _previewed(self, result: ChangeResult) -> ChangeResult:
        message = result.message
        if message.reply_to is None:
            return result
        (message,) = await self._reads.with_previews(message.room, [message])
        return dataclasses.replace(result, message=message)

    async def aedit(self, room: str, seq: int, body: str, client_id: str, *, author: str, window_seconds: int = -1,
                    mentions: tuple[str, ...] = (), mentions_room: bool = False,
                    notified: tuple[str, ...] = ()) -> ChangeResult:
        """Replace the body of `author`'s message `seq` (ChangeRefused: not_author, message_deleted,
        edit_window_closed, no_such_message); the same client id changes it once. The mentions are those of
        the new body, as for aappend: they replace the old ones (result.mentioned: the users newly named)."""
        room, seq = self._room_seq(room, seq)
        body, client_id = validate_body(body, self.limits.max_body_chars), validate_client_id(client_id)
        found = _valid_mentions(mentions, mentions_room, notified) if mentions or mentions_room else {}
        result = await self._changes.edit(room, seq, body, client_id, author=validate_author(author),
                                          window_seconds=int(window_seconds), **found)
        return await self._previewed(result)

    def edit(self, room: str, seq: int, body: str, client_id: str, *, author: str, window_seconds: int = -1,
             mentions: tuple[str, ...] = (), mentions_room: bool = False,
             notified: tuple[str, ...] = ()) -> ChangeResult:
        return self._sync(self.aedit(room, seq, body, client_id, author=author, window_seconds=window_seconds,
                                     mentions=mentions, mentions_room=mentions_room, notified=notified))

    async def adelete_own(self, room: str, seq: int, client_id: str, *, author: str) -> ChangeResult:
        """Tombstone `author`'s own message (ChangeRefused: not_author, no_such_message)."""
        room, seq = self._room_seq(room, seq)
        result = await self._changes.delete(room, seq, by=validate_author(author), own=True,
                                            client_id=validate_client_id(client_id))
        return await self._previewed(result)

    async def amoderate(self, room: str, seq: int, *, by: str) -> ChangeResult | None:
        """Tombstone any message (staff); None when it does not exist."""
        room, seq = self._room_seq(room, seq)
        try:
            return await self._changes.delete(room, seq, by=validate_author(by), own=False)
        except ChangeRefused as error:
            if error.code == "no_such_message":
                return None
            raise

    async def adelete(self, room: str, seq: int, *, by: str) -> Message | None:
        result = await self.amoderate(room, seq, by=by)
        return None if result is None else result.message

    def delete(self, room: str, seq: int, *, by: str) -> Message | None:
        return self._sync(self.adelete(room, seq, by=by))

    async def areact(self, room: str, seq: int, emoji: str, *, user: str, add: bool = True,
                     max_distinct: int = 20) -> ChangeResult:
        """Add (add=False: remove) `user`'s `emoji` on a message (ChangeRefused: too_many_reactions,
        message_deleted, no_such_message); changed=False when it was already so."""
        room, seq = self._room_seq(room, seq)
        result = await self._changes.react(room, seq, user=validate_author(user), emoji=validate_emoji(emoji),
                                           add=bool(add), max_distinct=int(max_distinct))
        return await self._previewed(result)

    def react(self, room: str, seq: int, emoji: str, *, user: str, add: bool = True,
              max_distinct: int = 20) -> ChangeResult:
        return self._sync(self.areact(room, seq, emoji, user=user, add=add, max_distinct=max_distinct))

    async def achanges(self, room: str, after_change: int, limit: int) -> ChangesPage:
        room, after_change = validate_room(room, self.limits.room_pattern), validate_seq(after_change, "after_change")
        return await self._reads.changes(room, after_change, validate_limit(limit, CATCHUP_LIMIT_MAX))

    def changes(self, room: str, after_change: int, limit: int) -> ChangesPage:
        return self._sync(self.achanges(room, after_change, limit))

    async def alast_change_seq(self, room: str) -> int:
        return await self._reads.last_change_seq(validate_room(room, self.limits.room_pattern))

    def last_change_seq(self, room: str) -> int:
        return self._sync(self.alast_change_seq(room))

    async def aversions(self, room: str, seq: int) -> list[Version]:
        room, seq = self._room_seq(room, seq)
        return await self._changes.versions(room, seq)

    def versions(self, room: str, seq: int) -> list[Version]:
        return self._sync(self.aversions(room, seq))

    async def aimport_message(self, message: Message) -> bool:
        """Store `message` as is (seq, id, created_at); raise the room counter; False when already stored."""
        room, seq = validate_room(message.room, self.limits.room_pattern), validate_seq(message.seq)
        if seq < 1:
            raise InvalidMessage("seq", "must be at least 1")
        author, client_id = validate_author(message.author), validate_client_id(message.client_id)
        body = "" if message.deleted else validate_body(message.body, self.limits.max_body_chars)
        if not isinstance(message.id, str) or not message.id:
            raise InvalidMessage("id", "must be a non-empty string")
        return await self._writes.import_message(Message(
            id=message.id, room=room, seq=seq, author=author, body=body, client_id=client_id,
            created_at=int(message.created_at), deleted=bool(message.deleted),
            edited_at=None if message.edited_at is None else int(message.edited_at),
            reply_to=None if message.reply_to is None else validate_seq(message.reply_to),
        ))

    def import_message(self, message: Message) -> bool:
        return self._sync(self.aimport_message(message))

    # ================================================================ reads
    async def aget(self, room: str, seq: int) -> Message | None:
        room, seq = validate_room(room, self.limits.room_pattern), validate_seq(seq)
        return await self._reads.get(room, seq)

    def get(self, room: str, seq: int) -> Message | None:
        return self._sync(self.aget(room, seq))

    async def alast_seq(self, room: str) -> int:
        return await self._reads.last_seq(validate_room(room, self.limits.room_pattern))

    def last_seq(self, room: str) -> int:
        return self._sync(self.alast_seq(room))

    async def alatest(self, room: str, limit: int) -> Page:
        limit = validate_limit(limit, self.limits.history_page_max)
        room = validate_room(room, self.limits.room_pattern)
        return await self._reads.latest(room, limit)

    def latest(self, room: str, limit: int) -> Page:
        return self._sync(self.alatest(room, limit))

    async def abefore(self, room: str, before_seq: int, limit: int) -> Page:
        room, before_seq = validate_room(room, self.limits.room_pattern), validate_seq(before_seq, "before")
        limit = validate_limit(limit, self.limits.history_page_max)
        return await self._reads.before(room, before_seq, limit)

    def before(self, room: str, before_seq: int, limit: int) -> Page:
        return self._sync(self.abefore(room, before_seq, limit))

    async def aaround(self, room: str, seq: int, limit: int) -> Page:
        room, seq = validate_room(room, self.limits.room_pattern), validate_seq(seq, "around")
        return await self._reads.around(room, seq, validate_limit(limit, self.limits.history_page_max))

    def around(self, room: str, seq: int, limit: int) -> Page:
        return self._sync(self.aaround(room, seq, limit))

    async def aget_many(self, room: str, seqs: list[int]) -> dict[int, Message]:
        room = validate_room(room, self.limits.room_pattern)
        return await self._reads.get_many(room, [validate_seq(seq) for seq in seqs])

    async def aafter(self, room: str, after_seq: int, limit: int) -> Page:
        room, after_seq = validate_room(room, self.limits.room_pattern), validate_seq(after_seq, "after")
        limit = validate_limit(limit, CATCHUP_LIMIT_MAX)
        return await self._reads.after(room, after_seq, limit)

    def after(self, room: str, after_seq: int, limit: int) -> Page:
        return self._sync(self.aafter(room, after_seq, limit))

    # ================================================================ search (ignite_search)
    async def asearch(self, rooms: list[str] | None, query: str, *, limit: int = 20, author: str | None = None,
                      since: int | None = None, until: int | None = None,
                      cursor: tuple[int, str, int] | None = None) -> SearchPage:
        """Matches of `query` in `rooms` (None: the SEARCH_ROOMS_MAX most recently active rooms, for staff),
        newest first; bounded by SEARCH_ROOMS_MAX, the page cap and the timeout."""
        parsed = parse_query(query)
        if rooms is None:
            rooms = await self._admin.active_rooms(SEARCH_ROOMS_MAX)
        if not isinstance(rooms, (list, tuple)) or len(rooms) > SEARCH_ROOMS_MAX:
            raise InvalidMessage("rooms", f"must be a list of at most {SEARCH_ROOMS_MAX} rooms")
        rooms = sorted({validate_room(room, self.limits.room_pattern) for room in rooms})
        limit = validate_limit(limit, SEARCH_PAGE_MAX)
        author = None if author is None else validate_author(author)
        since = None if since is None else validate_seq(since, "since")
        until = None if until is None else validate_seq(until, "until")
        if cursor is not None:
            if not isinstance(cursor, (list, tuple)) or len(cursor) != 3:
                raise InvalidMessage("cursor", "must be (created_at, room, seq)")
            cursor = (validate_seq(cursor[0], "cursor"), validate_room(cursor[1], self.limits.room_pattern),
                      validate_seq(cursor[2], "cursor"))
        if not rooms or (since is not None and until is not None and until <= since):
            return SearchPage([], None)
        search = self._search.search(rooms, parsed, limit=limit, author=author, since=since, until=until,
                                     cursor=cursor, time_limit=self.timeout / 2)
        try:
            # Past half the timeout a page ends early with a cursor; this is the hard stop.
            return await asyncio.wait_for(search, self.timeout)
        except TimeoutError as e:
            raise StoreUnavailable("the search took longer than the store's timeout") from e

    async def areindex_search(self, room: str | None = None) -> int:
        """Rebuild the search index of `room` (None: every room) from run 0 (search_reindex); how many
        messages were read. The newest, incomplete run is left to the search's scan."""
        if room is not None:
            rooms = [validate_room(room, self.limits.room_pattern)]
        else:
            rooms = [row[0] for row in await self._session.sql(f"SELECT ROOM FROM {self.schema.rooms_table}")]
        total = 0
        for name in rooms:
            total += await self._search_index.merge(name, rebuild=True)
        return total

    def reindex_search(self, room: str | None = None) -> int:
        return self._sync(self.areindex_search(room))

    def search(self, rooms: list[str] | None, query: str, *, limit: int = 20, author: str | None = None,
               since: int | None = None, until: int | None = None,
               cursor: tuple[int, str, int] | None = None) -> SearchPage:
        return self._sync(self.asearch(rooms, query, limit=limit, author=author, since=since, until=until,
                                       cursor=cursor))

    # ================================================================ admin
    async def arooms(self) -> list[RoomInfo]:
        """Every room with its message count and last activity, most recently active first."""
        return await self._admin.rooms()

    def rooms(self) -> list[RoomInfo]:
        return self._sync(self.arooms())

    async def arecent(self, limit: int, *, room: str | None = None, author: str | None = None,
                      before: tuple[int, str, int] | None = None) -> list[Message]:
        """Newest messages across rooms, keyset-paginated on (created_at, room, seq) descending."""
        return await self._admin.recent(limit, room=room, author=author, before=before)

    def recent(self, limit: int, *, room: str | None = None, author: str | None = None,
               before: tuple[int, str, int] | None = None) -> list[Message]:
        return self._sync(self.arecent(limit, room=room, author=author, before=before))

    def iter_messages(
        self, *, room: str | None = None, since: int | None = None, until: int | None = None
    ) -> Iterator[Message]:
        """Yield messages ordered by (room, seq), one keyset page of EXPORT_PAGE rows in memory at a time."""
        query, filter_args = self._queries.export(room=room, since=since, until=until)
        cursor_room, cursor_seq = "", 0
        while True:
            rows = self._sync(self._admin.export_page(query, [*filter_args, cursor_room, cursor_room, cursor_seq]))
            for row in rows:
                yield message_from_row(row)
            if len(rows) < EXPORT_PAGE:
                return
            cursor_room, cursor_seq = rows[-1][1], int(rows[-1][2])

    async def aprune(self, older_than: int, *, dry_run: bool = False) -> int:
        """Delete messages (and their idempotency keys) created before `older_than` epoch ms."""
        return await self._admin.prune(int(older_than), dry_run=dry_run)

    def prune(self, older_than: int, *, dry_run: bool = False) -> int:
        return self._sync(self.aprune(older_than, dry_run=dry_run))

    async def acluster_info(self) -> dict:
        """Nodes, state, baseline, caches, partition spread and health (see ignite_store.cluster_report)."""
        return await self._admin.cluster_info()

    def cluster_info(self) -> dict:
        return self._sync(self.acluster_info())

    # ================================================================ rooms and memberships (ignite_rooms)
    async def acreate_room(self, room: Room, members: dict[str, str]) -> tuple[Room, bool]:
        room = _valid_room(room, self.limits.room_pattern)
        members = {validate_author(user): validate_choice(role, "role", ROLES) for user, role in members.items()}
        return await self._rooms.create(room, members)

    async def aget_room(self, room: str) -> Room | None:
        return await self._rooms.get(validate_room(room, self.limits.room_pattern))

    async def aupdate_room(self, room: str, *, name: str | None = None, topic: str | None = None,
                           archived: bool | None = None) -> Room | None:
        changes: dict = {}
        if name is not None:
            changes["name"] = validate_room_name(name)
        if topic is not None:
            changes["topic"] = validate_topic(topic)
        if archived is not None:
            changes["archived"] = bool(archived)
        return await self._rooms.update(validate_room(room, self.limits.room_pattern), changes)

    async def alist_rooms(self, *, kind: str | None = None, search: str | None = None,
                          include_archived: bool = False, limit: int = 100) -> list[tuple[Room, int, int | None]]:
        if kind is not None:
            validate_choice(kind, "kind", ROOM_KINDS)
        if search is not None and (not isinstance(search, str) or len(search) > 80):
            raise InvalidMessage("search", "must be a string of at most 80 characters")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
            raise InvalidMessage("limit", "must be an integer from 1 to 10000")
        return await self._rooms.listing(kind=kind, search=search or None, include_archived=include_archived,
                                         limit=limit)

    async def amember_counts(self, rooms: list[str]) -> dict[str, int]:
        return await self._rooms.member_counts([validate_room(room, self.limits.room_pattern) for room in rooms])

    async def amembership(self, room: str, user: str) -> Membership | None:
        return await self._rooms.membership(validate_room(room, self.limits.room_pattern), validate_author(user))

    async def aaccess(self, room: str, user: str) -> tuple[Room | None, Membership | None]:
        return await self._rooms.access(validate_room(room, self.limits.room_pattern), validate_author(user))

    async def aadd_member(self, room: str, user: str, role: str = "member") -> MembershipChange:
        return await self._rooms.add_member(validate_room(room, self.limits.room_pattern), validate_author(user),
                                            validate_choice(role, "role", ROLES), now_ms())

    async def aremove_member(self, room: str, user: str) -> MembershipChange:
        return await self._rooms.remove_member(validate_room(room, self.limits.room_pattern), validate_author(user))

    async def aset_role(self, room: str, user: str, role: str) -> Membership | None:
        return await self._rooms.set_role(validate_room(room, self.limits.room_pattern), validate_author(user),
                                          validate_choice(role, "role", ROLES))

    async def aset_notify(self, room: str, user: str, level: str) -> Membership | None:
        return await self._rooms.set_notify(validate_room(room, self.limits.room_pattern), validate_author(user),
                                            validate_choice(level, "level", NOTIFY_LEVELS))

    async def amembers(self, room: str, limit: int = 1000) -> list[Membership]:
        return await self._rooms.members(validate_room(room, self.limits.room_pattern), int(limit))

    async def amembers_among(self, room: str, users: list[str]) -> set[str]:
        room = validate_room(room, self.limits.room_pattern)
        return await self._rooms.members_among(room, [validate_author(user) for user in users])

    async def aheads(self, room: str) -> tuple[int, int]:
        """(last seq, last change seq) of a room: one key read."""
        return await self._reads.heads(validate_room(room, self.limits.room_pattern))

    async def auser_rooms(self, user: str) -> list[MyRoom]:
        return await self._rooms.user_rooms(validate_author(user))

    async def amark_read(self, markers: dict[tuple[str, str], int]) -> dict[tuple[str, str], int]:
        valid = {(validate_room(room, self.limits.room_pattern), validate_author(user)): validate_seq(seq)
                 for (room, user), seq in markers.items()}
        return await self._rooms.mark_read(valid) if valid else {}

    async def amemberships_page(self, after: tuple[str, str] | None, limit: int) -> list[Membership]:
        return await self._rooms.all_memberships(after, int(limit))

    async def aimport_room(self, room: Room) -> bool:
        return await self._rooms.put_room(_valid_room(room, self.limits.room_pattern))

    async def aimport_membership(self, membership: Membership) -> bool:
        room = await self._rooms.get(validate_room(membership.room, self.limits.room_pattern))
        if room is None:
            raise InvalidMessage("room", "import the room before its memberships")
        validate_author(membership.user)
        validate_choice(membership.role, "role", ROLES)
        validate_choice(membership.notify, "notify", NOTIFY_LEVELS)
        validate_seq(membership.last_read_seq, "last_read_seq")
        return await self._rooms.import_membership(membership, room)

    # ================================================================ lifecycle
    def close(self) -> None:
        run_on_private_loops(self._pool.discard_aio)  # first: pool.close() forgets every loop's client
        self._pool.close()

    async def aclose(self) -> None:
        await self._search_index.drain()  # merges started by this loop's appends use its client
        run_on_private_loops(self._pool.discard_aio)
        await self._pool.aclose()


def _valid_room(room: Room, room_pattern: str) -> Room:
    """`room` with its fields validated (name and topic trimmed)."""
    validate_room(room.id, room_pattern)
    validate_choice(room.kind, "kind", ROOM_KINDS)
    validate_author(room.creator)
    if isinstance(room.created_at, bool) or not isinstance(room.created_at, int) or room.created_at < 0:
        raise InvalidMessage("created_at", "must be a non-negative integer")
    return Room(id=room.id, name=validate_room_name(room.name), kind=room.kind, topic=validate_topic(room.topic),
                creator=room.creator, created_at=room.created_at, archived=bool(room.archived))


def _valid_mentions(mentions: tuple[str, ...], mentions_room: bool, notified: tuple[str, ...]) -> dict:
    """The MENTIONS column and the users with a mention row, of a body's resolved mentions."""
    named = tuple(validate_author(user) for user in mentions)
    others = tuple(validate_author(user) for user in notified)
    return {"mentions": mentions_to_json(named, bool(mentions_room), others),
            "notified": tuple(sorted({*named, *others}))}
