"""Admin operations of the Ignite backend: schema, cross-room listings, export pages, retention, cluster health.

They serve admin views and management commands through the store's sync API, never the consumers.
"""

from __future__ import annotations

from ..cluster_report import build_report
from ..errors import StoreError
from ..types import Message, RoomInfo
from .ignite_codec import message_from_row
from .ignite_queries import CLUSTER_VIEWS, COLUMNS_SQL, INDEXES_SQL, TABLES_SQL, Queries
from .ignite_search_index import DIRTY, run_of
from .ignite_session import IgniteSession


class Admin:
    """ensure/check schema, rooms, recent, export pages, prune and cluster_info."""

    def __init__(self, session: IgniteSession, queries: Queries):
        self.session = session
        self.queries = queries
        self.schema = queries.schema

    # ---------------------------------------------------------------- schema
    async def ensure_schema(self) -> list[str]:
        """Create the missing tables, columns and indexes; return their names (columns as TABLE.COLUMN)."""
        missing = set(await self.missing_tables_and_indexes())
        tables = self.schema.tables()
        for name, ddl in tables.items():
            if name in missing:
                await self.session.sql(ddl)
        # Columns before indexes: the change index is on a column that older tables lack.
        for table, columns in self.schema.added_columns().items():
            for column, sql_type in columns:
                if f"{table}.{column}" in missing:
                    await self.session.sql(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {sql_type}")
        indexes = self.schema.indexes()
        for name, ddl in indexes.items():
            if name in missing:
                await self.session.sql(ddl)
        return [name for name in [*tables, *self._column_names(), *indexes] if name in missing]

    def _column_names(self) -> list[str]:
        return [f"{table}.{column}" for table, columns in self.schema.added_columns().items() for column, _ in columns]

    async def missing_tables_and_indexes(self) -> list[str]:
        """Names of the schema's tables, added columns (TABLE.COLUMN) and indexes that do not exist."""
        tables = {row[0] for row in await self.session.sql(TABLES_SQL)}
        indexes = {row[0] for row in await self.session.sql(INDEXES_SQL)}
        columns = {f"{table}.{column}" for table, column in await self.session.sql(COLUMNS_SQL)}
        missing = [name for name in self.schema.tables() if name not in tables]
        missing += [name for name in self._column_names() if name not in columns]
        missing += [name for name in self.schema.indexes() if name not in indexes]
        return missing

    # ---------------------------------------------------------------- listings
    async def rooms(self) -> list[RoomInfo]:
        """Every room with its stored message count (tombstones included) and last activity."""
        counters = await self.session.sql(f"SELECT ROOM, LAST_SEQ, LAST_AT FROM {self.schema.rooms_table}")
        counts = dict(await self.session.sql(f"SELECT ROOM, COUNT(*) FROM {self.schema.messages_table} GROUP BY ROOM"))
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

    async def active_rooms(self, limit: int) -> list[str]:
        """The `limit` most recently active rooms (by their counters)."""
        rows = await self.session.sql(
            f"SELECT ROOM FROM {self.schema.rooms_table} ORDER BY LAST_AT DESC LIMIT ?", [limit]
        )
        return [row[0] for row in rows]

    async def recent(self, limit: int, *, room: str | None, author: str | None,
                     before: tuple[int, str, int] | None) -> list[Message]:
        """Newest messages across rooms (Queries.recent)."""
        query, args = self.queries.recent(limit, room=room, author=author, before=before)
        return [message_from_row(row) for row in await self.session.sql(query, args)]

    async def export_page(self, query: str, args: list) -> list[list]:
        """One keyset page of Queries.export rows."""
        return await self.session.sql(query, args)

    # ---------------------------------------------------------------- retention
    async def prune(self, older_than: int, *, dry_run: bool) -> int:
        """Delete messages (and their idempotency keys, versions and mention rows) created before `older_than`."""
        messages, keys = self.schema.messages_table, self.schema.idempotency_table
        per_room = await self.session.sql(
            f"SELECT ROOM, COUNT(*) FROM {messages} WHERE CREATED_AT < ? GROUP BY ROOM", [older_than]
        )
        total = sum(int(count) for _, count in per_room)
        if dry_run:
            return total
        # Room by room so each statement stays inside one affinity partition. Room counters stay:
        # sequences never go backwards, and clients tell pruned history from a gap by `before`.
        for room, _ in per_room:
            for table in (keys, self.schema.versions_table, self.schema.mentions_table):
                await self.session.sql(
                    f"DELETE FROM {table} WHERE ROOM = ? AND SEQ IN "
                    f"(SELECT SEQ FROM {messages} WHERE ROOM = ? AND CREATED_AT < ?)",
                    [room, room, older_than],
                )
            await self.session.sql(f"DELETE FROM {messages} WHERE ROOM = ? AND CREATED_AT < ?", [room, older_than])
            # The search rows below the room's first remaining message: the filter rows of the runs now empty
            # (a run partly pruned keeps its row, which only costs a scan) and the dirty seqs; the watermark
            # stays.
            first = (await self.session.sql(f"SELECT MIN(SEQ) FROM {messages} WHERE ROOM = ?", [room]))[0][0]
            first = int(first) if first is not None else 2**62
            await self.session.sql(f"DELETE FROM {self.schema.search_runs_table} WHERE ROOM = ? AND RUN < ?",
                                   [room, run_of(first)])
            await self.session.sql(
                f"DELETE FROM {self.schema.search_dirty_table} WHERE ROOM = ? AND TERM = ? AND BLOCK < ?",
                [room, DIRTY, first])
        return total

    # ---------------------------------------------------------------- cluster
    async def cluster_info(self) -> dict:
        """Nodes, state, baseline, caches, partition spread and health (see ignite_store.cluster_report)."""

        async def cluster_state(client):
            return int(await client.get_cluster().get_state())

        state = await self.session.run(cluster_state, retry=True)
        # The partition view has a row per partition copy of every cache (tens of thousands): an admin
        # read, given longer than a chat operation.
        slow = max(30.0, 6 * self.session.timeout)
        views = {name: await self.session.sql(query, time_limit=slow) for name, query in CLUSTER_VIEWS.items()}
        try:
            # Two plain counts: COUNT(DISTINCT ...) beside COUNT(*) trips Ignite's distributed query splitter.
            total = (await self.session.sql(f"SELECT COUNT(*) FROM {self.schema.messages_table}"))[0][0]
            rooms = (await self.session.sql(f"SELECT COUNT(*) FROM {self.schema.rooms_table}"))[0][0]
            messages: dict[str, object] = {"total": int(total), "rooms": int(rooms), "error": None}
        except StoreError as exc:
            # Lost partitions or a missing schema make counting fail; that is a finding, not an outage.
            messages = {"total": None, "rooms": None, "error": str(exc)}
        chat_caches = [self.schema.messages_cache, self.schema.rooms_cache, self.schema.idempotency_cache]
        return build_report(state=state, views=views, messages=messages, chat_caches=chat_caches)
