"""Read markers, coalesced: at most one Ignite write per user and room per flush interval (1 s).

A `read` frame moves the marker in memory at once (and is echoed to the user's other sockets
by the session); a flush task writes every marker that moved since the last flush in one
transaction. Markers only move forward, in memory and in the store, so a late or repeated
write cannot move one back. A marker noted less than a second before the process dies is lost:
the client sends it again on its next read (docs/architecture.md).
"""

from __future__ import annotations

import asyncio
import logging

from ignite_store import StoreError
from ignite_store.backends.base import BaseMessageStore

logger = logging.getLogger(__name__)


class ReadMarkers:
    """The read markers of one event loop waiting to be written."""

    def __init__(self, store: BaseMessageStore, interval: float):
        self.store = store
        self.interval = interval
        self._pending: dict[tuple[str, str], int] = {}
        self._task: asyncio.Task | None = None

    def note(self, room: str, user: str, seq: int) -> None:
        """Remember that `user` has read `room` up to `seq` (forward only); written on the next flush."""
        key = (room, user)
        if seq > self._pending.get(key, -1):
            self._pending[key] = seq
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(self.interval)
        await self.flush()

    async def flush(self) -> None:
        """Write every pending marker now (one transaction); failed ones wait for the next flush."""
        batch, self._pending = self._pending, {}
        if not batch:
            return
        try:
            await self.store.amark_read(batch)
        except StoreError:
            logger.warning("storing %d read markers failed; retrying at the next flush", len(batch), exc_info=True)
            for key, seq in batch.items():
                if seq > self._pending.get(key, -1):
                    self._pending[key] = seq
        # Markers noted while this flush waited for the store (note() saw a flush running) go next.
        if self._pending and (self._task is None or self._task.done() or self._task is asyncio.current_task()):
            self._task = asyncio.get_running_loop().create_task(self._flush_later())
