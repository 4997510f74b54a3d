"""What the consumer and the server share about direct writes: the scope key and the frame encoder.

Under `python -m chatsite.daphne_main`, each accepted WebSocket's scope may carry a writer under
scope["extensions"][DIRECT_SOCKET] (chat.daphne_internals.DirectSocket): the consumer's outbox then
writes text frames through it synchronously instead of through Channels' send chain. Nothing here
imports Daphne, Twisted or autobahn, so the consumer and the tests can import it anywhere.
"""

from __future__ import annotations

import struct

DIRECT_SOCKET = "chat.direct_socket"

_TEXT_FIN = 0x81  # FIN + opcode 1 (text); a server's frames are never masked
_last_frame: tuple[str | None, bytes, int] = (None, b"", 0)


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
