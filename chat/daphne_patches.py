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

4. A direct write path: each accepted WebSocket's scope carries a DirectSocket under
   scope["extensions"]["chat.direct_socket"]. The consumer's outbox writes text frames through it
   synchronously, skipping Channels' send chain, Daphne's handle_reply, autobahn's sendMessage
   and Twisted's write-on-next-loop-turn; the same checks and limits apply (docs/performance.md).

Daphne imports the ASGI application (and so runs this) before it builds its factory.
"""

from __future__ import annotations

import array
import asyncio
import fcntl
import logging
import struct
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
    from twisted.internet.tcp import Server as TCPConnection

    _DIRECT_TRANSPORTS.add(TCPConnection)

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
        # Wait (the caller is the socket's writer task) until the client has read enough.
        await _wait_drained(self, protocol, settings.CHAT["SOCKET_HIGH_WATER_BYTES"])

    original_create_application = Server.create_application

    def create_application(self, protocol, scope):
        if scope.get("type") == "websocket":
            extensions = dict(scope.get("extensions") or {})
            extensions[DIRECT_SOCKET] = DirectSocket(self, protocol, settings.CHAT["SOCKET_HIGH_WATER_BYTES"])
            scope = {**scope, "extensions": extensions}
        return original_create_application(self, protocol, scope)

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
    Server.create_application = create_application
    Server.chat_patched = True


async def _wait_drained(server, protocol, high_water: int) -> int:
    """Wait until a socket has at most `high_water` bytes unread (or is gone); return the last count."""
    transport = getattr(protocol, "transport", None)
    unread = 0
    while transport is not None and not getattr(transport, "disconnected", True):
        unread = buffered_bytes(transport)
        if unread <= high_water:
            return unread
        connection = server.connections.get(protocol)
        if connection is None or connection.get("disconnected"):
            return unread
        await asyncio.sleep(_DRAIN_POLL_SECONDS)
    return unread


def _resume_when_drained(protocol, low_water: int) -> None:
    """Resume reading a paused socket once its consumer has worked its queue down."""
    if getattr(protocol.transport, "disconnected", True):
        return
    if protocol.application_queue.qsize() > low_water:
        asyncio.get_event_loop().call_later(_RESUME_POLL_SECONDS, _resume_when_drained, protocol, low_water)
        return
    protocol.chat_reading_paused = False
    protocol.transport.resumeProducing()


# ---------------------------------------------------------------- direct writes

DIRECT_SOCKET = "chat.direct_socket"
_TEXT_FIN = 0x81  # FIN + opcode 1 (text); a server's frames are never masked
_last_frame: tuple[str | None, bytes, int] = (None, b"", 0)
_DIRECT_TRANSPORTS: set[type] = set()  # plain TCP connections (filled by install())


def text_frame(text: str) -> tuple[bytes, int]:
    """The wire bytes of an unfragmented text frame and its payload size; framed once per broadcast."""
    global _last_frame
    cached_text, frame, size = _last_frame
    if cached_text is text:  # the same event written to every member, one after the other
        return frame, size
    payload = text.encode("utf-8")
    size = len(payload)
    if size <= 125:
        header = bytes((_TEXT_FIN, size))
    elif size <= 0xFFFF:
        header = struct.pack("!BBH", _TEXT_FIN, 126, size)
    else:
        header = struct.pack("!BBQ", _TEXT_FIN, 127, size)
    frame = header + payload
    _last_frame = (text, frame, size)
    return frame, size


class DirectSocket:
    """Writes text frames to one accepted WebSocket straight into its TCP transport.

    `write_now(text)` does what `await send({"type": "websocket.send", "text": text})` does
    through Channels, Daphne and autobahn (dropped once the connection is gone, autobahn's own
    path when the socket is closing or a frame needs compression, fragmenting or refusing), but
    synchronously; the wait for a client that reads too slowly is split out into `drained()`.
    """

    __slots__ = ("server", "protocol", "high_water", "unread_bound")

    def __init__(self, server, protocol, high_water: int):
        self.server = server
        self.protocol = protocol
        self.high_water = high_water
        # An upper bound of buffered_bytes(): the last count plus what was written since (the
        # kernel only ever empties its queue), so most writes need no ioctl to stay under the mark.
        self.unread_bound = 0

    def write_now(self, text: str) -> bool:
        """Write one text frame; False when the client now has more than the high-water mark unread."""
        protocol = self.protocol
        connection = self.server.connections.get(protocol)
        if connection is None or connection.get("disconnected") or not text:
            return True  # what Daphne's handle_reply does with these
        frame, size = text_frame(text)
        if (
            protocol.state != protocol.STATE_OPEN
            or protocol._perMessageCompress is not None
            or protocol.send_queue
            or protocol.logFrames
            or protocol.logOctets
            or 0 < protocol.maxMessagePayloadSize < size
            or 0 < protocol.autoFragmentSize < size
        ):
            protocol.sendMessage(text.encode("utf-8"), False)  # raises when closed or too big, as before
        else:
            _transport_write(protocol.transport, frame)
        self.unread_bound += len(frame)
        if self.unread_bound <= self.high_water:
            return True
        self.unread_bound = buffered_bytes(protocol.transport)
        return self.unread_bound <= self.high_water

    async def drained(self) -> None:
        """Wait until the client has read enough to take more (or the connection is gone)."""
        self.unread_bound = await _wait_drained(self.server, self.protocol, self.high_water)


def _transport_write(transport, data: bytes) -> None:
    """transport.write(data), but sent at once when nothing waits before it.

    Twisted queues every write until the next loop turn, registering the socket for writability
    and unregistering it afterwards: three system calls and a loop turn per frame. Only a plain
    TCP connection is written to directly (never TLS, which wraps or flags the transport).
    """
    if (
        type(transport) in _DIRECT_TRANSPORTS
        and not getattr(transport, "TLS", False)
        and transport.connected
        and not transport.disconnecting
        and not transport._writeDisconnected
        and not transport._tempDataLen
        and transport.offset >= len(transport.dataBuffer)
    ):
        try:
            sent = transport.socket.send(data)
        except OSError:
            sent = 0  # would block, or a broken connection that Twisted's own write will find
        if sent >= len(data):
            return
        data = data[sent:]
    transport.write(data)
