"""Group commit for async appends (and changes, ignite_changes): one Ignite transaction for every append
waiting in the process.

Why: an append costs about seven round trips to Ignite (start, lock the counter, read the
idempotency keys, write messages, keys and counter, commit), whatever the number of
messages in it, and pyignite spends most of the client's CPU per request, not per row.
Each event loop therefore keeps one transaction in flight; appends arriving meanwhile wait
in one queue, for every room, and go together into the next transaction. Under load the
batches grow by themselves (more waiting while a commit runs), so the cost per message falls
as the rate rises. Measured in docs/performance.md.

Under sustained load, transactions start at most every `min_interval` seconds (the store's
`commit_interval`): the appends that arrive in between join the next one. Each transaction costs
Daphne about seven socket sends and Ignite a commit whatever its size, so fewer, bigger
transactions cost less per message; an append that finds no transaction started within the
interval starts one at once, so a quiet room waits for nothing.

Order: a sender's next message is queued after its previous one and batches commit one
after the other, so per-room order is the order of arrival in the process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ..errors import StoreError


@dataclass
class PendingAppend:
    room: str
    author: str
    body: str
    client_id: str
    future: asyncio.Future = field(repr=False)
    reply_to: int | None = None  # must exist in the room and not be deleted (checked in the transaction)
    mentions: str | None = None  # the MENTIONS column (ignite_codec.mentions_to_json)
    notified: tuple[str, ...] = ()  # users who get a <P>_USER_MENTIONS row


class Batcher:
    """One event loop's queue of pending items (appends, or changes: anything with a `future`), drained by
    one task, one transaction at a time."""

    def __init__(self, commit: Callable[[list], Awaitable[list]], max_batch: int, min_interval: float = 0.0):
        self._commit = commit  # batch -> one result (or exception) per item, same order
        self._max_batch = max_batch
        self._min_interval = min_interval
        self._queue: list = []
        self._draining = False
        self._last_start = float("-inf")

    async def put(self, item):
        """Queue one item and wait for the transaction that stores it."""
        self._queue.append(item)
        if not self._draining:
            self._draining = True
            asyncio.get_running_loop().create_task(self._drain())
        # shield: a caller that gives up (timeout, disconnect) must not cancel the others' batch.
        return await asyncio.shield(item.future)

    async def _drain(self) -> None:
        try:
            while self._queue:
                await self._wait_for_interval()
                self._last_start = asyncio.get_running_loop().time()
                batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch:]
                try:
                    results = await self._commit(batch)
                except (asyncio.CancelledError, Exception) as exc:  # every waiter hears why
                    for item in batch:
                        settle(item, exc)
                    if isinstance(exc, asyncio.CancelledError):
                        raise
                    continue
                for item, result in zip(batch, results, strict=True):
                    settle(item, result)
        finally:
            self._draining = False
            if self._queue:  # cancelled with work left: let the next put start a new drain
                queue, self._queue = self._queue, []
                stopped = StoreError("write queue stopped")
                for item in queue:
                    settle(item, stopped)

    async def _wait_for_interval(self) -> None:
        """Sleep out the rest of min_interval since the last transaction started, unless a full batch waits."""
        loop = asyncio.get_running_loop()
        remaining = self._last_start + self._min_interval - loop.time()
        if remaining > 0 and len(self._queue) < self._max_batch:
            await asyncio.sleep(remaining)


class AppendBatcher(Batcher):
    """The appends of one event loop."""

    async def submit(self, room: str, author: str, body: str, client_id: str, *, reply_to: int | None = None,
                     mentions: str | None = None, notified: tuple[str, ...] = ()):
        """Queue one append and wait for the transaction that stores it."""
        future = asyncio.get_running_loop().create_future()
        return await self.put(PendingAppend(room, author, body, client_id, future, reply_to, mentions, notified))


def settle(item, result) -> None:
    """Answer one waiting append with its result or exception (once; later answers are ignored)."""
    if item.future.done():
        return
    if isinstance(result, BaseException):
        item.future.set_exception(result)
    else:
        item.future.set_result(result)

