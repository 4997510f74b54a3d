"""The store's SQL and the rules that turn rows into pages (no I/O).

Gap-free sequences make every history page an exact range [low, high] of the (ROOM, SEQ) primary-key
index. latest and after need the room counter too: it is read in the same statement (a LEFT JOIN from
the room's counter row, one row of NULL message columns when the range is empty), one round trip.
"""

from __future__ import annotations

import functools

from ..errors import InvalidMessage
from ..types import ChangesPage, Page
from ..validation import validate_room
from .ignite_codec import MESSAGE_COLUMNS, message_from_row
from .ignite_schema import Schema

CATCHUP_LIMIT_MAX = 10_000  # catch-up pages may be larger than history pages
PAGE_SIZE = CATCHUP_LIMIT_MAX + 1  # every page arrives in one response (no cursor left open)
EXPORT_PAGE = 1000
RECENT_MAX = 500

TABLES_SQL = "SELECT TABLE_NAME FROM SYS.TABLES WHERE SCHEMA_NAME = 'PUBLIC'"
INDEXES_SQL = "SELECT INDEX_NAME FROM SYS.INDEXES WHERE SCHEMA_NAME = 'PUBLIC'"
COLUMNS_SQL = "SELECT TABLE_NAME, COLUMN_NAME FROM SYS.TABLE_COLUMNS WHERE SCHEMA_NAME = 'PUBLIC'"
CLUSTER_VIEWS = {
    "nodes": "SELECT NODE_ID, CONSISTENT_ID, VERSION, IS_CLIENT, NODE_ORDER, ADDRESSES FROM SYS.NODES",
    "ports": "SELECT NODE_ID, VALUE FROM SYS.NODE_ATTRIBUTES WHERE NAME = 'clientListenerPort'",
    "metrics": "SELECT NODE_ID, UPTIME FROM SYS.NODE_METRICS",
    "baseline": "SELECT CONSISTENT_ID, ONLINE FROM SYS.BASELINE_NODES",
    "caches": (
        "SELECT CACHE_NAME, CACHE_GROUP_ID, CACHE_GROUP_NAME, CACHE_MODE, ATOMICITY_MODE, BACKUPS, "
        "WRITE_SYNCHRONIZATION_MODE, PARTITION_LOSS_POLICY, SQL_SCHEMA FROM SYS.CACHES WHERE CACHE_TYPE = 'USER'"
    ),
    "groups": "SELECT CACHE_GROUP_ID, CACHE_GROUP_NAME, PARTITIONS_COUNT, BACKUPS, CACHE_MODE FROM SYS.CACHE_GROUPS",
    "partitions": (
        "SELECT p.CACHE_GROUP_ID, p.PARTITION_ID, p.NODE_ID, p.STATE, p.IS_PRIMARY "
        "FROM SYS.PARTITION_STATES p WHERE p.CACHE_GROUP_ID IN "
        "(SELECT CACHE_GROUP_ID FROM SYS.CACHES WHERE CACHE_TYPE = 'USER')"
    ),
}


class Queries:
    """SQL statements for one schema (table prefix); room filters validated against `room_pattern`."""

    def __init__(self, schema: Schema, room_pattern: str):
        self.schema = schema
        self.room_pattern = room_pattern

    # ---------------------------------------------------------------- history pages
    @functools.cached_property
    def range(self) -> str:
        """args: room, low, high."""
        return (
            f"SELECT {MESSAGE_COLUMNS} FROM {self.schema.messages_table} "
            "WHERE ROOM = ? AND SEQ >= ? AND SEQ <= ? ORDER BY SEQ"
        )

    def _counted(self, low: str, high: str) -> str:
        columns = ", ".join(f"m.{name.strip()}" for name in MESSAGE_COLUMNS.split(","))
        return (
            f"SELECT {columns}, r.LAST_SEQ FROM {self.schema.rooms_table} r LEFT JOIN {self.schema.messages_table} m "
            f"ON m.ROOM = r.ROOM AND m.SEQ >= {low} AND m.SEQ <= {high} WHERE r.ROOM = ? ORDER BY m.SEQ"
        )

    @functools.cached_property
    def latest(self) -> str:
        """args: limit, room. The newest `limit` messages up to the counter."""
        return self._counted("r.LAST_SEQ + 1 - ?", "r.LAST_SEQ")

    @functools.cached_property
    def after(self) -> str:
        """args: after_seq + 1, after_seq + limit, room."""
        return self._counted("?", "LEAST(r.LAST_SEQ, ?)")

    @functools.cached_property
    def around(self) -> str:
        """args: around_args(seq, limit) + [room]. `limit` messages centred on seq, shifted to fit [1, last]."""
        low = "GREATEST(1, LEAST(?, r.LAST_SEQ + 1 - ?))"
        return self._counted(low, f"LEAST(r.LAST_SEQ, {low} + ? - 1)")

    @functools.cached_property
    def changes(self) -> str:
        """args: room, after_change, upto. Messages changed in (after_change, upto], by the (ROOM, CHANGE_SEQ) index.

        A range, not `CHANGE_SEQ > ? ORDER BY CHANGE_SEQ LIMIT ?`: Ignite's H2 reads and sorts every row
        after the cursor before it applies a LIMIT (LIMIT 1 after 1,000 changes took 2.5-11 ms against
        0.3 ms for the last one), so each page of a long catch-up would read the whole rest of the log.
        Change seqs are gap-free and a message holds only its latest, so the range holds at most
        upto - after_change rows. Not joined to the counter like latest/after: the LEFT JOIN cost 2.6x
        the plain range (126 against 48 ms for 200 rows, measured side by side); the head is one key
        read before it (Reads.changes)."""
        return (
            f"SELECT {MESSAGE_COLUMNS} FROM {self.schema.messages_table} "
            "WHERE ROOM = ? AND CHANGE_SEQ > ? AND CHANGE_SEQ <= ? ORDER BY CHANGE_SEQ"
        )

    # ---------------------------------------------------------------- admin
    def recent(self, limit: int, *, room: str | None, author: str | None,
               before: tuple[int, str, int] | None) -> tuple[str, list]:
        """Newest messages across rooms, keyset-paginated on (created_at, room, seq) descending."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= RECENT_MAX:
            raise InvalidMessage("limit", f"must be an integer from 1 to {RECENT_MAX}")
        where: list[str] = []
        args: list[object] = []
        if room:
            where.append("ROOM = ?")
            args.append(validate_room(room, self.room_pattern))
        if author:
            where.append("AUTHOR = ?")
            args.append(str(author))
        if before is not None:
            at, cursor_room, cursor_seq = int(before[0]), str(before[1]), int(before[2])
            where.append("(CREATED_AT < ? OR (CREATED_AT = ? AND (ROOM < ? OR (ROOM = ? AND SEQ < ?))))")
            args += [at, at, cursor_room, cursor_room, cursor_seq]
        clause = f"WHERE {' AND '.join(where)} " if where else ""
        query = (
            f"SELECT {MESSAGE_COLUMNS} FROM {self.schema.messages_table} {clause}"
            "ORDER BY CREATED_AT DESC, ROOM DESC, SEQ DESC LIMIT ?"
        )
        return query, [*args, limit]

    def export(self, *, room: str | None, since: int | None, until: int | None) -> tuple[str, list]:
        """One keyset page ordered by (room, seq); append (cursor room, cursor room, cursor seq) to the args."""
        filters: list[str] = []
        args: list[object] = []
        if room is not None:
            filters.append("ROOM = ?")
            args.append(validate_room(room, self.room_pattern))
        if since is not None:
            filters.append("CREATED_AT >= ?")
            args.append(int(since))
        if until is not None:
            filters.append("CREATED_AT < ?")
            args.append(int(until))
        query = (
            f"SELECT {MESSAGE_COLUMNS} FROM {self.schema.messages_table} "
            f"WHERE {' AND '.join([*filters, '(ROOM > ? OR (ROOM = ? AND SEQ > ?))'])} "
            f"ORDER BY ROOM, SEQ LIMIT {EXPORT_PAGE}"
        )
        return query, args


# ---------------------------------------------------------------- rows -> pages


def before_range(before_seq: int, limit: int) -> tuple[int, int] | None:
    """[low, high] of the page before `before_seq`, or None when it is empty."""
    low, high = max(1, before_seq - limit), before_seq - 1
    return None if high < low else (low, high)


def range_page(rows: list[list], low: int) -> Page:
    """A before page from Queries.range rows; older messages exist when the range did not start at 1."""
    return Page([message_from_row(row) for row in rows], has_more=bool(rows) and low > 1)


def latest_page(rows: list[list], limit: int) -> Page:
    """A latest page from Queries.latest rows: the range was [max(1, last + 1 - limit), last]."""
    if not rows or rows[0][2] is None:  # no counter (no room), or nothing in the range
        return Page([], has_more=False)
    last = rows[0][-1] or 0
    return Page([message_from_row(row[:-1]) for row in rows], has_more=last + 1 - limit > 1)


def after_page(rows: list[list], after_seq: int, limit: int) -> Page:
    """An after page from Queries.after rows: the range was [after_seq + 1, min(last, after_seq + limit)]."""
    last = (rows[0][-1] or 0) if rows else 0
    high = min(last, after_seq + limit)
    if high <= after_seq:
        return Page([], has_more=False)
    messages = [message_from_row(row[:-1]) for row in rows] if rows[0][2] is not None else []
    return Page(messages, has_more=high < last)


def around_args(seq: int, limit: int) -> list[int]:
    """The arguments of Queries.around before the room: the window starts limit // 2 before seq."""
    start = seq - limit // 2
    return [start, limit, start, limit, limit]


def around_page(rows: list[list]) -> Page:
    """A page around a seq from Queries.around rows; has_more: older exist; has_newer: newer exist."""
    if not rows or rows[0][2] is None:
        return Page([], has_more=False)
    last = rows[0][-1] or 0
    messages = [message_from_row(row[:-1]) for row in rows]
    return Page(messages, has_more=messages[0].seq > 1, has_newer=messages[-1].seq < last)


def changes_upto(after_change: int, limit: int, head: int) -> int:
    """The last change seq of the page after `after_change` (the head read before it bounds it)."""
    return max(after_change, min(after_change + limit, head))


def changes_page(rows: list[list], upto: int, head: int) -> ChangesPage:
    """A page of Queries.changes rows over (after_change, upto], with the change head read before."""
    return ChangesPage([message_from_row(row) for row in rows], has_more=upto < head, last_change_seq=head,
                       upto=upto)
