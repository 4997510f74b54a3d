"""Running operations against Ignite: the client pool, error translation, retry and timeout, SQL.

`IgniteSession.run(operation, retry=...)` is the one runner of the backend: every operation is an
`async def operation(client)` on the event loop's AioClient. The sync API (admin views, management
commands) runs the same coroutines through ignite_store.sync_bridge.run_sync.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pyignite.datatypes.transactions import TransactionConcurrency, TransactionIsolation

from ..errors import StoreError, StoreUnavailable
from . import pyignite_seam
from .ignite_client import ClientPool, is_connection_error, is_tx_conflict, translate
from .ignite_queries import PAGE_SIZE
from .ignite_wire import UnsupportedValue

logger = logging.getLogger(__name__)

T = TypeVar("T")
# The transactions of the store, by the `transactions` option. Both keep the same guarantees (a room's
# counter is read and written in the transaction that writes its messages): pessimistic locks each key
# as it is read and holds it to the commit; optimistic serializable takes no lock before the commit and
# fails the commit (nothing written) when a key it read changed meanwhile, and the operation is run
# again. On two nodes the optimistic form needs fewer round trips per transaction (docs/performance.md),
# hence the default.
TRANSACTIONS = {
    "pessimistic": (TransactionConcurrency.PESSIMISTIC, TransactionIsolation.REPEATABLE_READ),
    "optimistic": (TransactionConcurrency.OPTIMISTIC, TransactionIsolation.SERIALIZABLE),
}


class TornRead(Exception):
    """An optimistic transaction read part of another one's commit (reads take no lock): run it again.

    Its commit would fail validation anyway; this lets an operation stop before acting on the read."""


class IgniteSession:
    """Runs operations with the pool's AioClient: timeout per attempt, pyignite errors translated, one retry."""

    def __init__(self, pool: ClientPool, *, timeout: float, fast_codec: bool, transactions: str = "optimistic"):
        if transactions not in TRANSACTIONS:
            raise ValueError(f"transactions must be one of {sorted(TRANSACTIONS)}, got {transactions!r}")
        self.pool = pool
        self.timeout = timeout
        self.fast_codec = fast_codec
        self.transactions = transactions
        # Transactions started on their rooms' primary node: needs the pool's partition awareness
        # (a connection to every node, the partition map) and pyignite_seam's guard.
        self.on_primary = pool.partition_aware and pyignite_seam.node_transactions()

    @property
    def tx_timeout_ms(self) -> int:
        """The default transaction timeout, in the milliseconds pyignite takes."""
        return int(self.timeout * 1000)

    def tx(self, client, *, timeout: float = 0, at: tuple[str, Any] | None = None):
        """A transaction of the configured kind on `client` (async context manager).

        `at=(cache, key)`: started on the node that is `key`'s primary in `cache` when `on_primary` (the
        keys it touches should share that primary; any other node is only slower), else on any node."""
        kind, timeout_ms = TRANSACTIONS[self.transactions], int((timeout or self.timeout) * 1000)
        if at is not None and self.on_primary:
            return pyignite_seam.NodeTransaction(client, *at, *kind, timeout=timeout_ms)
        return client.tx_start(*kind, timeout=timeout_ms)

    async def by_primary(self, cache: str, keys: list) -> list[list]:
        """`keys` grouped by their primary node in `cache`, in their order (one group unless `on_primary`)."""
        if not self.on_primary or len(keys) < 2:
            return [keys]

        async def operation(client):
            await client.get_cache(cache)  # registers the cache: its partition map is fetched with the first key
            groups: dict[int, list] = {}
            for key in keys:
                groups.setdefault(id(await pyignite_seam.primary_node(client, cache, key)), []).append(key)
            return list(groups.values())

        return await self.run(operation, retry=True)

    async def read_in_tx(self, cache, keys: list) -> dict:
        """The values of `keys` (None when absent) read inside a transaction of this session's kind.

        Optimistic transactions lock nothing before the commit, so one get_all reads them all. A
        pessimistic get_all would lock its keys in parallel, and two processes reading overlapping keys
        could each hold one the other waits for: one get per key, in the order given (callers sort)."""
        if self.transactions == "optimistic":
            found = await cache.get_all(keys)
            return {key: found.get(key) for key in keys}
        return {key: await cache.get(key) for key in keys}

    async def run(self, operation: Callable[[Any], Awaitable[T]], *, retry: bool, time_limit: float = 0) -> T:
        """Await operation(client); retry once on a broken connection when the operation is idempotent.

        AioClient has no socket timeout, so each attempt is bounded by the configured timeout. An
        optimistic transaction that failed its commit on a conflict wrote nothing, so a retryable operation
        is run again after a short random pause, for as long as the configured timeout since the first try
        (a multi-room append batch, retry=False, gets StoreUnavailable at once and goes on room by room).
        Every process must use the same kind: a pessimistic writer's held lock fails an optimistic commit
        at once, so a mix starves the optimistic side.
        """
        attempts = 2 if retry else 1
        attempt = conflicts = 0
        conflict_deadline = asyncio.get_running_loop().time() + self.timeout
        while True:
            try:
                client = await self.pool.aio_client()
                result = await asyncio.wait_for(operation(client), time_limit or self.timeout)
                self.pool.note_success()
                return result
            except StoreError as exc:
                error = exc
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                conflict = is_tx_conflict(exc) or isinstance(exc, TornRead)
                if retry and conflict and asyncio.get_running_loop().time() < conflict_deadline:
                    conflicts += 1
                    logger.debug("Optimistic transaction conflict (%d); running the operation again", conflicts)
                    await asyncio.sleep(random.uniform(0, 0.002 * 2 ** min(conflicts, 6)))
                    continue
                if is_connection_error(exc) and not self.pool.keep_after_timeout(exc):
                    await self.pool.discard_aio()
                error = translate(exc)
                error.__cause__ = exc
            attempt += 1
            if not isinstance(error, StoreUnavailable) or not error.retryable or attempt >= attempts:
                raise error
            logger.info("Ignite operation failed (%s); retrying once", error)

    async def sql(self, query: str, args: list | tuple = (), *, time_limit: float = 0) -> list[list]:
        """Every row of a SQL statement through pyignite's cursor (DDL, admin queries); retried once."""

        async def operation(client):
            async with client.sql(query, query_args=list(args), page_size=1000, schema="PUBLIC") as cursor:
                return [list(row) async for row in cursor]

        return await self.run(operation, retry=True, time_limit=time_limit)

    async def rows(self, query: str, args: list) -> list[list]:
        """Every row of a history SELECT in one response: decoded by the pyignite seam when it is on."""

        async def operation(client):
            if self.fast_codec:
                try:
                    return await pyignite_seam.asql_rows(client, query, args, page_size=PAGE_SIZE)
                except UnsupportedValue:  # not expected with this schema; pyignite decodes anything
                    pass
            async with client.sql(query, query_args=args, page_size=PAGE_SIZE, schema="PUBLIC") as cursor:
                return [list(row) async for row in cursor]

        return await self.run(operation, retry=True)
