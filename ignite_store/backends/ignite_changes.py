"""The room change log (issue 13): edits, deletions (own and moderation) and reactions.

Every change to an existing message is one PESSIMISTIC / REPEATABLE_READ transaction that, like an
append, locks the room counter first (ignite_writes: counters, then idempotency keys, then messages,
then mention rows), takes the next LAST_CHANGE_SEQ of the room, and writes the message with that
CHANGE_SEQ together with the counter. Change sequences are therefore gap-free per room, and the
current state of every message changed after a cursor is one range of the (ROOM, CHANGE_SEQ) index
(ignite_queries.Queries.changes).

A change that changes nothing (a reaction already there, a message already deleted, the same body)
takes no change sequence. Edits and deletes by their author carry a client id: its key is stored in
<P>_IDEMPOTENCY under a prefixed client id (a character no client id may contain), with the change
sequence it got, so a retry returns the same answer and changes nothing twice.

`Changes.edit` is the one place where the body of a stored message is replaced (search indexes hook
there, and in the append).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ..errors import ChangeRefused
from ..types import ChangeResult, Version
from .ignite_client import (
    ChangeKeyValue,
    IdempotencyKey,
    MentionKey,
    MessageKey,
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
from .ignite_search import index_rows, put_index_rows
from .ignite_session import IgniteSession

EDIT_KEY, DELETE_KEY = "edit/", "delete/"  # "/" is not allowed in client ids: no clash with sends


@dataclass
class _Outcome:
    """What a change decided: the new value (None: nothing changes) and extra writes inside the transaction."""

    value: object | None
    writes: list[Callable[[object], Awaitable[None]]] = field(default_factory=list)


class Changes:
    """edit, delete, react/unreact and versions, run through an IgniteSession (input validated by the caller)."""

    def __init__(self, session: IgniteSession, schema: Schema):
        self.session = session
        self.schema = schema

    async def _change(self, room: str, seq: int, decide: Callable[[object, int], _Outcome], *,
                      client_key: str | None = None) -> ChangeResult:
        """Lock the counter, answer a repeated client key, read the message, apply `decide`, commit."""

        async def operation(client):
            messages = await client.get_cache(self.schema.messages_cache)
            counters = await client.get_cache(self.schema.rooms_cache)
            idempotency = await client.get_cache(self.schema.idempotency_cache)
            async with self.session.tx(client) as tx:
                counter = await counters.get(room)  # the room's lock, first, as every append takes it
                ident = IdempotencyKey(ROOM=room, CLIENT_ID=client_key) if client_key else None
                if ident is not None:
                    done = await idempotency.get(ident)
                    if done is not None:
                        stored = await messages.get(MessageKey(ROOM=room, SEQ=int(done.SEQ)))
                        await tx.commit()
                        return ChangeResult(message_from_value(room, int(done.SEQ), stored),
                                            change_seq=getattr(done, "CHANGE_SEQ", None), changed=True,
                                            created=False)
                key = MessageKey(ROOM=room, SEQ=seq)
                value = await messages.get(key)
                if value is None or counter is None:
                    raise ChangeRefused("no_such_message", f"no message {seq} in this room")
                change_seq = int(getattr(counter, "LAST_CHANGE_SEQ", None) or 0) + 1
                outcome = decide(value, change_seq)
                if outcome.value is None:
                    await tx.commit()
                    return ChangeResult(message_from_value(room, seq, value), change_seq=None, changed=False)
                await messages.put(key, outcome.value)
                await counters.put(room, RoomValue(LAST_SEQ=counter.LAST_SEQ, LAST_AT=counter.LAST_AT,
                                                   LAST_CHANGE_SEQ=change_seq))
                if ident is not None:
                    await idempotency.put(ident, ChangeKeyValue(SEQ=seq, CHANGE_SEQ=change_seq))
                for write in outcome.writes:
                    await write(client)
                await tx.commit()
            return ChangeResult(message_from_value(room, seq, outcome.value), change_seq=change_seq, changed=True)

        # Safe to retry: a lost commit answer is found through the client key, or finds nothing left to change.
        return await self.session.run(operation, retry=True)

    # ---------------------------------------------------------------- edit
    async def edit(self, room: str, seq: int, body: str, client_id: str, *, author: str,
                   window_seconds: int) -> ChangeResult:
        """Replace the body of the author's own message; the replaced body is kept in <P>_VERSIONS."""
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

            async def keep_version(client) -> None:
                versions = await client.get_cache(self.schema.versions_cache)
                await versions.put(VersionKey(ROOM=room, SEQ=seq, VERSION=change_seq),
                                   VersionValue(BODY=value.BODY, EDITED_AT=int(previous_at)))

            async def index_body(client) -> None:  # the old body's rows stay: search verifies the current body
                await put_index_rows(self.session, client, self.schema.search_cache,
                                     index_rows(room, seq, int(value.CREATED_AT), body))

            return _Outcome(changed_value(value, change_seq, BODY=body, EDITED_AT=at), [keep_version, index_body])

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

            async def drop_mentions(client) -> None:
                mentions = await client.get_cache(self.schema.mentions_cache)
                await mentions.remove_keys([MentionKey(USERNAME=user, ROOM=room, SEQ=seq) for user in sorted(notified)])

            return _Outcome(tombstone(value, by, change_seq), [drop_mentions] if notified else [])

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


def _check_own(value, user: str, what: str) -> None:
    if value.AUTHOR != user:
        raise ChangeRefused("not_author", f"only the author may {what} a message")

