"""/api/v1/: thin async views over the chat's own services (docs/api.md).

Every view builds an Actor for the caller (chat.actor.Answers) on this process's ChatServices, then
runs the same code the socket runs: chat.room_commands for rooms, chat.messages for messages, so
authorization (chat.access.Access.authorize), validation (chat.protocol.parse_command), the store and
the fan-out are the socket's. A message sent here is stored, then broadcast as the same `message` frame.
"""

from __future__ import annotations

from typing import Any

import orjson
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Router
from ninja.parser import Parser
from ninja.renderers import BaseRenderer

from chat import room_commands, search_commands
from chat.actor import Answers
from chat.messages import HistoryPage, mark_read, read_changes, read_page
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
from chat.protocol_changes import DeleteMessage, Edit, React
from chat.services import get_services
from ignite_store import InvalidMessage
from ignite_store.validation import validate_seq

from . import errors, schemas, webhooks
from .auth import AUTH, Caller
from .posting import change_message, post_message


class OrjsonParser(Parser):
    """Bodies are parsed like socket frames (orjson: lone surrogates and 1e999 are refused)."""

    def parse_body(self, request: HttpRequest) -> Any:
        return orjson.loads(request.body)


def ok(data: Any, status: int = 200) -> HttpResponse:
    """The response body encoded here, not validated again by the response schema (which documents it):
    pydantic's validation of a 50-message page cost ~8 ms of CPU, orjson's encoding 0.1 ms."""
    return HttpResponse(orjson.dumps(data), status=status, content_type="application/json")


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


def caller_id(request: HttpRequest) -> int:
    return request.auth.user_id  # type: ignore[attr-defined]


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
async def my_rooms(request: HttpRequest) -> HttpResponse:
    """Your rooms, most recently active first, with unread and mention counts."""
    me = actor(request)
    await room_commands.list_rooms(me, None)
    return ok(me.answer("rooms")["rooms"])


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
                        around: int | None = None, after_change: int | None = None,
                        limit: int | None = None) -> HttpResponse:
    """A page of history, ascending seq: the newest, or `before`/`after`/`around` a seq; or, with `after_change`,
    the current state of the messages edited, deleted or reacted to after that change cursor (ascending change
    seq; `last_change_seq` is the room's change head). One cursor at most."""
    history = parse_command("history", {"room": room, "before": before, "limit": limit}, History)
    after, around = _cursor(after, "after", room), _cursor(around, "around", room)
    after_change = _cursor(after_change, "after_change", room)
    given = [name for name, value in (("before", before), ("after", after), ("around", around),
                                      ("after_change", after_change)) if value is not None]
    if len(given) > 1:
        raise ProtocolError("invalid", "give at most one of before, after, around, after_change", room=room,
                            field=given[1])
    if after_change is not None:
        changes = await read_changes(actor(request), history.room, after_change, history.limit)
        next_change = {"after_change": changes.upto} if changes.has_more else None
        return ok({"room": room, "messages": [m.to_dict() for m in changes.messages], "has_more": changes.has_more,
                   "has_newer": None, "next": next_change, "last_change_seq": changes.last_change_seq})
    page: HistoryPage = await read_page(actor(request), history.room, history.limit, before=history.before,
                                        after=after, around=around)
    next_page: dict[str, int] | None = None
    if page.messages and page.has_more and around is None:
        next_page = {"after": page.messages[-1].seq} if after is not None else {"before": page.messages[0].seq}
    return ok({"room": room, "messages": [m.to_dict() for m in page.messages], "has_more": page.has_more,
               "has_newer": page.has_newer, "next": next_page})


@messages.post("/{room}/messages", response={201: schemas.SendOut, 200: schemas.SendOut, **ERRORS})
async def send(request: HttpRequest, room: str, payload: schemas.SendIn) -> HttpResponse:
    """Send a message: stored, then broadcast to the room's sockets. Retrying with the same client_id is safe
    (200 with the stored message instead of 201). `reply_to` quotes a message of the room; @username mentions."""
    fields = {"room": room, "body": payload.body, "client_id": payload.client_id, "reply_to": payload.reply_to}
    cmd = parse_command("send", fields, Send)
    status, message = await post_message(actor(request), cmd, caller_id(request))
    return ok(message, status)


@messages.patch("/{room}/messages/{seq}", response={200: schemas.ChangeOut, **ERRORS})
async def edit(request: HttpRequest, room: str, seq: int, payload: schemas.EditIn) -> HttpResponse:
    """Edit your own message (within the server's edit window); idempotent by client_id."""
    cmd = parse_command("edit", {"room": room, "seq": seq, "body": payload.body, "client_id": payload.client_id},
                        Edit)
    return ok(await change_message(actor(request), cmd, caller_id(request)))


@messages.delete("/{room}/messages/{seq}", response={200: schemas.ChangeOut, **ERRORS})
async def delete(request: HttpRequest, room: str, seq: int, client_id: str) -> HttpResponse:
    """Delete your own message (it stays as a tombstone); idempotent by client_id."""
    cmd = parse_command("delete", {"room": room, "seq": seq, "client_id": client_id}, DeleteMessage)
    return ok(await change_message(actor(request), cmd, caller_id(request)))


@messages.put("/{room}/messages/{seq}/reactions/{emoji}", response={200: schemas.ChangeOut, **ERRORS})
async def react(request: HttpRequest, room: str, seq: int, emoji: str) -> HttpResponse:
    """Add your reaction (`changed` is false when it was there already)."""
    cmd = parse_command("react", {"room": room, "seq": seq, "emoji": emoji}, React)
    return ok(await change_message(actor(request), cmd, caller_id(request)))


@messages.delete("/{room}/messages/{seq}/reactions/{emoji}", response={200: schemas.ChangeOut, **ERRORS})
async def unreact(request: HttpRequest, room: str, seq: int, emoji: str) -> HttpResponse:
    """Remove your reaction."""
    cmd = parse_command("unreact", {"room": room, "seq": seq, "emoji": emoji}, React)
    return ok(await change_message(actor(request), cmd, caller_id(request)))


@messages.post("/{room}/read", response={200: schemas.ReadOut, **ERRORS})
async def read(request: HttpRequest, room: str, payload: schemas.ReadIn) -> dict:
    """Move your read marker forward to `seq` (every socket of yours hears of it)."""
    cmd = parse_command("read", {"room": room, "seq": payload.seq}, Read)
    await mark_read(actor(request), cmd.room, cmd.seq)
    return {"room": cmd.room, "seq": cmd.seq}


@api.get("/search", response={200: schemas.SearchResults, **ERRORS}, tags=["search"])
async def search(request: HttpRequest, query: str, room: str | None = None, author: str | None = None,
                 since: int | None = None, until: int | None = None, cursor: str | None = None,
                 limit: int = search_commands.SEARCH_LIMIT_DEFAULT) -> HttpResponse:
    """Messages matching `query` in the rooms you may read now (or in `room`), newest first; `cursor` of the
    answer asks for the next page. `since`/`until` are ms since the epoch."""
    fields = {"query": query, "room": room, "author": author, "since": since, "until": until, "cursor": cursor,
              "limit": limit}
    me = actor(request)
    await search_commands.search(me, parse_command("search", fields, search_commands.Search))
    results = dict(me.answer("search_results"))
    results.pop("type")
    return ok(results)


@messages.get("/{room}/search", response={200: schemas.SearchResults, **ERRORS}, tags=["search"])
async def search_room(request: HttpRequest, room: str, query: str, author: str | None = None,
                      since: int | None = None, until: int | None = None, cursor: str | None = None,
                      limit: int = search_commands.SEARCH_LIMIT_DEFAULT) -> HttpResponse:
    """Messages of `room` matching `query`, newest first: `GET /search` with the room filled in."""
    return await search(request, query, room=room, author=author, since=since, until=until, cursor=cursor,
                        limit=limit)

api.add_router("/rooms", rooms)
api.add_router("/rooms", messages)
api.add_router("/hooks", webhooks.router)
