"""Daphne's server with the chat's WebSocket behaviour, plugged in through `server_class`.

`python -m chatsite.daphne_main <daphne arguments>` runs Daphne's own command line with
`ChatServer` as its server class. Against plain Daphne it adds:

1. Close codes: autobahn under Daphne fails a connection by dropping TCP (`failByDrop=True`), so
   clients see 1006 and cannot tell an oversized frame (1009) or invalid UTF-8 (1007) from a network
   fault. Our factory turns `failByDrop` off and gives a closing socket
   CHAT["SLOW_CONSUMER_CLOSE_SECONDS"] to read its close frame.
2. Back-pressure on receive: Daphne parses every incoming frame into an unbounded queue however far
   behind the consumer is, so one open-loop flooder could starve every socket of the process. With
   more than CHAT["MAX_QUEUED_FRAMES"] frames queued we stop reading that socket (`pauseProducing`)
   until the queue is half empty: TCP flow control slows the sender.
3. Back-pressure on send: Daphne's `websocket.send` never waits, so a client that stops reading
   grows the server's buffer without bound. `handle_reply` waits while more than
   CHAT["SOCKET_HIGH_WATER_BYTES"] are unread; the consumer's bounded outbox then fills and the
   slow consumer is closed with 4008 (chat/fanout.py), and a catch-up is paced by the client.
4. Direct writes: each accepted WebSocket's scope carries a DirectSocket under
   scope["extensions"][DIRECT_SOCKET]; the consumer's outbox writes text frames through it.
5. Quiet reads: each chunk read goes to autobahn's frame parser without the debug line autobahn's
   `dataReceived` formats (and drops) for every read.

1 and 2 use public APIs only. 3, 4, 5 and the close grace's ping cancel read Twisted/autobahn
internals, all in chat.daphne_internals behind its version guard; when the guard fails, or with
CHAT_DAPHNE_PLAIN=1, they are left out and Daphne's plain send path serves (the consumer then
writes with self.send).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from dataclasses import dataclass
from typing import Any

from daphne.server import Server
from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol

from . import daphne_internals as internals
from .direct_write import DIRECT_SOCKET

logger = logging.getLogger(__name__)

PLAIN_ENV = "CHAT_DAPHNE_PLAIN"  # "1": never read Twisted/autobahn internals (tests run both ways)
_RESUME_POLL_SECONDS = 0.01


@dataclass(frozen=True)
class SocketLimits:
    """The CHAT settings the server applies to every WebSocket, read once at start."""

    high_water_bytes: int
    max_queued_frames: int
    close_seconds: float

    @classmethod
    def from_settings(cls) -> SocketLimits:
        """The limits from settings.CHAT (Daphne has loaded Django with the ASGI application)."""
        from django.conf import settings

        chat = settings.CHAT
        return cls(chat["SOCKET_HIGH_WATER_BYTES"], chat["MAX_QUEUED_FRAMES"], chat["SLOW_CONSUMER_CLOSE_SECONDS"])


def plain_forced() -> bool:
    """True when CHAT_DAPHNE_PLAIN asks for Daphne's plain send path."""
    return os.environ.get(PLAIN_ENV, "").strip().lower() in ("1", "true", "yes")


class ChatWebSocketProtocol(WebSocketProtocol):
    """Daphne's WebSocket protocol that stops reading a socket whose consumer is too far behind."""

    reading_paused = False
    closed = False
    uses_internals = False  # set by ChatServer.create_application once the connection is checked

    def dataReceived(self, data: bytes) -> None:
        if not (self.uses_internals and internals.receive_data(self, data)):
            super().dataReceived(data)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        super().onMessage(payload, isBinary)
        queue = getattr(self, "application_queue", None)
        limit = self.factory.limits.max_queued_frames
        if queue is None or self.reading_paused or queue.qsize() <= limit:
            return
        self.reading_paused = True
        self.transport.pauseProducing()
        asyncio.get_event_loop().call_later(_RESUME_POLL_SECONDS, self._resume_when_drained, limit // 2)

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        self.closed = True  # autobahn calls this however the connection ends (TLS or not)
        super().onClose(wasClean, code, reason)

    def _resume_when_drained(self, low_water: int) -> None:
        if self.closed:
            return
        if self.application_queue.qsize() > low_water:
            asyncio.get_event_loop().call_later(_RESUME_POLL_SECONDS, self._resume_when_drained, low_water)
            return
        self.reading_paused = False
        self.transport.resumeProducing()


class ChatWebSocketFactory(WebSocketFactory):
    """Daphne's WebSocket factory, building ChatWebSocketProtocol and knowing the socket limits."""

    protocol = ChatWebSocketProtocol

    def __init__(self, server_class: ChatServer, *args: Any, **kwargs: Any):
        self.limits = server_class.limits
        super().__init__(server_class, *args, **kwargs)


class ChatServer(Server):
    """Daphne's Server with the chat's WebSocket factory and, when the internals allow, send back-pressure."""

    def __init__(self, application: Any, *args: Any, limits: SocketLimits | None = None,
                 plain: bool | None = None, ready_callable: Any = None, **kwargs: Any):
        # Server.run() builds its WebSocketFactory and runs the reactor in one method; ready_callable
        # is its hook in between (listeners configured, nothing accepted yet), so ours goes there.
        super().__init__(application, *args, ready_callable=self._use_chat_factory, **kwargs)
        self.then_ready = ready_callable
        self.limits = limits or SocketLimits.from_settings()
        plain = plain_forced() if plain is None else plain
        self.uses_internals = not plain and internals.process_supported()
        if self.uses_internals:
            path = "direct writes, send back-pressure"
        else:
            path = f"Daphne's plain send ({PLAIN_ENV}=1)" if plain else "Daphne's plain send (version guard)"
        loop = type(asyncio.get_event_loop_policy()).__module__.split(".")[0]  # made Daphne's loop: uvloop/asyncio
        logger.info("chat send path: %s; event loop: %s", path, loop)  # the tests read which path they exercise

    def _use_chat_factory(self) -> None:
        factory = ChatWebSocketFactory(self, server=self.server_name)
        factory.setProtocolOptions(
            # Daphne's own options, as Server.run() sets them ...
            autoPingTimeout=self.ping_timeout,
            allowNullOrigin=True,
            openHandshakeTimeout=self.websocket_handshake_timeout,
            maxMessagePayloadSize=self.websocket_max_message_size,
            maxFramePayloadSize=self.websocket_max_frame_size,
            # ... and ours: close codes instead of dropped connections.
            failByDrop=False,
            closeHandshakeTimeout=self.limits.close_seconds,
        )
        self.ws_factory = factory  # where Daphne's HTTP protocol finds it when a request upgrades
        # Everything loaded so far (Django, the app, pyignite) lives as long as the process: keep it out
        # of the garbage collector's full passes, which otherwise stopped the loop for ~50 ms every few
        # hundred room lists (the 500-room connect's p99 went from 58-62 to 11-12 ms, docs/performance.md).
        gc.freeze()
        if self.then_ready is not None:
            self.then_ready()

    def create_application(self, protocol: Any, scope: dict) -> Any:
        """Daphne's create_application, with the DirectSocket in a WebSocket's scope extensions."""
        if scope.get("type") == "websocket" and self.uses_internals and internals.connection_supported(protocol):
            protocol.uses_internals = True
            direct = internals.DirectSocket(self, protocol, self.limits.high_water_bytes)
            scope = {**scope, "extensions": {**(scope.get("extensions") or {}), DIRECT_SOCKET: direct}}
        return super().create_application(protocol, scope)

    async def handle_reply(self, protocol: Any, message: dict) -> None:
        """Daphne's handle_reply; a send then waits while the client has too much unread."""
        kind = message.get("type")
        checked = getattr(protocol, "uses_internals", False)  # HTTP protocols have no such attribute
        if checked and kind == "websocket.close":
            internals.cancel_ping_timeout(protocol)
        await super().handle_reply(protocol, message)
        if checked and kind == "websocket.send":
            # The caller is the socket's writer task: waiting here paces it to the client's reading.
            await internals.wait_drained(self, protocol, self.limits.high_water_bytes)
