"""/api/v1/: thin async views over the chat's own services (docs/api.md).

Every view builds an Actor for the caller (chat.actor.Answers) on this process's ChatServices, then
runs the same code the socket runs: chat.room_commands for rooms, chat.messages for messages, so
authorization (chat.access.Access.authorize), validation (chat.protocol.parse_command), the store and
the fan-out are the socket's. A message sent here is stored, then broadcast as the same `message` frame.
"""

from __future__ import annotations

from typing import Any

import orjson
from django.http import HttpRequest
from ninja import NinjaAPI, Router
from ninja.parser import Parser
from ninja.renderers import BaseRenderer

from chat import room_commands
from chat.actor import Answers
from chat.messages import HistoryPage, mark_read, read_page
from chat.protocol import (
    CreateRoom,
    Directory,
    History,
    Invite,
    Members,
    ProtocolError,
    Read,
    RemoveMember,
    Send,
    parse_command,
)
from chat.services import get_services
from ignite_store import InvalidMessage
from ignite_store.validation import validate_seq

from . import errors, schemas, webhooks
from .auth import AUTH, Caller
from .posting import post_message


class OrjsonParser(Parser):
    """Bodies are parsed like socket frames (orjson: lone surrogates and 1e999 are refused)."""

    def parse_body(self, request: HttpRequest) -> Any:
        return orjson.loads(request.body)


class OrjsonRenderer(BaseRenderer):
    media_type = "application/json"

    def render(self, request: HttpRequest, data: Any, *, response_status: int) -> bytes:
        return orjson.dumps(data)


api = NinjaAPI(
    title="Chat API", version="1", urls_namespace="api-v1", auth=AUTH, parser=OrjsonParser(),
    renderer=OrjsonRenderer(), docs_url=None,  # the docs page is /api/docs (chat_api.urls)
    description="Rooms and messages over HTTP, with the WebSocket's rules and error codes. "
                "Authenticate with `Authorization: Bearer <token>` (create one at /api/tokens/) "
                "or the browser session (send the CSRF token as X-CSRFToken on writes).",
)
errors.install(api)
rooms = Router(tags=["rooms"])
messages = Router(tags=["messages"])
ERRORS: dict[int | frozenset[int], Any] = {frozenset({400, 401, 403, 404, 413, 429, 503}): schemas.Error}


def actor(request: HttpRequest) -> Answers:
    """The caller as a chat Actor on this process's services."""
    caller: Caller = request.auth  # type: ignore[attr-defined]
    return Answers(caller.username, get_services())


@api.get("/me", response={200: schemas.Me, **ERRORS}, tags=["account"])
async def me(request: HttpRequest) -> dict:
    """Who you are."""
    caller: Caller = request.auth  # type: ignore[attr-defined]
    from .models import Bot

    is_bot = await Bot.objects.filter(user_id=caller.user_id).aexists()
    return {"user": caller.username, "bot": is_bot, "auth": "session" if caller.token_prefix is None else "token"}


# ---------------------------------------------------------------- rooms
@rooms.get("", response={200: list[schemas.RoomEntry], **ERRORS})
async def my_rooms(request: HttpRequest) -> list:
    """Your rooms, most recently active first, with unread and mention counts."""
    me = actor(request)
    await room_commands.list_rooms(me, None)
    return me.answer("rooms")["rooms"]


@rooms.get("/directory", response={200: list[schemas.DirectoryEntry], **ERRORS})
async def directory(request: HttpRequest, query: str = "", limit: int = 50) -> list:
    """Public rooms whose name contains `query` (case-insensitive)."""
    me = actor(request)
    await room_commands.directory(me, parse_command("directory", {"query": query, "limit": limit}, Directory))
    return me.answer("directory")["rooms"]


@rooms.post("", response={201: schemas.RoomEntry, **ERRORS})
async def create_room(request: HttpRequest, payload: schemas.CreateRoomIn) -> tuple[int, dict]:
    """Create a public or private room; you are its owner."""
    me = actor(request)
    await room_commands.create_room(me, parse_command("create_room", payload.dict(), CreateRoom))
    return 201, me.answer("created")["room"]


@rooms.get("/{room}/members", response={200: list[schemas.Member], **ERRORS})
async def members(request: HttpRequest, room: str) -> list:
    """The room's members and roles (anyone who may read the room)."""
    me = actor(request)
    await room_commands.members(me, parse_command("members", {"room": room}, Members))
    return me.answer("members")["members"]


@rooms.post("/{room}/members", response={200: schemas.MembershipChanged, **ERRORS})
async def invite(request: HttpRequest, room: str, payload: schemas.InviteIn) -> dict:
    """Add a user (any member of a public room; owners and admins of a private one)."""
    me = actor(request)
    cmd = parse_command("invite", {"room": room, "user": payload.user}, Invite)
    await room_commands.invite(me, cmd)
    return me.answer("invited")


@rooms.delete("/{room}/members/{user}", response={200: schemas.MembershipChanged, **ERRORS})
async def remove_member(request: HttpRequest, room: str, user: str) -> dict:
    """Remove a member (owners and admins), or leave the room (your own username)."""
    me = actor(request)
    cmd = parse_command("remove_member", {"room": room, "user": user}, RemoveMember)
    await room_commands.remove_member(me, cmd)
    if cmd.user == me.username:  # leaving answers nothing on the socket: every socket gets `removed`
        return {"room": cmd.room, "user": cmd.user, "changed": True}
    return me.answer("member_removed")


# ---------------------------------------------------------------- messages
def _cursor(value: int | None, name: str, room: str) -> int | None:
    if value is None:
        return None
    try:
        return validate_seq(value, name)
    except InvalidMessage as e:
        raise ProtocolError("invalid", e.detail, room=room, field=name) from e


@messages.get("/{room}/messages", response={200: schemas.MessagePage, **ERRORS})
async def list_messages(request: HttpRequest, room: str, before: int | None = None, after: int | None = None,
                        around: int | None = None, limit: int | None = None) -> dict:
    """A page of history, ascending seq: the newest, or `before`/`after`/`around` a seq (one cursor at most)."""
    history = parse_command("history", {"room": room, "before": before, "limit": limit}, History)
    after, around = _cursor(after, "after", room), _cursor(around, "around", room)
    given = [name for name, value in (("before", before), ("after", after), ("around", around)) if value is not None]
    if len(given) > 1:
        raise ProtocolError("invalid", "give at most one of before, after, around", room=room, field=given[1])
    page: HistoryPage = await read_page(actor(request), history.room, history.limit,
                                        before=history.before, after=after,
                                        around=around)
    next_page: dict[str, int] | None = None
    if page.messages and page.has_more and around is None:
        next_page = {"after": page.messages[-1].seq} if after is not None else {"before": page.messages[0].seq}
    return {"room": room, "messages": [m.to_dict() for m in page.messages], "has_more": page.has_more,
            "has_newer": page.has_newer, "next": next_page}


@messages.post("/{room}/messages", response={201: schemas.SendOut, 200: schemas.SendOut, **ERRORS})
async def send(request: HttpRequest, room: str, payload: schemas.SendIn) -> tuple[int, dict]:
    """Send a message: stored, then broadcast to the room's sockets. Retrying with the same client_id is safe
    (200 with the stored message instead of 201)."""
    cmd = parse_command("send", {"room": room, "body": payload.body, "client_id": payload.client_id}, Send)
    return await post_message(actor(request), cmd.room, cmd.body, cmd.client_id,
                              request.auth.user_id)  # type: ignore[attr-defined]


@messages.post("/{room}/read", response={200: schemas.ReadOut, **ERRORS})
async def read(request: HttpRequest, room: str, payload: schemas.ReadIn) -> dict:
    """Move your read marker forward to `seq` (every socket of yours hears of it)."""
    cmd = parse_command("read", {"room": room, "seq": payload.seq}, Read)
    await mark_read(actor(request), cmd.room, cmd.seq)
    return {"room": cmd.room, "seq": cmd.seq}


# Search (issue 14) goes here: GET /rooms/{room}/search?q= and GET /search?q=, through chat's search service
# with the same Actor, so its results pass Access.authorize like every other read.

api.add_router("/rooms", rooms)
api.add_router("/rooms", messages)
api.add_router("/hooks", webhooks.router)
