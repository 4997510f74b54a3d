"""The heads of rooms (last seq and last change seq), read once per room however many sockets ask at the same moment.

After the channel layer lost events (chat.fanout.RoomHub.resync) every socket of a process asks for
the heads of its rooms at once; one Ignite read per room serves them all.
"""

from __future__ import annotations

import asyncio

from ignite_store.backends.base import BaseMessageStore


class RoomHeads:
    """Single-flight reads of a room's heads: callers that arrive while a read runs share it."""

    def __init__(self, store: BaseMessageStore):
        self.store = store
        self._reads: dict[str, asyncio.Future[dict[str, int]]] = {}

    async def read(self, room: str) -> dict[str, int]:
        """{"last_seq", "last_change_seq"} of the room, from a read that is running or starts now
        (only resyncs call this, after the subscription is back)."""
        read = self._reads.get(room)
        if read is None:
            read = self._reads[room] = asyncio.ensure_future(self._read(room))
            read.add_done_callback(lambda _: self._reads.pop(room, None))
        return await asyncio.shield(read)

    async def _read(self, room: str) -> dict[str, int]:
        last_seq, last_change_seq = await self.store.aheads(room)
        return {"last_seq": last_seq, "last_change_seq": last_change_seq}
