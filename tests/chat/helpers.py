"""Helpers shared by the chat tests."""

from __future__ import annotations

import asyncio
import uuid

import orjson
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User

from chat.routing import websocket_urlpatterns

TIMEOUT = 10.0
application = URLRouter(websocket_urlpatterns)


def unique(prefix: str) -> str:
    """A room or user name no other test uses (tests share Ignite and Redis)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def open_socket(username: str) -> tuple[WebsocketCommunicator, dict]:
    """Connect as `username` (a user in scope, as AuthMiddleware would put it); return it and `hello`."""
    comm = WebsocketCommunicator(application, "/ws/chat/")
    comm.scope["user"] = User(username=username)
    connected, _ = await comm.connect(timeout=TIMEOUT)
    assert connected
    hello = await comm.receive_json_from(timeout=TIMEOUT)
    assert hello["type"] == "hello"
    rooms = await comm.receive_json_from(timeout=TIMEOUT)
    assert rooms["type"] == "rooms", rooms
    return comm, hello


async def recv(comm: WebsocketCommunicator, *types: str) -> dict:
    """The next frame of one of `types`, skipping presence/typing frames that were not asked for."""
    while True:
        frame = orjson.loads(await comm.receive_from(timeout=TIMEOUT))
        if not types or frame["type"] in types:
            return frame
        assert frame["type"] in ("presence", "typing", "message", "rooms", "room", "member", "read", "update",
                                 "mention"), frame


async def send(comm: WebsocketCommunicator, **frame) -> None:
    """Send one JSON frame."""
    await comm.send_to(text_data=orjson.dumps(frame).decode())


async def public_room(room: str, nodes: list | None = None) -> None:
    """Make sure `room` exists as a public room (rooms are created before they are joined)."""
    from tests.fixtures.rooms import acreate_public_rooms

    await acreate_public_rooms(room, nodes=nodes)


async def join(comm: WebsocketCommunicator, room: str, *, create: bool = True, **extra) -> dict:
    """Join `room` (created as a public room first); return `joined` (the presence snapshot is consumed too)."""
    if create:
        await public_room(room)
    await send(comm, type="join", room=room, **extra)
    joined = await recv(comm, "joined")
    snapshot = await recv(comm, "presence")
    assert snapshot["event"] == "snapshot"
    return joined


async def assert_silent(comm: WebsocketCommunicator, wait: float = 0.5, *types: str) -> None:
    """Nothing (of `types`, if given) arrives within `wait` seconds."""
    deadline = asyncio.get_running_loop().time() + wait
    while True:
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0 or await comm.receive_nothing(timeout=left):
            return
        frame = orjson.loads(await comm.receive_from())
        assert types and frame["type"] not in types, frame
