"""Writes of the Ignite backend: appends (group-committed) and imports; changes are in ignite_changes.

Lock order, in every transaction (appends, imports and every change of ignite_changes): room counters
first, in sorted order (one at a time with pessimistic transactions: IgniteSession.read_in_tx), then the
rooms' idempotency keys, then messages (a reply's
original included), then <P>_VERSIONS, search-index (dirty seqs) and <P>_USER_MENTIONS rows. Ordered locking
cannot deadlock, and appends and changes of one room queue on its counter. The search merge
(ignite_search_index) takes no counter: its filter rows (ATOMIC), then the watermark, then dirty rows.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable

from ..errors import ChangeRefused, StoreError, StoreUnavailable
from ..types import AppendResult, Message
from .ignite_batch import PendingAppend, settle
from .ignite_client import (
    IdempotencyKey,
    IdempotencyValue,
    MentionKey,
    MentionValue,
    MessageKey,
    MessageValue,
    Pairs,
    RoomValue,
    is_connection_error,
)
from .ignite_codec import message_from_value, new_message, now_ms
from .ignite_schema import Schema
from .ignite_search_index import SearchIndex, dirty_row, put_rows
from .ignite_session import IgniteSession, TornRead

logger = logging.getLogger(__name__)

MULTI_ROOM_TX_TIMEOUT = 1.0  # seconds; past it a multi-room batch is retried room by room


def _answers(batch: list[PendingAppend], results: dict[tuple[str, str], AppendResult | StoreError]) -> list:
    """One result per queued append; a repeat of a client id within the batch did not create anything."""
    answers: list[AppendResult | StoreError] = []
    answered = set()
    for item in batch:
        ident = (item.room, item.client_id)
        result = results[ident]
        if ident in answered and isinstance(result, AppendResult) and result.created:
            result = AppendResult(result.message, created=False)
        answered.add(ident)
        answers.append(result)
    return answers


async def commit_across_rooms(session: IgniteSession, batch: list, store: Callable[..., Awaitable[list]], *,
                              rooms_cache: str | None = None) -> list:
    """`await store(client, rooms, items, tx_timeout=...)` (one transaction) for a batch of pending items (appends
    or changes, each with `room` and `future`) of any rooms; its results in the batch's order.

    With `rooms_cache` and the session's `on_primary`, the batch is split by the rooms' primary node (in
    `rooms_cache`, where every table of a room has its primary) into one transaction per node, side by side,
    each started on its node."""
    rooms = sorted({item.room for item in batch})
    groups = await session.by_primary(rooms_cache, rooms) if rooms_cache else [rooms]
    if len(groups) == 1:
        return await _commit_rooms(session, batch, rooms, store)
    group_of = {room: n for n, group in enumerate(groups) for room in group}
    parts: list[tuple[list[str], list]] = [(group, []) for group in groups]
    for item in batch:
        parts[group_of[item.room]][1].append(item)
    outcomes = await asyncio.gather(*(_commit_rooms(session, items, group, store) for group, items in parts),
                                    return_exceptions=True)
    results: dict[int, object] = {}
    for (_, items), outcome in zip(parts, outcomes, strict=True):
        if isinstance(outcome, BaseException) and not isinstance(outcome, Exception):
            raise outcome  # cancelled: the batcher answers every item
        answers = [outcome] * len(items) if isinstance(outcome, BaseException) else outcome
        results.update((id(item), answer) for item, answer in zip(items, answers, strict=True))
    return [results[id(item)] for item in batch]


async def _commit_rooms(session: IgniteSession, batch: list, rooms: list[str],
                        store: Callable[..., Awaitable[list]]) -> list:
    """commit_across_rooms for the items of `rooms` (sorted): one transaction, room by room if it times out."""
    if len(rooms) == 1:
        # Safe to retry: a commit whose answer was lost is found through the idempotency keys.
        return await session.run(lambda client: store(client, rooms, batch), retry=True)
    try:
        return await session.run(
            lambda client: store(client, rooms, batch, tx_timeout=MULTI_ROOM_TX_TIMEOUT), retry=False)
    except StoreUnavailable as error:
        if not error.retryable or (error.__cause__ is not None and is_connection_error(error.__cause__)):
            raise
        # A lock wait between processes locking overlapping rooms on different nodes (or a
        # slow cluster) timed the transaction out: fall back to one transaction per room,
        # which locks a single counter and cannot deadlock.
        logger.info("Multi-room batch failed (%s); committing room by room", error)

    async def commit_room(room: str, items: list) -> tuple[list, list]:
        """One room's share of a failed multi-room batch, answered as soon as it is stored."""
        try:
            answers = await session.run(lambda client: store(client, [room], items), retry=True)
        except StoreError as error:
            answers = [error] * len(items)
        for item, answer in zip(items, answers, strict=True):
            settle(item, answer)  # a room waiting on a lock does not hold back the others
        return items, answers

    by_room: dict[str, list] = {}
    for item in batch:
        by_room.setdefault(item.room, []).append(item)
    outcomes = await asyncio.gather(*(commit_room(room, items) for room, items in by_room.items()))
    results = {id(item): result for items, answers in outcomes for item, result in zip(items, answers, strict=True)}
    return [results[id(item)] for item in batch]


class Writes:
    """Append batches, delete and import, run through an IgniteSession."""

    def __init__(self, session: IgniteSession, schema: Schema, search_index: SearchIndex):
        self.session = session
        self.schema = schema
        self.search_index = search_index  # told of completed runs; an append writes no index row

    # ---------------------------------------------------------------- append
    async def commit_batch(self, batch: list[PendingAppend]) -> list[AppendResult | StoreError]:
        """Store queued appends of any rooms in one transaction; results in the batch's order."""
        return await commit_across_rooms(self.session, batch, self._store_batch, rooms_cache=self.schema.rooms_cache)

    async def _store_batch(self, client, rooms: list[str], batch: list[PendingAppend], *, tx_timeout: float = 0):
        """One transaction: lock the rooms' counters, skip client ids already stored, write the rest."""
        messages = await client.get_cache(self.schema.messages_cache)
        counters = await client.get_cache(self.schema.rooms_cache)
        idempotency = await client.get_cache(self.schema.idempotency_cache)
        async with self.session.tx(client, timeout=tx_timeout, at=(self.schema.rooms_cache, rooms[0])) as tx:
            counter_of = await self.session.read_in_tx(counters, rooms)  # rooms sorted: see read_in_tx
            last, change_heads = {}, {}
            for room in rooms:
                counter = counter_of.get(room)
                last[room] = counter.LAST_SEQ if counter is not None else 0
                change_heads[room] = getattr(counter, "LAST_CHANGE_SEQ", None)  # kept: appends are no change
            first_last = dict(last)
            seen = await self._seen_client_ids(client, idempotency, batch)
            results: dict[tuple[str, str], AppendResult | StoreError] = {}
            new_messages, new_keys, new_mentions = Pairs(), Pairs(), Pairs()
            at = now_ms()
            for item in batch:
                ident = (item.room, item.client_id)
                if ident in results:
                    continue  # the same client id twice in one batch: one message
                if ident in seen:
                    seq = seen[ident]
                    value = await messages.get(MessageKey(ROOM=item.room, SEQ=seq))
                    if value is None:  # only an optimistic read can see a key without its message
                        raise TornRead(f"client id {item.client_id} of {item.room} without its message {seq}")
                    results[ident] = AppendResult(message_from_value(item.room, seq, value), created=False)
                    continue
                preview = None
                if item.reply_to is not None:  # only replies pay this read
                    original = await messages.get(MessageKey(ROOM=item.room, SEQ=item.reply_to))
                    if original is None or original.DELETED:
                        results[ident] = ChangeRefused("no_such_message", "the message replied to does not exist")
                        continue
                    preview = message_from_value(item.room, item.reply_to, original).preview()
                seq = last[item.room] = last[item.room] + 1
                key, value = new_message(item.room, item.author, item.body, item.client_id, seq, at,
                                         reply_to=item.reply_to, mentions=item.mentions)
                new_messages.append((key, value))
                new_keys.append((IdempotencyKey(ROOM=item.room, CLIENT_ID=item.client_id), IdempotencyValue(SEQ=seq)))
                new_mentions.extend((MentionKey(USERNAME=user, ROOM=item.room, SEQ=seq), MentionValue(AT=at))
                                    for user in item.notified)
                message = message_from_value(item.room, seq, value)
                if preview is not None:
                    message = dataclasses.replace(message, reply_preview=preview)
                results[ident] = AppendResult(message, created=True)
            if new_messages:
                await messages.put_all(new_messages)
                await idempotency.put_all(new_keys)
                if new_mentions:
                    mentions = await client.get_cache(self.schema.mentions_cache)
                    await mentions.put_all(new_mentions)
                written = {key.ROOM for key, _ in new_messages}
                await counters.put_all({
                    room: RoomValue(LAST_SEQ=last[room], LAST_AT=at, LAST_CHANGE_SEQ=change_heads[room])
                    for room in sorted(written)
                })
            await tx.commit()
        bodies: dict[str, list[tuple[int, str]]] = {}
        for key, value in new_messages:
            bodies.setdefault(key.ROOM, []).append((key.SEQ, value.BODY or ""))
        for room in rooms:
            self.search_index.appended(room, first_last[room], last[room], bodies.get(room, []))
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

    # ---------------------------------------------------------------- import
    async def import_message(self, message: Message) -> bool:
        """Store a validated `message` as is; raise the room counter; False when already stored."""
        room, seq, created_at = message.room, message.seq, message.created_at
        author, body, client_id = message.author, message.body, message.client_id

        async def operation(client):
            messages = await client.get_cache(self.schema.messages_cache)
            rooms = await client.get_cache(self.schema.rooms_cache)
            idempotency = await client.get_cache(self.schema.idempotency_cache)
            key = MessageKey(ROOM=room, SEQ=seq)
            async with self.session.tx(client, at=(self.schema.rooms_cache, room)) as tx:
                counter = await rooms.get(room)  # the counter's lock first, as every append takes it: no deadlock
                created = await messages.get(key) is None
                if created:
                    await messages.put(key, MessageValue(
                        ID=message.id, AUTHOR=author, BODY=body, CLIENT_ID=client_id,
                        CREATED_AT=created_at, DELETED=bool(message.deleted), DELETED_BY=None, CHANGE_SEQ=None,
                        EDITED_AT=message.edited_at, REPLY_TO=message.reply_to, REACTIONS=None, MENTIONS=None,
                    ))
                    if not message.deleted:  # its run may be indexed already: searches read it until merged
                        await put_rows(self.session, client, self.schema.search_dirty_cache,
                                       [dirty_row(room, seq, -1)])
                # Done even for an existing message, so a re-run repairs a counter left behind.
                if counter is None or counter.LAST_SEQ < seq:
                    last_at = max(created_at, counter.LAST_AT or 0) if counter is not None else created_at
                    await rooms.put(room, RoomValue(LAST_SEQ=seq, LAST_AT=last_at,
                                                    LAST_CHANGE_SEQ=getattr(counter, "LAST_CHANGE_SEQ", None)))
                idem_key = IdempotencyKey(ROOM=room, CLIENT_ID=client_id)
                if await idempotency.get(idem_key) is None:
                    await idempotency.put(idem_key, IdempotencyValue(SEQ=seq))
                await tx.commit()
            return created

        # Safe to retry: the existence check makes a replayed import a no-op.
        return await self.session.run(operation, retry=True)
