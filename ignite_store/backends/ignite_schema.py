"""The chat schema in Ignite: three transactional, room-affine SQL tables.

- <P>_MESSAGES (ROOM, SEQ) -> message: the history; primary-key index (ROOM, SEQ) serves
  every page query as a range scan; extra indexes serve the admin's cross-room views.
- <P>_ROOMS ROOM -> (LAST_SEQ, LAST_AT): the room's sequence counter.
- <P>_IDEMPOTENCY (ROOM, CLIENT_ID) -> SEQ: one row per stored client id (edits and deletes too,
  under a prefixed client id, with the CHANGE_SEQ they were given).
- <P>_SEARCH_RUNS (ROOM, RUN) -> W0..W127: the search index (ignite_search_index.py): one row per run of 64
  seqs of a room, a Bloom filter of its terms in 128 BIGINT columns that SQL tests with BITAND; merged off the
  append path, ATOMIC (no transaction writes it). <P>_SEARCH_DIRTY (ROOM, '\x01', SEQ) -> change id: the seqs
  edited or imported since their run was merged, written in the edit's (import's) transaction, and per room
  the watermark (ROOM, '', -1) -> the number of runs indexed. Earlier versions' <P>_SEARCH (ROOM, TERM, SEQ)
  and <P>_SEARCH_BLOCKS (ROOM, TERM, BLOCK) are no longer written or read; a deployment made before may
  drop them.

All three use the room as affinity key, so one room's counter, messages and idempotency
keys sit in one partition and an append's transaction touches one primary node.

The change log (issue 13): LAST_CHANGE_SEQ on the room counter, CHANGE_SEQ (indexed with the room),
EDITED_AT, REPLY_TO, REACTIONS and MENTIONS on the message; <P>_VERSIONS (ROOM, SEQ, VERSION) keeps
replaced bodies (room affinity); <P>_USER_MENTIONS (USERNAME, ROOM, SEQ) has one row per mentioned
member (user affinity, beside the user's read markers). Deployments made before it get the columns
from `ignite_init` (ALTER TABLE ... ADD COLUMN IF NOT EXISTS, `added_columns`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TABLE_PREFIX = re.compile(r"^[A-Z][A-Z0-9_]{0,30}$")  # also checked by ignite_store.checks
# Both trees of <P>_SEARCH_RUNS (the primary key and Ignite's AFFINITY_KEY index, which it adds to every table
# with an affinity column and which repeats the key's columns) compare (ROOM, RUN) within the inlined bytes;
# with Ignite's default of 29 a long room id does not fit, and every comparison read the row from its page.
SEARCH_INLINE_BYTES = 64
SEARCH_FILTER_WORDS = 128  # the filter columns W0..W127 of <P>_SEARCH_RUNS (ignite_search_index)


@dataclass(frozen=True)
class Schema:
    """Table, cache and index names for one table prefix."""

    prefix: str
    backups: int

    def __post_init__(self):
        if not TABLE_PREFIX.fullmatch(self.prefix):
            raise ValueError(f"table_prefix must match {TABLE_PREFIX.pattern}, got {self.prefix!r}")
        if isinstance(self.backups, bool) or not isinstance(self.backups, int) or self.backups < 0:
            raise ValueError(f"backups must be a non-negative integer, got {self.backups!r}")

    @property
    def messages_table(self) -> str:
        return f"{self.prefix}_MESSAGES"

    @property
    def rooms_table(self) -> str:
        return f"{self.prefix}_ROOMS"

    @property
    def idempotency_table(self) -> str:
        return f"{self.prefix}_IDEMPOTENCY"

    @property
    def search_runs_table(self) -> str:
        return f"{self.prefix}_SEARCH_RUNS"

    @property
    def search_runs_cache(self) -> str:
        return f"{self.prefix.lower()}_search_runs"

    @property
    def search_dirty_table(self) -> str:
        return f"{self.prefix}_SEARCH_DIRTY"

    @property
    def search_dirty_cache(self) -> str:
        return f"{self.prefix.lower()}_search_dirty"

    @property
    def messages_cache(self) -> str:
        return f"{self.prefix.lower()}_messages"

    @property
    def rooms_cache(self) -> str:
        return f"{self.prefix.lower()}_rooms"

    @property
    def idempotency_cache(self) -> str:
        return f"{self.prefix.lower()}_idempotency"

    def _with(self, cache: str, *, key_type: str | None, value_type: str | None, affinity: bool | str,
              atomic: bool = False) -> str:
        parts = [
            "template=partitioned",
            f"backups={self.backups}",
            f"atomicity={'atomic' if atomic else 'transactional'}",
            "write_synchronization_mode=full_sync",
            f"cache_name={cache}",
        ]
        if value_type:
            parts.append(f"value_type={value_type}")
        if key_type:
            parts.append(f"key_type={key_type}")
        if affinity:
            parts.append(f"affinity_key={'ROOM' if affinity is True else affinity}")
        return ",".join(parts)

    def tables(self) -> dict[str, str]:
        """CREATE TABLE statements by table name."""
        return {
            self.messages_table: (
                f"CREATE TABLE IF NOT EXISTS {self.messages_table} ("
                "ROOM VARCHAR, SEQ BIGINT, ID VARCHAR, AUTHOR VARCHAR, BODY VARCHAR, CLIENT_ID VARCHAR, "
                "CREATED_AT BIGINT, DELETED BOOLEAN, DELETED_BY VARCHAR, CHANGE_SEQ BIGINT, EDITED_AT BIGINT, "
                "REPLY_TO BIGINT, REACTIONS VARCHAR, MENTIONS VARCHAR, PRIMARY KEY (ROOM, SEQ)) "
                f'WITH "{self._with(self.messages_cache, key_type="ChatMessageKey", value_type="ChatMessage", affinity=True)}"'  # noqa: E501
            ),
            self.rooms_table: (
                f"CREATE TABLE IF NOT EXISTS {self.rooms_table} ("
                "ROOM VARCHAR PRIMARY KEY, LAST_SEQ BIGINT, LAST_AT BIGINT, LAST_CHANGE_SEQ BIGINT) "
                f'WITH "{self._with(self.rooms_cache, key_type=None, value_type="ChatRoom", affinity=False)}"'
            ),
            self.idempotency_table: (
                f"CREATE TABLE IF NOT EXISTS {self.idempotency_table} ("
                "ROOM VARCHAR, CLIENT_ID VARCHAR, SEQ BIGINT, CHANGE_SEQ BIGINT, PRIMARY KEY (ROOM, CLIENT_ID)) "
                f'WITH "{self._with(self.idempotency_cache, key_type="ChatIdempotencyKey", value_type="ChatIdempotency", affinity=True)}"'  # noqa: E501
            ),
            self.search_runs_table: (
                f"CREATE TABLE IF NOT EXISTS {self.search_runs_table} (ROOM VARCHAR, RUN BIGINT, "
                + "".join(f"W{i} BIGINT, " for i in range(SEARCH_FILTER_WORDS)) + "PRIMARY KEY (ROOM, RUN)) "
                f'WITH "{self._with(self.search_runs_cache, key_type="ChatSearchRunKey", value_type="ChatSearchRun", affinity=True, atomic=True)},'  # noqa: E501
                f'PK_INLINE_SIZE={SEARCH_INLINE_BYTES},AFFINITY_INDEX_INLINE_SIZE={SEARCH_INLINE_BYTES}"'
            ),
            self.search_dirty_table: (
                f"CREATE TABLE IF NOT EXISTS {self.search_dirty_table} ("
                "ROOM VARCHAR, TERM VARCHAR, BLOCK BIGINT, MARK BIGINT, PRIMARY KEY (ROOM, TERM, BLOCK)) "
                f'WITH "{self._with(self.search_dirty_cache, key_type="ChatSearchBlockKey", value_type=None, affinity=True)},'  # noqa: E501
                'wrap_value=false"'
            ),
            **self.room_tables(),
            **self.change_tables(),
        }

    # ---------------------------------------------------------------- change log (issue 13)
    @property
    def versions_table(self) -> str:
        return self.table("VERSIONS")

    @property
    def versions_cache(self) -> str:
        return self.cache("VERSIONS")

    @property
    def mentions_table(self) -> str:
        return self.table("USER_MENTIONS")

    @property
    def mentions_cache(self) -> str:
        return self.cache("USER_MENTIONS")

    def change_tables(self) -> dict[str, str]:
        with_versions = self._with(self.versions_cache, key_type="ChatVersionKey", value_type="ChatVersion",
                                   affinity=True)
        with_mentions = self._with(self.mentions_cache, key_type="ChatMentionKey", value_type="ChatMention",
                                   affinity="USERNAME")
        return {
            self.versions_table: (
                f"CREATE TABLE IF NOT EXISTS {self.versions_table} (ROOM VARCHAR, SEQ BIGINT, VERSION BIGINT, "
                f'BODY VARCHAR, EDITED_AT BIGINT, PRIMARY KEY (ROOM, SEQ, VERSION)) WITH "{with_versions}"'
            ),
            self.mentions_table: (
                f"CREATE TABLE IF NOT EXISTS {self.mentions_table} (USERNAME VARCHAR, ROOM VARCHAR, SEQ BIGINT, "
                f'AT BIGINT, PRIMARY KEY (USERNAME, ROOM, SEQ)) WITH "{with_mentions}"'
            ),
        }

    def added_columns(self) -> dict[str, list[tuple[str, str]]]:
        """Columns added to tables created before the change log: (name, SQL type) by table."""
        return {
            self.messages_table: [("CHANGE_SEQ", "BIGINT"), ("EDITED_AT", "BIGINT"), ("REPLY_TO", "BIGINT"),
                                  ("REACTIONS", "VARCHAR"), ("MENTIONS", "VARCHAR")],
            self.rooms_table: [("LAST_CHANGE_SEQ", "BIGINT")],
            self.idempotency_table: [("CHANGE_SEQ", "BIGINT")],
        }

    # ---------------------------------------------------------------- rooms and memberships
    # <P>_ROOM_INFO ROOM -> settings: same key as the counter, so the two sit in one partition.
    # <P>_MEMBERS (ROOM, USERNAME), affinity ROOM: a room's members in one partition.
    # <P>_USER_ROOMS (USERNAME, ROOM), affinity USERNAME: one user's rooms and read markers in
    # one partition, with a copy of each room's settings, so a user's room list is one
    # single-partition query (plus the counters). Both membership rows are written in one transaction.
    def table(self, name: str) -> str:
        return f"{self.prefix}_{name}"

    def cache(self, name: str) -> str:
        return f"{self.prefix.lower()}_{name.lower()}"

    def room_tables(self) -> dict[str, str]:
        info, members, user_rooms = self.table("ROOM_INFO"), self.table("MEMBERS"), self.table("USER_ROOMS")
        with_info = self._with(self.cache("ROOM_INFO"), key_type=None, value_type="ChatRoomInfo", affinity=False)
        with_members = self._with(self.cache("MEMBERS"), key_type="ChatMemberKey", value_type="ChatMember",
                                  affinity=True)
        with_user_rooms = self._with(self.cache("USER_ROOMS"), key_type="ChatUserRoomKey",
                                     value_type="ChatUserRoom", affinity="USERNAME")
        return {
            info: (
                f"CREATE TABLE IF NOT EXISTS {info} (ROOM VARCHAR PRIMARY KEY, NAME VARCHAR, KIND VARCHAR, "
                f'TOPIC VARCHAR, CREATOR VARCHAR, CREATED_AT BIGINT, ARCHIVED BOOLEAN) WITH "{with_info}"'
            ),
            members: (
                f"CREATE TABLE IF NOT EXISTS {members} (ROOM VARCHAR, USERNAME VARCHAR, ROLE VARCHAR, "
                f'JOINED_AT BIGINT, PRIMARY KEY (ROOM, USERNAME)) WITH "{with_members}"'
            ),
            user_rooms: (
                f"CREATE TABLE IF NOT EXISTS {user_rooms} (USERNAME VARCHAR, ROOM VARCHAR, ROLE VARCHAR, "
                "KIND VARCHAR, JOINED_AT BIGINT, LAST_READ_SEQ BIGINT, NOTIFY VARCHAR, NAME VARCHAR, TOPIC VARCHAR, "
                "CREATOR VARCHAR, CREATED_AT BIGINT, ARCHIVED BOOLEAN, "
                f'PRIMARY KEY (USERNAME, ROOM)) WITH "{with_user_rooms}"'
            ),
        }

    def indexes(self) -> dict[str, str]:
        """CREATE INDEX statements by index name (admin views: recent across rooms, by author)."""
        t = self.messages_table
        return {
            f"{t}_CREATED_IDX": f"CREATE INDEX IF NOT EXISTS {t}_CREATED_IDX ON {t} (CREATED_AT DESC)",
            f"{t}_AUTHOR_IDX": f"CREATE INDEX IF NOT EXISTS {t}_AUTHOR_IDX ON {t} (AUTHOR, CREATED_AT DESC)",
            # catch-up of changes: the messages of a room changed after a change cursor
            f"{t}_CHANGE_IDX": f"CREATE INDEX IF NOT EXISTS {t}_CHANGE_IDX ON {t} (ROOM, CHANGE_SEQ)",
        }
