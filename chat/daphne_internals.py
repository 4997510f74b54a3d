"""Every read of Twisted's and autobahn's private state, behind one version guard.

The public APIs cannot tell us three things the chat needs under load:

* how many bytes a client has not read yet: Twisted's write buffer (`dataBuffer`, `offset`,
  `_tempDataLen`) plus the kernel's send queue. `wait_drained()` makes `websocket.send` wait on it
  (back-pressure on send; without it a client that stops reading grows the server's buffer forever);
* whether autobahn would do anything to a text frame beyond framing it (`_perMessageCompress`,
  `send_queue`, frame logging, fragmenting, the size limit) and whether Twisted's buffer is empty,
  so `DirectSocket` can write the frame to the socket at once (docs/performance.md, 0.74-0.85x CPU);
* autobahn's pending ping timeout (`autoPingTimeoutCall`): cancelled when the application closes, so
  the close handshake timeout, not a ping sent earlier, decides when a slow consumer is cut;
* autobahn's per-read entry point (`_dataReceived`), called without the debug line its public
  `dataReceived` formats for every read (`receive_data`).

`process_supported()` checks once per process the versions this was written against and the class
attributes it reads; `connection_supported()` checks the per-connection ones (plain TCP, no TLS).
When either fails, one warning is logged and chat.daphne_server keeps Daphne's plain behaviour for
these three things. Nothing else in the project reads a private attribute of these libraries.
"""

from __future__ import annotations

import array
import asyncio
import fcntl
import functools
import logging
import socket
import termios
from collections import deque
from collections.abc import Callable
from importlib import metadata
from typing import Any

import txaio

from .direct_write import text_frame

logger = logging.getLogger(__name__)

# Major versions whose internals match what this module reads (checked on daphne 4.2.3, Twisted 26.10,
# autobahn 26.10); attributes are checked too, so a minor change that moves them is caught as well.
_KNOWN_MAJORS = {"daphne": (4,), "twisted": range(23, 27), "autobahn": range(23, 27)}
_DRAIN_POLL_SECONDS = 0.02
_warned_connection = False


# ---------------------------------------------------------------- version guard

def _version_problem(version_of: Callable[[str], str] = metadata.version) -> str | None:
    for package, majors in _KNOWN_MAJORS.items():
        try:
            version = version_of(package)
            major = int(version.split(".")[0])
        except (metadata.PackageNotFoundError, ValueError):
            return f"{package} version unknown"
        if major not in majors:
            return f"{package} {version} is not a version these internals were checked against"
    return None


def _class_problem() -> str | None:
    from autobahn.websocket.protocol import WebSocketProtocol
    from twisted.internet import abstract, tcp

    descriptor = abstract.FileDescriptor
    if not (isinstance(descriptor.dataBuffer, bytes) and type(descriptor.offset) is int
            and type(descriptor._writeDisconnected) is bool and issubclass(tcp.Connection, descriptor)):
        return "Twisted's FileDescriptor write buffer has changed"
    if not (type(WebSocketProtocol.STATE_OPEN) is int and callable(getattr(WebSocketProtocol, "sendMessage", None))
            and callable(getattr(WebSocketProtocol, "_dataReceived", None))):
        return "autobahn's WebSocketProtocol has changed"
    return None


@functools.cache
def process_supported() -> bool:
    """True when the installed Daphne, Twisted and autobahn are the ones this module reads (warns once if not)."""
    problem = _version_problem() or _class_problem()
    if problem:
        logger.warning("%s: Daphne's plain send path is used (no direct writes, no send back-pressure)", problem)
    return problem is None


def connection_supported(protocol: Any) -> bool:
    """True when this connection's private attributes are there with the expected types (plain TCP, no TLS)."""
    global _warned_connection
    from twisted.internet import tcp

    transport = getattr(protocol, "transport", None)
    if not isinstance(transport, tcp.Connection) or getattr(transport, "TLS", False):
        return False  # TLS wraps the transport: expected, and served by Daphne's plain path
    ok = (
        type(getattr(transport, "_tempDataLen", None)) is int
        and isinstance(getattr(transport, "socket", None), socket.socket)
        and isinstance(getattr(protocol, "send_queue", None), deque)
        and hasattr(protocol, "_perMessageCompress")
        and hasattr(protocol, "autoPingTimeoutCall")
    )
    if not ok and not _warned_connection:
        _warned_connection = True
        logger.warning("a WebSocket connection lacks the Twisted/autobahn attributes chat.daphne_internals reads: "
                       "Daphne's plain send path is used for such connections")
    return ok


# ---------------------------------------------------------------- unread bytes and back-pressure on send

def _kernel_unsent(transport: Any) -> int:
    """Bytes in the kernel's send queue of the transport's socket (Linux SIOCOUTQ), 0 if unknown."""
    try:
        buffer = array.array("i", [0])
        fcntl.ioctl(transport.fileno(), termios.TIOCOUTQ, buffer)
        return buffer[0]
    except (AttributeError, OSError, ValueError):
        return 0


def buffered_bytes(transport: Any) -> int:
    """Bytes written to a Twisted TCP transport that the client has not received yet."""
    twisted = transport._tempDataLen + len(transport.dataBuffer) - transport.offset
    return twisted + _kernel_unsent(transport)


def _gone(server: Any, protocol: Any) -> bool:
    connection = server.connections.get(protocol)
    return connection is None or bool(connection.get("disconnected"))  # as Daphne's handle_reply tells


async def wait_drained(server: Any, protocol: Any, high_water: int) -> int:
    """Wait until a socket has at most `high_water` bytes unread (or is gone); return the last count."""
    transport = protocol.transport
    unread = 0
    while not transport.disconnected:
        unread = buffered_bytes(transport)
        if unread <= high_water or _gone(server, protocol):
            return unread
        await asyncio.sleep(_DRAIN_POLL_SECONDS)
    return unread


def cancel_ping_timeout(protocol: Any) -> None:
    """Let the close handshake timeout, not a pending ping timeout, decide when a closing socket is cut."""
    pending = protocol.autoPingTimeoutCall
    if pending is not None:
        pending.cancel()
        protocol.autoPingTimeoutCall = None  # as autobahn does after a pong: it must not cancel it again


# ---------------------------------------------------------------- reads

def receive_data(protocol: Any, data: bytes) -> bool:
    """What autobahn's Twisted `dataReceived` does, without its debug line; False when debug logging is on.

    That method formats the line's arguments for every chunk read, before the logger drops it, and
    the formatting colours them with click whenever click is importable (import-linter brings it):
    about 5 % of Daphne's CPU at 400 msg/s (docs/performance.md). The frames are parsed by autobahn
    as before. With autobahn's debug logging on, the caller runs autobahn's own method.
    """
    if txaio.get_global_log_level() in ("debug", "trace"):  # type: ignore[attr-defined]  # set by use_twisted()
        return False
    protocol._dataReceived(data)
    return True


# ---------------------------------------------------------------- direct writes

class DirectSocket:
    """Writes text frames to one accepted WebSocket straight into its TCP transport.

    `write_now(text)` does what `await send({"type": "websocket.send", "text": text})` does
    through Channels, Daphne and autobahn (dropped once the connection is gone, autobahn's own
    path when the socket is closing or a frame needs compression, fragmenting or refusing), but
    synchronously; the wait for a client that reads too slowly is split out into `drained()`.
    """

    __slots__ = ("server", "protocol", "high_water", "unread_bound")

    def __init__(self, server: Any, protocol: Any, high_water: int):
        self.server = server
        self.protocol = protocol
        self.high_water = high_water
        # An upper bound of buffered_bytes(): the last count plus what was written since (the
        # kernel only ever empties its queue), so most writes need no ioctl to stay under the mark.
        self.unread_bound = 0

    def write_now(self, text: str) -> bool:
        """Write one text frame; False when the client now has more than the high-water mark unread."""
        protocol = self.protocol
        if not text or _gone(self.server, protocol):
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
        self.unread_bound = await wait_drained(self.server, self.protocol, self.high_water)


def _transport_write(transport: Any, data: bytes) -> None:
    """transport.write(data), but sent at once when nothing waits before it.

    Twisted queues every write until the next loop turn, registering the socket for writability
    and unregistering it afterwards: three system calls and a loop turn per frame. Only plain TCP
    reaches here (connection_supported() turns TLS away).
    """
    if (
        transport.connected
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
