"""Messages people work with (issue 13): edit, delete, react and unreact frames, and the @mentions of a send.

Each handler takes the ChatSession and its parsed command (chat.protocol_changes); every change is
authorized as a write (chat.access) on a joined room, stored first (ignite_store's change log: one
transaction that takes the room's next change sequence), answered with `changed`, then published to
the room as `update`. A refusal of the store (ChangeRefused) becomes an error frame with its code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ignite_store import ChangeRefused, ChangeResult, InvalidMessage, Message, StoreUnavailable

from . import mentions as mention_rules
from .access import Action, Grant
from .fanout import user_channel
from .protocol import ProtocolError
from .protocol_changes import DeleteMessage, Edit, React, changed_frame, mention_frame, update_frame
from .ratelimit import retry_after

if TYPE_CHECKING:
    from .actor import Actor
    from .service import ChatSession


async def _store_change(session: Actor, ref: str, room: str, seq: int, client_id: str | None,
                        change) -> ChangeResult:
    """Run a store change; its refusals and outages as error frames."""
    try:
        return await change
    except ChangeRefused as e:
        raise ProtocolError(e.code, e.detail, ref=ref, room=room, client_id=client_id, seq=seq) from e
    except InvalidMessage as e:
        raise ProtocolError("invalid", e.detail, ref=ref, room=room, client_id=client_id, field=e.field,
                            seq=seq) from e
    except StoreUnavailable as e:
        raise ProtocolError("store_unavailable", "the change was not stored, retry", ref=ref, room=room,
                            client_id=client_id, seq=seq) from e


async def _admit(session: ChatSession, ref: str, room: str, seq: int, client_id: str | None = None) -> Grant:
    """A change is a write to a joined room, and spends a send token (the same rate as messages)."""
    try:
        session._require_joined(room, ref, client_id)
        grant = await session.authorize(room, Action.WRITE, ref, client_id=client_id)
    except ProtocolError as e:
        e.seq = seq  # every refusal of a change names its message (docs/protocol.md): reactions have no client_id
        raise
    wait = session.services.send_buckets.take(session.username)
    if wait:
        raise ProtocolError("rate_limited", "slow down", ref=ref, room=room, client_id=client_id, seq=seq,
                            retry_after=retry_after(wait))
    return grant


async def _answer(session: Actor, ref: str, result: ChangeResult, kind: str, client_id: str | None = None,
                  emoji: str | None = None) -> None:
    message = result.message
    await session.emit(changed_frame(ref, message.room, message.seq, result.change_seq, result.changed, client_id))
    if result.changed and result.created:  # a retry answers again but publishes nothing twice
        await session.publish(message.room, update_frame(message, kind, session.username, emoji))


async def edit(session: ChatSession, cmd: Edit) -> None:
    """Edit one's own message within CHAT["EDIT_WINDOW_SECONDS"]."""
    grant = await _admit(session, "edit", cmd.room, cmd.seq, cmd.client_id)
    await apply_change(session, cmd, grant)


async def delete(session: ChatSession, cmd: DeleteMessage) -> None:
    """Delete one's own message (a tombstone), unless CHAT["ALLOW_DELETE_OWN"] is off."""
    grant = await _admit(session, "delete", cmd.room, cmd.seq, cmd.client_id)
    await apply_change(session, cmd, grant)


async def react(session: ChatSession, cmd: React) -> None:
    """Add or remove the user's emoji on a message (a set per user and emoji)."""
    grant = await _admit(session, cmd.ref, cmd.room, cmd.seq)
    await apply_change(session, cmd, grant)


async def apply_change(actor: Actor, cmd: Edit | DeleteMessage | React, grant: Grant) -> ChangeResult:
    """Store one edit, deletion or reaction the caller authorized (`grant`) and rate-limited (a socket's
    session, or an HTTP request of chat_api), answer `changed`, publish `update`; the store's refusals as
    error frames. An edit's body is read for mentions like a send's: members it newly names get `mention`."""
    store, limits = actor.services.store, actor.services.limits
    if isinstance(cmd, Edit):
        mentions = await mentions_of(actor, grant, cmd.body, cmd.client_id, ref="edit")
        result = await _store_change(actor, "edit", cmd.room, cmd.seq, cmd.client_id, store.aedit(
            cmd.room, cmd.seq, cmd.body, cmd.client_id, author=actor.username,
            window_seconds=limits.edit_window_seconds, mentions=mentions.users, mentions_room=mentions.room,
            notified=mentions.notified))
        await _answer(actor, "edit", result, "edit", cmd.client_id)
        if result.mentioned and result.created:
            await publish_mentions(actor, result.message, result.mentioned)
    elif isinstance(cmd, DeleteMessage):
        if not limits.allow_delete_own:
            raise ProtocolError("delete_not_allowed", "deleting messages is turned off", ref="delete", room=cmd.room,
                                client_id=cmd.client_id, seq=cmd.seq)
        result = await _store_change(actor, "delete", cmd.room, cmd.seq, cmd.client_id, store.adelete_own(
            cmd.room, cmd.seq, cmd.client_id, author=actor.username))
        await _answer(actor, "delete", result, "delete", cmd.client_id)
    else:
        result = await _store_change(actor, cmd.ref, cmd.room, cmd.seq, None, store.areact(
            cmd.room, cmd.seq, cmd.emoji, user=actor.username, add=cmd.add,
            max_distinct=limits.max_reactions_per_message))
        await _answer(actor, cmd.ref, result, cmd.ref, emoji=cmd.emoji)
    return result


# ---------------------------------------------------------------- mentions of a send
async def mentions_of(session: Actor, grant: Grant, body: str, client_id: str, *,
                      ref: str = "send") -> mention_rules.Mentions:
    """Who a body mentions among the room's members (a body without "@" costs nothing); a store outage is the
    send's (or edit's) `store_unavailable`, naming its client_id (docs/protocol.md)."""
    groups = mention_rules.candidate_groups(body)
    if not groups:
        return mention_rules.NONE
    names = mention_rules.candidate_names(body)
    store, room = session.services.store, grant.room.id
    try:
        members = await store.amembers_among(room, [n for n in names if n != mention_rules.ROOM])
        room_members = None
        if mention_rules.ROOM in names and mention_rules.ROOM not in members:
            room_members = await _room_mention_members(session, grant)
    except InvalidMessage:
        return mention_rules.NONE
    except StoreUnavailable as e:
        raise ProtocolError("store_unavailable", "the message was not stored, retry with the same client_id",
                            ref=ref, room=room, client_id=client_id) from e
    return mention_rules.resolve(groups, members, session.username, room_members=room_members)


async def _room_mention_members(session: Actor, grant: Grant) -> list[str] | None:
    """Every member, when this user may use @room here; None when not."""
    store, limit = session.services.store, session.services.limits.room_mention_max_members
    if grant.role in ("owner", "admin"):
        return [m.user for m in await store.amembers(grant.room.id, 1_000_000)]
    found = await store.amembers(grant.room.id, limit)
    return None if len(found) >= limit else [m.user for m in found]


async def publish_mentions(session: Actor, message: Message, mentioned: tuple[str, ...]) -> None:
    """A `mention` frame to every socket of each mentioned member (their own channel)."""
    frame = mention_frame(message)
    for user in mentioned:
        await session.publish(user_channel(user), frame)


HANDLERS = {Edit: edit, DeleteMessage: delete, React: react}
