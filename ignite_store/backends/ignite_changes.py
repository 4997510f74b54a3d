"""The room change log (issue 13): edits, deletions (own and moderation) and reactions.

Changes are group-committed like appends (ignite_batch): each event loop keeps one change transaction in
flight, and the changes arriving meanwhile, of any rooms, go together into the next one. A transaction is
PESSIMISTIC / REPEATABLE_READ and takes its locks in the order of every transaction (ignite_writes: room
counters one at a time in sorted order, then idempotency keys, then messages, then version and mention
rows). For each change, in order of arrival, it takes the next LAST_CHANGE_SEQ of the room and decides on
the message's state as the changes before it in the batch left it; it then writes every changed message
with its CHANGE_SEQ and the counters in the same commit. Change sequences are therefore gap-free per
room, and the current state of every message changed after a cursor is one range of the (ROOM,
CHANGE_SEQ) index (ignite_queries.Queries.changes). Why a batch: a change alone costs about nine round
trips whatever it changes; twenty clients changing at once in twenty rooms were slower in total than one
(docs/performance.md, "Message changes").

A change that changes nothing (a reaction already there, a message already deleted, the same body) takes no
change sequence; a refused one (ChangeRefused) answers its own caller and leaves the rest of the batch be.
Edits and deletes by their author carry a client id: its key is stored in <P>_IDEMPOTENCY under a prefixed
client id (a character no client id may contain), with the change sequence it got, so a retry returns the
same answer and changes nothing twice (within one batch too).

`Changes.edit` is the one place where the body of a stored message is replaced: it marks the seq dirty
for the search index in its transaction (ignite_search_index). An edit re-reads the mentions of its new body
(the chat resolves them as for a send): members it newly mentions get a mention row (and the chat notifies
them once); members it no longer mentions lose theirs, so their unread mention count no longer counts a
message that does not name them (the `mention` event they already got is not recalled).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import ChangeRefused
from ..types import ChangeResult, Version
from .ignite_batch import Batcher
from .ignite_client import (
    ChangeKeyValue,
    IdempotencyKey,
    MentionKey,
    MentionValue,
    MessageKey,
    Pairs,
    RoomValue,
    VersionKey,
    VersionValue,
)
from .ignite_codec import (
    changed_value,
    mentions_from_json,
    message_from_value,
    now_ms,
    reactions_from_json,
    reactions_to_json,
    tombstone,
)
from .ignite_schema import Schema
from .ignite_search_index import dirty_row, put_rows
from .ignite_session import IgniteSession, TornRead
from .ignite_writes import commit_across_rooms

EDIT_KEY, DELETE_KEY = "edit/", "delete/"  # "/" is not allowed in client ids: no clash with sends


@dataclass
class _Outcome:
    """What a change decided: the new value (None: nothing changes) and the rows it writes besides."""

    value: object | None
    versions: list[tuple[VersionKey, VersionValue]] = field(default_factory=list)
    index: list = field(default_factory=list)  # search-index rows: the dirty row of an edited seq
    mention_rows: dict[str, int | None] = field(default_factory=dict)  # user -> AT of a new row, None: removed
    mentioned: tuple[str, ...] = ()  # users newly mentioned (the chat notifies them)


@dataclass
class PendingChange:
    room: str
    seq: int
    decide: Callable[[object, int], _Outcome] = field(repr=False)
    client_key: str | None
    future: asyncio.Future = field(repr=False)


class Changes:
    """edit, delete, react/unreact and versions, run through an IgniteSession (input validated by the caller)."""

    def __init__(self, session: IgniteSession, schema: Schema, *, max_batch: int = 256, commit_interval: float = 0.0):
        self.session = session
        self.schema = schema
        self.max_batch = max_batch
        self.commit_interval = commit_interval
        self._batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Batcher] = weakref.WeakKeyDictionary()

    async def _change(self, room: str, seq: int, decide: Callable[[object, int], _Outcome], *,
                      client_key: str | None = None) -> ChangeResult:
        """Queue one change for the next transaction of this event loop, and wait for its answer."""
        loop = asyncio.get_running_loop()
        batcher = self._batchers.get(loop)
        if batcher is None:
            batcher = self._batchers[loop] = Batcher(self._commit, self.max_batch, self.commit_interval)
        return await batcher.put(PendingChange(room, seq, decide, client_key, loop.create_future()))

    async def _commit(self, batch: list[PendingChange]) -> list:
        # Safe to retry: a lost commit answer is found through the client keys, or finds nothing left to change.
        return await commit_across_rooms(self.session, batch, self._store_batch)

    async def _store_batch(self, client, rooms: list[str], batch: list[PendingChange], *,
                           tx_timeout: float = 0) -> list:
        """One transaction: lock the counters, answer repeated client keys, read the messages, decide each
        change in order on the state the earlier ones left, write everything changed, commit."""
        messages = await client.get_cache(self.schema.messages_cache)
        counters = await client.get_cache(self.schema.rooms_cache)
        async with self.session.tx(client, timeout=tx_timeout) as tx:
            counter_of = await self.session.read_in_tx(counters, rooms)  # rooms sorted: see read_in_tx
            heads = {room: int(getattr(c, "LAST_CHANGE_SEQ", None) or 0) for room, c in counter_of.items()}
            done = await self._done_client_keys(client, batch)
            values = await self._read_messages(client, messages, {(i.room, i.seq) for i in batch}
                                               | {(room, seq) for (room, _), (seq, _) in done.items()})
            batch_state = _BatchWrites()
            results: list = []
            answered: dict[tuple[str, str], object] = {}
            for item in batch:
                ident = (item.room, item.client_key) if item.client_key else None
                if ident is not None and ident in answered:  # the same client key twice in one batch
                    first = answered[ident]
                    results.append(first if isinstance(first, Exception) else _repeat(first))  # type: ignore[arg-type]
                    continue
                if ident is not None and ident in done:
                    seq, change_seq = done[ident]
                    stored = values.get((item.room, seq))
                    if stored is None:  # only an optimistic read can see a key without its message
                        raise TornRead(f"change key {item.client_key} of {item.room} without its message {seq}")
                    result: object = ChangeResult(message_from_value(item.room, seq, stored), change_seq=change_seq,
                                                  changed=True, created=False)
                else:
                    result = self._apply(item, values, counter_of, heads, batch_state)
                if ident is not None:
                    answered[ident] = result
                results.append(result)
            if batch_state.messages:
                await messages.put_all(Pairs((MessageKey(ROOM=room, SEQ=seq), value)
                                             for (room, seq), value in batch_state.messages.items()))
                await counters.put_all({
                    room: RoomValue(LAST_SEQ=counter_of[room].LAST_SEQ, LAST_AT=counter_of[room].LAST_AT,
                                    LAST_CHANGE_SEQ=heads[room])
                    for room in sorted(batch_state.rooms)
                })
                await self._write_rows(client, batch_state)
            await tx.commit()
        return results

    def _apply(self, item: PendingChange, values: dict, counter_of: dict, heads: dict[str, int],
               writes: _BatchWrites) -> object:
        """Decide one change on the message's current state; its result (or refusal); record its writes."""
        room, seq = item.room, item.seq
        value = values.get((room, seq))
        if value is None or counter_of.get(room) is None:
            return ChangeRefused("no_such_message", f"no message {seq} in this room")
        change_seq = heads[room] + 1
        try:
            outcome = item.decide(value, change_seq)
        except ChangeRefused as refused:
            return refused
        if outcome.value is None:
            return ChangeResult(message_from_value(room, seq, value), change_seq=None, changed=False)
        heads[room] = change_seq
        values[(room, seq)] = writes.messages[(room, seq)] = outcome.value
        writes.rooms.add(room)
        if item.client_key:
            writes.keys.append((IdempotencyKey(ROOM=room, CLIENT_ID=item.client_key),
                                ChangeKeyValue(SEQ=seq, CHANGE_SEQ=change_seq)))
        writes.versions += outcome.versions
        writes.index += outcome.index
        for user, at in outcome.mention_rows.items():
            writes.mentions[(user, room, seq)] = at  # the last change of the batch decides
        return ChangeResult(message_from_value(room, seq, outcome.value), change_seq=change_seq, changed=True,
                            mentioned=outcome.mentioned)

    async def _done_client_keys(self, client, batch: list[PendingChange]) -> dict[tuple[str, str], tuple]:
        """(seq, change seq) of the batch's client keys already stored, read (and locked) in one request."""
        keyed = sorted({(item.room, item.client_key) for item in batch if item.client_key})
        if not keyed:
            return {}
        idempotency = await client.get_cache(self.schema.idempotency_cache)
        found = await idempotency.get_all([IdempotencyKey(ROOM=room, CLIENT_ID=key) for room, key in keyed])
        done = {}
        for raw_key, value in found.items():
            key = await client.unwrap_binary(raw_key)  # get_all leaves binary-object keys serialised
            done[(key.ROOM, key.CLIENT_ID)] = (int(value.SEQ), getattr(value, "CHANGE_SEQ", None))
        return done

    @staticmethod
    async def _read_messages(client, messages, targets: set[tuple[str, int]]) -> dict[tuple[str, int], object]:
        """The stored values of the targeted messages (missing ones absent): one request."""
        ordered = sorted(targets)
        if len(ordered) == 1:  # the usual case at low rates: a get costs less than a get_all and its unwrap
            (room, seq), = ordered
            value = await messages.get(MessageKey(ROOM=room, SEQ=seq))
            return {} if value is None else {(room, seq): value}
        found = await messages.get_all([MessageKey(ROOM=room, SEQ=seq) for room, seq in ordered])
        values = {}
        for raw_key, value in found.items():
            key = await client.unwrap_binary(raw_key)
            values[(key.ROOM, int(key.SEQ))] = value
        return values

    async def _write_rows(self, client, writes: _BatchWrites) -> None:
        """The rows besides messages and counters: client keys, versions, search index, mention rows."""
        if writes.keys:
            await (await client.get_cache(self.schema.idempotency_cache)).put_all(writes.keys)
        if writes.versions:
            await (await client.get_cache(self.schema.versions_cache)).put_all(Pairs(writes.versions))
        # the old body's index bits stay: search verifies the current body
        await put_rows(self.session, client, self.schema.search_dirty_cache, writes.index)
        if writes.mentions:
            mentions = await client.get_cache(self.schema.mentions_cache)
            added = Pairs((MentionKey(USERNAME=user, ROOM=room, SEQ=seq), MentionValue(AT=at))
                          for (user, room, seq), at in sorted(writes.mentions.items()) if at is not None)
            removed = [MentionKey(USERNAME=user, ROOM=room, SEQ=seq)
                       for (user, room, seq), at in sorted(writes.mentions.items()) if at is None]
            if added:
                await mentions.put_all(added)
            if removed:
                await mentions.remove_keys(removed)

    # ---------------------------------------------------------------- edit
    async def edit(self, room: str, seq: int, body: str, client_id: str, *, author: str, window_seconds: int,
                   mentions: str | None = None, notified: tuple[str, ...] = ()) -> ChangeResult:
        """Replace the body of the author's own message; the replaced body is kept in <P>_VERSIONS.
        `mentions` and `notified` are those of the new body, as for an append (the MENTIONS column and the
        users with a mention row)."""
        at = now_ms()

        def decide(value, change_seq: int) -> _Outcome:
            _check_own(value, author, "edit")
            if value.DELETED:
                raise ChangeRefused("message_deleted", "the message was deleted")
            if window_seconds == 0 or window_seconds > 0 and at > int(value.CREATED_AT) + window_seconds * 1000:
                raise ChangeRefused("edit_window_closed", "the message can no longer be edited")
            if value.BODY == body:
                return _Outcome(None)
            previous_at = getattr(value, "EDITED_AT", None) or value.CREATED_AT
            _, _, had = mentions_from_json(getattr(value, "MENTIONS", None))
            added = tuple(user for user in notified if user not in had)
            rows: dict[str, int | None] = {user: None for user in had if user not in notified}
            rows.update(dict.fromkeys(added, at))
            return _Outcome(
                changed_value(value, change_seq, BODY=body, EDITED_AT=at, MENTIONS=mentions),
                versions=[(VersionKey(ROOM=room, SEQ=seq, VERSION=change_seq),
                           VersionValue(BODY=value.BODY, EDITED_AT=int(previous_at)))],
                index=[dirty_row(room, seq, change_seq)],
                mention_rows=rows, mentioned=added,
            )

        return await self._change(room, seq, decide, client_key=EDIT_KEY + client_id)

    # ---------------------------------------------------------------- delete
    async def delete(self, room: str, seq: int, *, by: str, own: bool, client_id: str | None = None) -> ChangeResult:
        """Tombstone a message (its author's when `own`, else moderation); its mention rows go with it."""

        def decide(value, change_seq: int) -> _Outcome:
            if own:
                _check_own(value, by, "delete")
            if value.DELETED:
                return _Outcome(None)
            _, _, notified = mentions_from_json(getattr(value, "MENTIONS", None))
            return _Outcome(tombstone(value, by, change_seq), mention_rows=dict.fromkeys(notified))

        return await self._change(room, seq, decide, client_key=DELETE_KEY + client_id if client_id else None)

    # ---------------------------------------------------------------- reactions
    async def react(self, room: str, seq: int, *, user: str, emoji: str, add: bool, max_distinct: int) -> ChangeResult:
        """Add (or remove) `user`'s `emoji`: a set per (user, emoji); at most `max_distinct` emoji per message."""

        def decide(value, change_seq: int) -> _Outcome:
            if value.DELETED:
                raise ChangeRefused("message_deleted", "the message was deleted")
            reactions = reactions_from_json(getattr(value, "REACTIONS", None))
            entry = next((item for item in reactions if item[0] == emoji), None)
            if add:
                if entry is not None and user in entry[1]:
                    return _Outcome(None)
                if entry is None:
                    if len(reactions) >= max_distinct:
                        raise ChangeRefused("too_many_reactions", f"at most {max_distinct} different emoji")
                    reactions.append([emoji, [user]])
                else:
                    entry[1].append(user)
            else:
                if entry is None or user not in entry[1]:
                    return _Outcome(None)
                entry[1].remove(user)
                if not entry[1]:
                    reactions.remove(entry)
            return _Outcome(changed_value(value, change_seq, REACTIONS=reactions_to_json(reactions)))

        return await self._change(room, seq, decide)

    # ---------------------------------------------------------------- versions (staff)
    async def versions(self, room: str, seq: int) -> list[Version]:
        """The replaced bodies of a message, oldest first."""
        rows = await self.session.sql(
            f"SELECT VERSION, BODY, EDITED_AT FROM {self.schema.versions_table} WHERE ROOM = ? AND SEQ = ? "
            "ORDER BY VERSION", [room, seq])
        return [Version(room, seq, int(version), body or "", int(at or 0)) for version, body, at in rows]


@dataclass
class _BatchWrites:
    """What a batch writes besides its counters, gathered while its changes are decided."""

    messages: dict[tuple[str, int], object] = field(default_factory=dict)  # (room, seq) -> new value
    rooms: set[str] = field(default_factory=set)
    keys: Pairs = field(default_factory=Pairs)
    versions: list = field(default_factory=list)
    index: list = field(default_factory=list)
    mentions: dict[tuple[str, str, int], int | None] = field(default_factory=dict)  # None: remove the row


def _repeat(result: ChangeResult) -> ChangeResult:
    """The answer to a repeat of a client key already answered in the same batch: nothing changed twice."""
    return ChangeResult(result.message, result.change_seq, result.changed, created=False)


def _check_own(value, user: str, what: str) -> None:
    if value.AUTHOR != user:
        raise ChangeRefused("not_author", f"only the author may {what} a message")
