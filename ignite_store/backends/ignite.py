"""The Apache Ignite message store (pyignite thin client).

Append is one pessimistic transaction over three room-affine tables (see ignite_schema):
lock the room counter, read the idempotency key, write message + counter + key, commit.
Async appends are group-committed (ignite_batch.py): one transaction for every room's waiting
appends. Reads (ignite_reads.py) are SQL range scans on the (ROOM, SEQ) primary-key index:
sequences are gap-free, so "the latest N" and "N before a cursor" are exact ranges.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
import weakref

from pyignite.datatypes.transactions import TransactionConcurrency, TransactionIsolation

from ..errors import StoreError, StoreUnavailable
from ..types import AppendResult, Message
from ..validation import (
    validate_author,
    validate_body,
    validate_client_id,
    validate_room,
    validate_seq,
)
from . import pyignite_seam
from .base import BaseMessageStore
from .ignite_admin import IgniteAdminMixin
from .ignite_batch import AppendBatcher, PendingAppend, settle
from .ignite_client import (
    ClientPool,
    IdempotencyKey,
    IdempotencyValue,
    MessageKey,
    MessageValue,
    Pairs,
    RoomValue,
    is_connection_error,
    ssl_tls_kwargs,
    translate,
)
from .ignite_reads import IgniteReadsMixin, message_from_value
from .ignite_schema import Schema

logger = logging.getLogger(__name__)

MESSAGE_COLUMNS = "ID, ROOM, SEQ, AUTHOR, BODY, CLIENT_ID, CREATED_AT, DELETED"
_TX = (TransactionConcurrency.PESSIMISTIC, TransactionIsolation.REPEATABLE_READ)
MULTI_ROOM_TX_TIMEOUT = 1.0  # seconds; past it a multi-room batch is retried room by room


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _answers(batch: list[PendingAppend], results: dict[tuple[str, str], AppendResult]) -> list[AppendResult]:
    """One result per queued append; a repeat of a client id within the batch did not create anything."""
    answers, answered = [], set()
    for item in batch:
        ident = (item.room, item.client_id)
        result = results[ident]
        if ident in answered and result.created:
            result = AppendResult(result.message, created=False)
        answered.add(ident)
        answers.append(result)
    return answers


class IgniteMessageStore(IgniteReadsMixin, IgniteAdminMixin, BaseMessageStore):
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
        max_batch: int = 256,
        fast_codec: bool = True,
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
        # partition_aware defaults to off: with pyignite 0.6.1 each key operation on these
        # caches paid an extra ~20 ms affinity round trip (measured, see docs/performance.md);
        # without it the connected node routes the request, one hop more on a multi-node cluster.
        self._pool = ClientPool(
            self.nodes, timeout=self.timeout, partition_aware=partition_aware, client_kwargs=client_kwargs
        )

    # Names used by the admin mixin and by tests.
    messages_table = property(lambda self: self.schema.messages_table)
    rooms_table = property(lambda self: self.schema.rooms_table)
    idempotency_table = property(lambda self: self.schema.idempotency_table)
    messages_cache = property(lambda self: self.schema.messages_cache)
    rooms_cache = property(lambda self: self.schema.rooms_cache)
    idempotency_cache = property(lambda self: self.schema.idempotency_cache)

    # ================================================================ plumbing
    @contextlib.contextmanager
    def _translate(self):
        """Map pyignite errors to ignite_store.errors; drop this thread's client when its connection broke."""
        try:
            yield
        except StoreError:
            raise
        except Exception as exc:
            if is_connection_error(exc):
                self._pool.discard_sync()
            raise translate(exc) from exc

    def _client(self):
        return self._pool.sync_client()

    def _run(self, operation, *, retry: bool):
        """Call operation(client); retry once on a broken connection when the operation is idempotent."""
        attempts = 2 if retry else 1
        for attempt in range(attempts):
            try:
                with self._translate():
                    return operation(self._client())
            except StoreUnavailable as error:
                if attempt + 1 == attempts or not error.retryable:
                    raise
                logger.info("Ignite operation failed; retrying once")

    async def _arun(self, operation, *, retry: bool):
        """Async twin of _run with the configured timeout around each attempt (AioClient has none)."""
        attempts = 2 if retry else 1
        for attempt in range(attempts):
            try:
                client = await self._pool.aio_client()
                result = await asyncio.wait_for(operation(client), self.timeout)
                self._pool.note_success()
                return result
            except StoreError as exc:
                error = exc
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if is_connection_error(exc) and not self._pool.keep_after_timeout(exc):
                    await self._pool.discard_aio()
                error = translate(exc)
                error.__cause__ = exc
            if not isinstance(error, StoreUnavailable) or not error.retryable or attempt + 1 == attempts:
                raise error
            logger.info("Ignite operation failed (%s); retrying once", error)

    def _sql(self, query: str, args: list | tuple = ()) -> list[list]:
        """Run a SQL query synchronously and return every row."""

        def operation(client):
            with client.sql(query, query_args=list(args), page_size=1000, schema="PUBLIC") as cursor:
                return [list(row) for row in cursor]

        return self._run(operation, retry=True)

    @staticmethod
    def _message_from_row(row) -> Message:
        id_, room, seq, author, body, client_id, created_at, deleted = row
        return Message(
            id=id_,
            room=room,
            seq=int(seq),
            author=author,
            body=body or "",
            client_id=client_id,
            created_at=int(created_at),
            deleted=bool(deleted),
        )

    # ================================================================ schema
    def ensure_schema(self) -> list[str]:
        missing = set(self._missing_tables_and_indexes())
        statements = {**self.schema.tables(), **self.schema.indexes()}
        for name, ddl in statements.items():
            if name in missing:
                self._sql(ddl)
        return [name for name in statements if name in missing]

    def check_schema(self) -> list[str]:
        return [f"missing {name}" for name in self._missing_tables_and_indexes()]

    def _missing_tables_and_indexes(self) -> list[str]:
        tables = {row[0] for row in self._sql("SELECT TABLE_NAME FROM SYS.TABLES WHERE SCHEMA_NAME = 'PUBLIC'")}
        indexes = {row[0] for row in self._sql("SELECT INDEX_NAME FROM SYS.INDEXES WHERE SCHEMA_NAME = 'PUBLIC'")}
        missing = [name for name in self.schema.tables() if name not in tables]
        missing += [name for name in self.schema.indexes() if name not in indexes]
        return missing

    # ================================================================ append
    def _new_values(self, room: str, author: str, body: str, client_id: str, seq: int, at: int):
        key = MessageKey(ROOM=room, SEQ=seq)
        value = MessageValue(
            ID=uuid.uuid4().hex, AUTHOR=author, BODY=body, CLIENT_ID=client_id, CREATED_AT=at, DELETED=False,
            DELETED_BY=None,
        )
        return key, value

    def append(self, room: str, author: str, body: str, client_id: str) -> AppendResult:
        room, author = validate_room(room), validate_author(author)
        body, client_id = validate_body(body), validate_client_id(client_id)

        def operation(client):
            messages = client.get_cache(self.messages_cache)
            rooms = client.get_cache(self.rooms_cache)
            idempotency = client.get_cache(self.idempotency_cache)
            idem_key = IdempotencyKey(ROOM=room, CLIENT_ID=client_id)
            with client.tx_start(*_TX, timeout=int(self.timeout * 1000)) as tx:
                counter = rooms.get(room)  # counters before idempotency keys, as in _store_batch: no deadlock
                seen = idempotency.get(idem_key)
                if seen is not None:
                    value = messages.get(MessageKey(ROOM=room, SEQ=seen.SEQ))
                    tx.commit()
                    return AppendResult(message_from_value(room, seen.SEQ, value), created=False)
                seq = (counter.LAST_SEQ if counter is not None else 0) + 1
                at = now_ms()
                key, value = self._new_values(room, author, body, client_id, seq, at)
                messages.put(key, value)
                rooms.put(room, RoomValue(LAST_SEQ=seq, LAST_AT=at))
                idempotency.put(idem_key, IdempotencyValue(SEQ=seq))
                tx.commit()
            return AppendResult(message_from_value(room, seq, value), created=True)

        # Safe to retry: a commit whose answer was lost is found through the idempotency key.
        return self._run(operation, retry=True)

    async def aappend(self, room: str, author: str, body: str, client_id: str) -> AppendResult:
        room, author = validate_room(room), validate_author(author)
        body, client_id = validate_body(body), validate_client_id(client_id)
        return await self._batcher().submit(room, author, body, client_id)

    def _batcher(self) -> AppendBatcher:
        loop = asyncio.get_running_loop()
        batcher = self._batchers.get(loop)
        if batcher is None:
            batcher = self._batchers[loop] = AppendBatcher(self._commit_batch, self.max_batch)
        return batcher

    async def _commit_batch(self, batch: list[PendingAppend]) -> list[AppendResult | StoreError]:
        """Store queued appends of any rooms in one transaction; results in the batch's order."""
        rooms = sorted({item.room for item in batch})
        if len(rooms) == 1:
            # Safe to retry: a commit whose answer was lost is found through the idempotency keys.
            return await self._arun(lambda client: self._store_batch(client, rooms, batch), retry=True)
        try:
            return await self._arun(
                lambda client: self._store_batch(client, rooms, batch, tx_timeout=MULTI_ROOM_TX_TIMEOUT),
                retry=False,
            )
        except StoreUnavailable as error:
            if not error.retryable or is_connection_error(error.__cause__):
                raise
            # A lock wait between processes locking overlapping rooms on different nodes (or a
            # slow cluster) timed the transaction out: fall back to one transaction per room,
            # which locks a single counter and cannot deadlock.
            logger.info("Multi-room append batch failed (%s); committing room by room", error)
        by_room: dict[str, list[PendingAppend]] = {}
        for item in batch:
            by_room.setdefault(item.room, []).append(item)
        outcomes = await asyncio.gather(*(self._commit_room(room, items) for room, items in by_room.items()))
        results = {id(item): result for items, answers in outcomes for item, result in zip(items, answers, strict=True)}
        return [results[id(item)] for item in batch]

    async def _commit_room(self, room: str, items: list[PendingAppend]) -> tuple[list, list]:
        """One room's share of a failed multi-room batch, answered as soon as it is stored."""
        try:
            answers = await self._arun(lambda client: self._store_batch(client, [room], items), retry=True)
        except StoreError as error:
            answers = [error] * len(items)
        for item, answer in zip(items, answers, strict=True):
            settle(item, answer)  # a room waiting on a lock does not hold back the others
        return items, answers

    async def _store_batch(self, client, rooms: list[str], batch: list[PendingAppend], *, tx_timeout: float = 0):
        """One transaction: lock the rooms' counters, skip client ids already stored, write the rest."""
        messages = await client.get_cache(self.messages_cache)
        counters = await client.get_cache(self.rooms_cache)
        idempotency = await client.get_cache(self.idempotency_cache)
        timeout_ms = int((tx_timeout or self.timeout) * 1000)
        async with client.tx_start(*_TX, timeout=timeout_ms) as tx:
            # Every transaction locks room counters first, one at a time in sorted order, then the
            # rooms' idempotency keys: ordered locking cannot deadlock, and appends of one room
            # queue on its counter. (One get_all locks its keys in parallel: two processes
            # batching overlapping rooms could each hold a key the other waits for.)
            last = {}
            for room in rooms:
                counter = await counters.get(room)
                last[room] = counter.LAST_SEQ if counter is not None else 0
            seen = await self._seen_client_ids(client, idempotency, batch)
            results: dict[tuple[str, str], AppendResult] = {}
            new_messages, new_keys = Pairs(), Pairs()
            at = now_ms()
            for item in batch:
                ident = (item.room, item.client_id)
                if ident in results:
                    continue  # the same client id twice in one batch: one message
                if ident in seen:
                    seq = seen[ident]
                    value = await messages.get(MessageKey(ROOM=item.room, SEQ=seq))
                    results[ident] = AppendResult(message_from_value(item.room, seq, value), created=False)
                    continue
                seq = last[item.room] = last[item.room] + 1
                key, value = self._new_values(item.room, item.author, item.body, item.client_id, seq, at)
                new_messages.append((key, value))
                new_keys.append((IdempotencyKey(ROOM=item.room, CLIENT_ID=item.client_id), IdempotencyValue(SEQ=seq)))
                results[ident] = AppendResult(message_from_value(item.room, seq, value), created=True)
            if new_messages:
                await messages.put_all(new_messages)
                await idempotency.put_all(new_keys)
                written = {key.ROOM for key, _ in new_messages}
                await counters.put_all({room: RoomValue(LAST_SEQ=last[room], LAST_AT=at) for room in sorted(written)})
            await tx.commit()
        return _answers(batch, results)

    @staticmethod
    async def _seen_client_ids(client, idempotency, batch: list[PendingAppend]) -> dict[tuple[str, str], int]:
        """Seqs of the batch's (room, client id) pairs already stored, read (and locked) in one request."""
        idents = sorted({(item.room, item.client_id) for item in batch})
        found = await idempotency.get_all([IdempotencyKey(ROOM=room, CLIENT_ID=cid) for room, cid in idents])
        seen = {}
        for raw_key, value in found.items():
            # get_all leaves binary-object keys serialised; the value holds only the seq.
            key = await client.unwrap_binary(raw_key)
            seen[(key.ROOM, key.CLIENT_ID)] = int(value.SEQ)
        return seen

    # ================================================================ delete (moderation)
    def delete(self, room: str, seq: int, *, by: str) -> Message | None:
        room, seq, by = validate_room(room), validate_seq(seq), validate_author(by)

        def operation(client):
            messages = client.get_cache(self.messages_cache)
            key = MessageKey(ROOM=room, SEQ=seq)
            with client.tx_start(*_TX, timeout=int(self.timeout * 1000)) as tx:
                value = messages.get(key)
                if value is None:
                    return None
                value = self._tombstone(value, by)
                messages.put(key, value)
                tx.commit()
            return message_from_value(room, seq, value)

        return self._run(operation, retry=True)

    async def adelete(self, room: str, seq: int, *, by: str) -> Message | None:
        room, seq, by = validate_room(room), validate_seq(seq), validate_author(by)

        async def operation(client):
            messages = await client.get_cache(self.messages_cache)
            key = MessageKey(ROOM=room, SEQ=seq)
            async with client.tx_start(*_TX, timeout=int(self.timeout * 1000)) as tx:
                value = await messages.get(key)
                if value is None:
                    return None
                value = self._tombstone(value, by)
                await messages.put(key, value)
                await tx.commit()
            return message_from_value(room, seq, value)

        return await self._arun(operation, retry=True)

    @staticmethod
    def _tombstone(value, by: str):
        return MessageValue(
            ID=value.ID, AUTHOR=value.AUTHOR, BODY="", CLIENT_ID=value.CLIENT_ID, CREATED_AT=value.CREATED_AT,
            DELETED=True, DELETED_BY=by,
        )

    # ================================================================ lifecycle
    def close(self) -> None:
        self._pool.close()

    async def aclose(self) -> None:
        await self._pool.aclose()
