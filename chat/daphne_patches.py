"""Two behaviours Daphne lacks, added when the chat app loads under Daphne.

1. Close codes: autobahn under Daphne fails a connection by dropping TCP (`failByDrop=True`),
   so clients see 1006 and cannot tell an oversized frame (1009) or invalid UTF-8 (1007) from a
   network fault. We turn `failByDrop` off.
2. Slow consumers: Daphne writes every outgoing frame into the Twisted transport without
   back-pressure, so a client that stops reading makes the server buffer grow without bound.
   After each write we look at the bytes the transport still holds; above
   CHAT["MAX_SOCKET_BUFFER_BYTES"] the socket is closed with 4008 (docs/protocol.md), further
   frames are dropped, and the connection is cut if the client has not read up to the close
   frame within CHAT["SLOW_CONSUMER_CLOSE_SECONDS"].

Daphne imports the ASGI application (and so runs this) before it builds its factory.
"""

from __future__ import annotations

import array
import fcntl
import logging
import termios

logger = logging.getLogger(__name__)

CLOSE_SLOW_CONSUMER = 4008


def _kernel_unsent(transport) -> int:
    """Bytes in the kernel's send queue of the transport's socket (Linux SIOCOUTQ), 0 if unknown."""
    try:
        buffer = array.array("i", [0])
        fcntl.ioctl(transport.fileno(), termios.TIOCOUTQ, buffer)
        return buffer[0]
    except (AttributeError, OSError, ValueError):
        return 0


def buffered_bytes(transport) -> int:
    """Bytes written to a Twisted TCP transport that the client has not received yet.

    Twisted's own buffer plus the kernel's send queue: a non-reading client first fills the
    kernel buffers (hundreds of KiB on loopback), only then Twisted's.
    """
    pending = getattr(transport, "_tempDataLen", 0) or 0
    data = getattr(transport, "dataBuffer", b"") or b""
    twisted = pending + len(data) - (getattr(transport, "offset", 0) or 0)
    return twisted + _kernel_unsent(transport)


def install() -> None:
    """Patch Daphne's WebSocket factory and protocol (idempotent; a no-op without Daphne)."""
    try:
        from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol
    except ImportError:  # not running under Daphne
        return
    if getattr(WebSocketProtocol, "chat_patched", False):
        return
    from django.conf import settings

    original_options = WebSocketFactory.setProtocolOptions

    def set_protocol_options(self, *args, **kwargs):
        kwargs.setdefault("failByDrop", False)
        return original_options(self, *args, **kwargs)

    original_send = WebSocketProtocol.serverSend

    def server_send(self, content, binary=False):
        if getattr(self, "chat_slow_closed", False):
            return  # already closing: drop further frames instead of buffering them
        original_send(self, content, binary)
        limit = settings.CHAT["MAX_SOCKET_BUFFER_BYTES"]
        if self.transport is not None and buffered_bytes(self.transport) > limit:
            self.chat_slow_closed = True
            logger.info("slow consumer %s: over %d bytes unsent, closing with %d",
                        self.client_addr, limit, CLOSE_SLOW_CONSUMER)
            # Frames already queued stay queued (cutting them would corrupt the stream), nothing
            # more is added, and the client gets SLOW_CONSUMER_CLOSE_SECONDS to read up to the
            # close frame before the TCP connection is dropped (then it sees 1006).
            self.closeHandshakeTimeout = settings.CHAT["SLOW_CONSUMER_CLOSE_SECONDS"]
            self.sendClose(code=CLOSE_SLOW_CONSUMER, reason="slow consumer")

    WebSocketFactory.setProtocolOptions = set_protocol_options
    WebSocketProtocol.serverSend = server_send
    WebSocketProtocol.chat_patched = True
