"""Two behaviours Daphne lacks, added when the chat app loads under Daphne.

1. Close codes: autobahn under Daphne fails a connection by dropping TCP (`failByDrop=True`),
   so clients see 1006 and cannot tell an oversized frame (1009) or invalid UTF-8 (1007) from a
   network fault. We turn `failByDrop` off.
2. Back-pressure: Daphne's ASGI `send` never waits; it writes every frame into the Twisted
   transport, so a client that stops reading makes the server's buffer grow without bound.
   We make `websocket.send` wait while more than CHAT["SOCKET_HIGH_WATER_BYTES"] are unread
   (Twisted's buffer plus the kernel's send queue). The consumer's bounded outbox then fills
   up, and the consumer closes the socket as a slow consumer (4008, chat/fanout.py); a
   catch-up is paced by the client's reading instead of piling up in memory.
   A close frame queued behind unread data is given CHAT["SLOW_CONSUMER_CLOSE_SECONDS"] to be
   read before the TCP connection is cut.
3. Back-pressure the other way: Daphne reads and parses every incoming frame into an unbounded
   queue, however far behind the consumer is, so an open-loop flooder could make one process
   read and queue millions of frames (all other sockets of the process starve). When more than
   CHAT["MAX_QUEUED_FRAMES"] frames wait for the consumer, we stop reading that socket
   (`pauseProducing`) until the queue is half empty: TCP flow control slows the sender.

Daphne imports the ASGI application (and so runs this) before it builds its factory.
"""

from __future__ import annotations

import array
import asyncio
import fcntl
import logging
import termios

logger = logging.getLogger(__name__)

_DRAIN_POLL_SECONDS = 0.02
_RESUME_POLL_SECONDS = 0.01


def _kernel_unsent(transport) -> int:
    """Bytes in the kernel's send queue of the transport's socket (Linux SIOCOUTQ), 0 if unknown."""
    try:
        buffer = array.array("i", [0])
        fcntl.ioctl(transport.fileno(), termios.TIOCOUTQ, buffer)
        return buffer[0]
    except (AttributeError, OSError, ValueError):
        return 0


def buffered_bytes(transport) -> int:
    """Bytes written to a Twisted TCP transport that the client has not received yet."""
    pending = getattr(transport, "_tempDataLen", 0) or 0
    data = getattr(transport, "dataBuffer", b"") or b""
    twisted = pending + len(data) - (getattr(transport, "offset", 0) or 0)
    return twisted + _kernel_unsent(transport)


def install() -> None:
    """Patch Daphne's server and WebSocket factory (idempotent; a no-op without Daphne)."""
    try:
        from daphne.server import Server
        from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol
    except ImportError:  # not running under Daphne
        return
    if getattr(Server, "chat_patched", False):
        return
    from django.conf import settings

    original_options = WebSocketFactory.setProtocolOptions

    def set_protocol_options(self, *args, **kwargs):
        kwargs.setdefault("failByDrop", False)
        kwargs.setdefault("closeHandshakeTimeout", settings.CHAT["SLOW_CONSUMER_CLOSE_SECONDS"])
        return original_options(self, *args, **kwargs)

    original_reply = Server.handle_reply

    async def handle_reply(self, protocol, message):
        if message.get("type") == "websocket.close":
            # From now on the close handshake timeout decides when to cut the connection; a
            # ping sent earlier must not cut it first, or the client never reads the close code.
            pending_ping_timeout = getattr(protocol, "autoPingTimeoutCall", None)
            if pending_ping_timeout is not None:
                pending_ping_timeout.cancel()
                protocol.autoPingTimeoutCall = None
        await original_reply(self, protocol, message)
        if message.get("type") != "websocket.send":
            return
        transport = getattr(protocol, "transport", None)
        high_water = settings.CHAT["SOCKET_HIGH_WATER_BYTES"]
        # Wait (the caller is the socket's writer task) until the client has read enough.
        while transport is not None and not getattr(transport, "disconnected", True):
            if buffered_bytes(transport) <= high_water:
                return
            connection = self.connections.get(protocol)
            if connection is None or connection.get("disconnected"):
                return
            await asyncio.sleep(_DRAIN_POLL_SECONDS)

    original_on_message = WebSocketProtocol.onMessage

    def on_message(self, payload, is_binary):
        original_on_message(self, payload, is_binary)
        queue = getattr(self, "application_queue", None)
        limit = settings.CHAT["MAX_QUEUED_FRAMES"]
        if queue is None or queue.qsize() <= limit or getattr(self, "chat_reading_paused", False):
            return
        self.chat_reading_paused = True
        self.transport.pauseProducing()
        asyncio.get_event_loop().call_later(_RESUME_POLL_SECONDS, _resume_when_drained, self, limit // 2)

    WebSocketFactory.setProtocolOptions = set_protocol_options
    WebSocketProtocol.onMessage = on_message
    Server.handle_reply = handle_reply
    Server.chat_patched = True


def _resume_when_drained(protocol, low_water: int) -> None:
    """Resume reading a paused socket once its consumer has worked its queue down."""
    if getattr(protocol.transport, "disconnected", True):
        return
    if protocol.application_queue.qsize() > low_water:
        asyncio.get_event_loop().call_later(_RESUME_POLL_SECONDS, _resume_when_drained, protocol, low_water)
        return
    protocol.chat_reading_paused = False
    protocol.transport.resumeProducing()
