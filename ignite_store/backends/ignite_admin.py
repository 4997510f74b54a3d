"""Admin half of the Ignite backend: cross-room listings, export/import, retention, cluster health.

Mixed into IgniteMessageStore, which provides _sql, _run, _client, _translate,
_message_from_row, MESSAGE_COLUMNS and the table/cache names. Everything here is sync:
it serves admin views and management commands, never the consumers.
"""

from __future__ import annotations

from collections.abc import Iterator

from pyignite.datatypes.transactions import TransactionConcurrency, TransactionIsolation

from ..cluster_report import build_report
from ..errors import InvalidMessage, StoreError
from ..types import Message, RoomInfo
from ..validation import validate_author, validate_body, validate_client_id, validate_room, validate_seq
from .ignite_client import IdempotencyKey, IdempotencyValue, MessageKey, MessageValue, RoomValue

EXPORT_PAGE = 1000
RECENT_MAX = 500
_TX = (TransactionConcurrency.PESSIMISTIC, TransactionIsolation.REPEATABLE_READ)


class IgniteAdminMixin:
    """rooms, recent, iter_messages, import_message, prune and cluster_info for IgniteMessageStore."""

    # ---------------------------------------------------------------- listings
    def rooms(self) -> list[RoomInfo]:
        """Every room with its stored message count (tombstones included) and last activity."""
        counters = self._sql(f"SELECT ROOM, LAST_SEQ, LAST_AT FROM {self.rooms_table}")
        counts = dict(self._sql(f"SELECT ROOM, COUNT(*) FROM {self.messages_table} GROUP BY ROOM"))
        rooms = [
            RoomInfo(
                room=room,
                last_seq=int(last_seq or 0),
                message_count=int(counts.get(room, 0)),
                last_activity=int(last_at) if last_at is not None and last_seq else None,
            )
            for room, last_seq, last_at in counters
        ]
        rooms.sort(key=lambda info: (info.last_activity or 0, info.room), reverse=True)
        return rooms

    def recent(
        self,
        limit: int,
        *,
        room: str | None = None,
        author: str | None = None,
        search: str | None = None,
        before: tuple[int, str, int] | None = None,
    ) -> list[Message]:
        """Newest messages across rooms, keyset-paginated on (created_at, room, seq) descending."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= RECENT_MAX:
            raise InvalidMessage("limit", f"must be an integer from 1 to {RECENT_MAX}")
        where: list[str] = []
        args: list[object] = []
        if room:
            where.append("ROOM = ?")
            args.append(validate_room(room, self.limits.room_pattern))
        if author:
            where.append("AUTHOR = ?")
            args.append(str(author))
        if search:
            # LOCATE rather than LIKE: Ignite's query splitter refuses LIKE ... ESCAPE, and LOCATE needs no escaping.
            where.append("LOCATE(?, LOWER(BODY)) > 0")
            args.append(search.lower())
        if before is not None:
            at, cursor_room, cursor_seq = int(before[0]), str(before[1]), int(before[2])
            where.append("(CREATED_AT < ? OR (CREATED_AT = ? AND (ROOM < ? OR (ROOM = ? AND SEQ < ?))))")
            args += [at, at, cursor_room, cursor_room, cursor_seq]
        clause = f"WHERE {' AND '.join(where)} " if where else ""
        rows = self._sql(
            f"SELECT {self.MESSAGE_COLUMNS} FROM {self.messages_table} {clause}"
            "ORDER BY CREATED_AT DESC, ROOM DESC, SEQ DESC LIMIT ?",
            [*args, limit],
        )
        return [self._message_from_row(row) for row in rows]

    def iter_messages(
        self, *, room: str | None = None, since: int | None = None, until: int | None = None
    ) -> Iterator[Message]:
        """Yield messages ordered by (room, seq), one keyset page of EXPORT_PAGE rows in memory at a time."""
        filters: list[str] = []
        filter_args: list[object] = []
        if room is not None:
            filters.append("ROOM = ?")
            filter_args.append(validate_room(room, self.limits.room_pattern))
        if since is not None:
            filters.append("CREATED_AT >= ?")
            filter_args.append(int(since))
        if until is not None:
            filters.append("CREATED_AT < ?")
            filter_args.append(int(until))
        query = (
            f"SELECT {self.MESSAGE_COLUMNS} FROM {self.messages_table} "
            f"WHERE {' AND '.join([*filters, '(ROOM > ? OR (ROOM = ? AND SEQ > ?))'])} "
            f"ORDER BY ROOM, SEQ LIMIT {EXPORT_PAGE}"
        )
        cursor_room, cursor_seq = "", 0
        while True:
            rows = self._sql(query, [*filter_args, cursor_room, cursor_room, cursor_seq])
            for row in rows:
                yield self._message_from_row(row)
            if len(rows) < EXPORT_PAGE:
                return
            cursor_room, cursor_seq = rows[-1][1], int(rows[-1][2])

    # ---------------------------------------------------------------- import
    def import_message(self, message: Message) -> bool:
        """Store `message` as is (seq, id, created_at); raise the room counter; False when already stored."""
        room, seq = validate_room(message.room, self.limits.room_pattern), validate_seq(message.seq)
        if seq < 1:
            raise InvalidMessage("seq", "must be at least 1")
        author, client_id = validate_author(message.author), validate_client_id(message.client_id)
        body = "" if message.deleted else validate_body(message.body, self.limits.max_body_chars)
        if not isinstance(message.id, str) or not message.id:
            raise InvalidMessage("id", "must be a non-empty string")
        created_at = int(message.created_at)

        def operation(client):
            messages = client.get_cache(self.messages_cache)
            rooms = client.get_cache(self.rooms_cache)
            idempotency = client.get_cache(self.idempotency_cache)
            key = MessageKey(ROOM=room, SEQ=seq)
            with client.tx_start(*_TX, timeout=int(self.timeout * 1000)) as tx:
                counter = rooms.get(room)  # the counter's lock first, as every append takes it: no deadlock
                created = messages.get(key) is None
                if created:
                    messages.put(
                        key,
                        MessageValue(
                            ID=message.id, AUTHOR=author, BODY=body, CLIENT_ID=client_id,
                            CREATED_AT=created_at, DELETED=bool(message.deleted), DELETED_BY=None,
                        ),
                    )
                # Done even for an existing message, so a re-run repairs a counter left behind.
                if counter is None or counter.LAST_SEQ < seq:
                    last_at = max(created_at, counter.LAST_AT or 0) if counter is not None else created_at
                    rooms.put(room, RoomValue(LAST_SEQ=seq, LAST_AT=last_at))
                idem_key = IdempotencyKey(ROOM=room, CLIENT_ID=client_id)
                if idempotency.get(idem_key) is None:
                    idempotency.put(idem_key, IdempotencyValue(SEQ=seq))
                tx.commit()
            return created

        # Safe to retry: the existence check makes a replayed import a no-op.
        return self._run(operation, retry=True)

    # ---------------------------------------------------------------- retention
    def prune(self, older_than: int, *, dry_run: bool = False) -> int:
        """Delete messages (and their idempotency keys) created before `older_than` epoch ms."""
        older_than = int(older_than)
        per_room = self._sql(
            f"SELECT ROOM, COUNT(*) FROM {self.messages_table} WHERE CREATED_AT < ? GROUP BY ROOM", [older_than]
        )
        total = sum(int(count) for _, count in per_room)
        if dry_run:
            return total
        # Room by room so each statement stays inside one affinity partition. Room counters stay:
        # sequences never go backwards, and clients tell pruned history from a gap by `before`.
        for room, _ in per_room:
            self._sql(
                f"DELETE FROM {self.idempotency_table} WHERE ROOM = ? AND SEQ IN "
                f"(SELECT SEQ FROM {self.messages_table} WHERE ROOM = ? AND CREATED_AT < ?)",
                [room, room, older_than],
            )
            self._sql(f"DELETE FROM {self.messages_table} WHERE ROOM = ? AND CREATED_AT < ?", [room, older_than])
        return total

    # ---------------------------------------------------------------- cluster
    def cluster_info(self) -> dict:
        """Nodes, state, baseline, caches, partition spread and health (see ignite_store.cluster_report)."""

        def cluster_state(client):
            return int(client.get_cluster().get_state())

        state = self._run(cluster_state, retry=True)
        views = {
            "nodes": self._sql(
                "SELECT NODE_ID, CONSISTENT_ID, VERSION, IS_CLIENT, NODE_ORDER, ADDRESSES FROM SYS.NODES"
            ),
            "ports": self._sql(
                "SELECT NODE_ID, VALUE FROM SYS.NODE_ATTRIBUTES WHERE NAME = 'clientListenerPort'"
            ),
            "metrics": self._sql("SELECT NODE_ID, UPTIME FROM SYS.NODE_METRICS"),
            "baseline": self._sql("SELECT CONSISTENT_ID, ONLINE FROM SYS.BASELINE_NODES"),
            "caches": self._sql(
                "SELECT CACHE_NAME, CACHE_GROUP_ID, CACHE_GROUP_NAME, CACHE_MODE, ATOMICITY_MODE, BACKUPS, "
                "WRITE_SYNCHRONIZATION_MODE, PARTITION_LOSS_POLICY, SQL_SCHEMA FROM SYS.CACHES "
                "WHERE CACHE_TYPE = 'USER'"
            ),
            "groups": self._sql(
                "SELECT CACHE_GROUP_ID, CACHE_GROUP_NAME, PARTITIONS_COUNT, BACKUPS, CACHE_MODE FROM SYS.CACHE_GROUPS"
            ),
            "partitions": self._sql(
                "SELECT p.CACHE_GROUP_ID, p.PARTITION_ID, p.NODE_ID, p.STATE, p.IS_PRIMARY "
                "FROM SYS.PARTITION_STATES p WHERE p.CACHE_GROUP_ID IN "
                "(SELECT CACHE_GROUP_ID FROM SYS.CACHES WHERE CACHE_TYPE = 'USER')"
            ),
        }
        try:
            # Two plain counts: COUNT(DISTINCT ...) beside COUNT(*) trips Ignite's distributed query splitter.
            total = self._sql(f"SELECT COUNT(*) FROM {self.messages_table}")[0][0]
            rooms = self._sql(f"SELECT COUNT(*) FROM {self.rooms_table}")[0][0]
            messages: dict[str, object] = {"total": int(total), "rooms": int(rooms), "error": None}
        except StoreError as exc:
            # Lost partitions or a missing schema make counting fail; that is a finding, not an outage.
            messages = {"total": None, "rooms": None, "error": str(exc)}
        return build_report(state=state, views=views, messages=messages, chat_caches=self._chat_caches())

    def _chat_caches(self) -> list[str]:
        return [self.messages_cache, self.rooms_cache, self.idempotency_cache]
