"""The one WebSocket consumer: handshake checks, size check, parse, hand to ChatSession."""

from __future__ import annotations

import asyncio
import logging
import uuid

from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from .direct_write import DIRECT_SOCKET
from .error_text import localize_error
from .fanout import Outbox
from .locale import socket_language
from .protocol import ProtocolError, encode, error_frame, hello_frame, parse_frame
from .revocation import CLOSE_REVOKED
from .service import ChatSession
from .services import get_services

logger = logging.getLogger(__name__)

# Close codes (docs/protocol.md, "Close codes").
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL_ERROR = 1011
CLOSE_SLOW_CONSUMER = 4008
CLOSE_TOO_BIG_FALLBACK = 4009
CLOSE_TOO_MANY_CONNECTIONS = 4029
CLOSE_FLOODING = 4429


class ChatConsumer(AsyncWebsocketConsumer):
    """Thin: every rule lives in chat.service and chat.protocol."""

    # The RoomHub subscribes once per process; a channel per socket would cost a Redis
    # subscription per connection for nothing.
    channel_layer_alias = "__chat_no_layer__"

    session: ChatSession | None = None
    outbox: Outbox | None = None
    registered: bool | None = False  # None: Redis was down at connect, nothing counted
    flood_closed = False

    async def __call__(self, scope, receive, send) -> None:
        # AsyncConsumer.__call__ without a channel layer, whose await_many_dispatch wraps every
        # frame's receive() in a new task and an asyncio.wait(): one plain loop does the same.
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
                # receive() returns without yielding while frames are queued: yield once per frame,
                # as the task did, so a flooding socket's backlog cannot hold up the other sockets.
                await asyncio.sleep(0)
        except StopConsumer:
            pass

    async def dispatch(self, message) -> None:
        # Channels closes stale database connections before every message, through a thread
        # pool hop. Frames never touch the database (the user is resolved at the handshake), and
        # that hop cost as much as handling a frame (docs/performance.md), so frames skip it.
        if message["type"] == "websocket.receive":
            text = message.get("text")
            if text is not None:
                await self.receive(text_data=text)
            else:
                await self.receive(bytes_data=message["bytes"])
        else:
            await super().dispatch(message)

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close()  # before accept: the handshake is refused with HTTP 403
            return
        self.username = user.get_username()
        self.conn_id = uuid.uuid4().hex
        language = socket_language(self.scope)  # error details are written in it; None: as written (English)
        self.language = None if language == settings.LANGUAGE_CODE else language
        services = get_services()
        await self.accept()
        try:
            self.registered = await services.presence.register_connection(
                self.username, self.conn_id, services.limits.max_connections_per_user
            )
        except Exception:
            # Redis is down: accept (degraded) rather than lock everybody out; the presence heartbeat counts
            # the socket once Redis is back and closes it with 4029 if it was one too many (docs/protocol.md).
            logger.warning("connection registry unavailable", exc_info=True)
            self.registered = None
            services.presence.count_later(self.username, self.conn_id, services.limits.max_connections_per_user,
                                          self._over_cap)
        if self.registered is False:
            refusal = error_frame("too_many_connections", "close another tab first")
            await self.send(text_data=encode(localize_error(refusal, self.language) if self.language else refusal))
            await self.close(code=CLOSE_TOO_MANY_CONNECTIONS)
            return
        # Under chatsite.daphne_main (chat.daphne_server) frames skip Channels' send chain; elsewhere self.send.
        direct = (self.scope.get("extensions") or {}).get(DIRECT_SOCKET)
        self.outbox = Outbox(self._write, self._slow_consumer, services.limits.outbox_max_frames,
                             self.username, on_write_error=self._write_failed, direct=direct)
        session = self.scope.get("session")
        self.session = ChatSession(self.username, self.conn_id, self.outbox, services,
                                   session_key=getattr(session, "session_key", None), on_revoked=self._revoked,
                                   language=self.language)
        await self.session.emit(hello_frame(self.username, services.limits))
        await self.session.start()

    def _over_cap(self) -> None:
        self._closing = asyncio.get_running_loop().create_task(self._refuse_late())

    async def _refuse_late(self) -> None:
        self.registered = False  # the heartbeat did not count it: nothing to unregister
        if self.outbox is not None:
            await self.outbox.put(encode(error_frame("too_many_connections", "close another tab first")))
        await self._close_quietly(CLOSE_TOO_MANY_CONNECTIONS)

    def _revoked(self, reason: str) -> None:
        logger.info("closing a socket of %s: %s", self.username, reason)
        self.flood_closed = True  # read nothing more
        self._closing = asyncio.get_running_loop().create_task(self._close_quietly(CLOSE_REVOKED))

    async def _write(self, text: str) -> None:
        await self.send(text_data=text)

    def _slow_consumer(self) -> None:
        self._closing = asyncio.get_running_loop().create_task(self._close_quietly(CLOSE_SLOW_CONSUMER))

    def _write_failed(self) -> None:
        self._closing = asyncio.get_running_loop().create_task(self._close_quietly(CLOSE_INTERNAL_ERROR))

    async def _close_quietly(self, code: int) -> None:
        try:
            await self.close(code=code)
        except Exception:
            logger.debug("close failed", exc_info=True)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.session is None or self.flood_closed:
            return  # frames still queued behind a close are dropped unread
        if not await self.session.admit_frame():
            if self.session.flooding:
                self.flood_closed = True
                logger.info("%s ignores the frame rate limit; closing with %d", self.username, CLOSE_FLOODING)
                await self._close_quietly(CLOSE_FLOODING)
            return
        limit = self.session.services.limits.max_frame_bytes
        size = len(bytes_data or b"") if text_data is None else _utf8_len(text_data, limit)
        if size > limit:
            await self._close_too_big()  # never parsed
            return
        if text_data is None:
            await self.session.emit(error_frame("binary_not_supported", "send JSON text frames"))
            return
        try:
            command = parse_frame(text_data)
        except ProtocolError as e:
            await self.session.emit(e.to_frame())
            return
        try:
            await self.session.handle(command)
        except Exception:
            logger.exception("frame failed: %r", command)
            await self.session.emit(error_frame("internal", "the server failed on this frame",
                                                ref=type(command).__name__.lower()))

    async def _close_too_big(self) -> None:
        try:
            await self.close(code=CLOSE_TOO_BIG)
        except Exception:
            # Daphne (autobahn) lets only the protocol itself send 1009; it does so when started with
            # --websocket-max-message-size=MAX_FRAME_BYTES, as it should be. Without that flag:
            await self.close(code=CLOSE_TOO_BIG_FALLBACK)

    async def disconnect(self, code: int) -> None:
        if self.session is not None:
            await self.session.close()
        if self.outbox is not None:
            await self.outbox.aclose()
        if self.registered is not False:  # None: accepted while Redis was down, maybe counted since
            try:
                await get_services().presence.unregister_connection(self.username, self.conn_id)
            except Exception:
                logger.warning("connection registry unavailable", exc_info=True)


def _utf8_len(text: str, limit: int) -> int:
    """UTF-8 size of `text`, without encoding it when the answer is obvious."""
    if len(text) > limit:
        return len(text)  # at least one byte per character: too big already
    if len(text) * 4 <= limit:
        return len(text)  # at most four bytes per character: small enough
    return len(text.encode("utf-8", "surrogatepass"))
