"""Running operations against Ignite: the client pool, error translation, retry and timeout, SQL.

`IgniteSession.run(operation, retry=...)` is the one runner of the backend: every operation is an
`async def operation(client)` on the event loop's AioClient. The sync API (admin views, management
commands) runs the same coroutines through ignite_store.sync_bridge.run_sync.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pyignite.datatypes.transactions import TransactionConcurrency, TransactionIsolation

from ..errors import StoreError, StoreUnavailable
from . import pyignite_seam
from .ignite_client import ClientPool, is_connection_error, translate
from .ignite_queries import PAGE_SIZE
from .ignite_wire import UnsupportedValue

logger = logging.getLogger(__name__)

T = TypeVar("T")
# Every transaction of the store: pessimistic locks held to the commit (see ignite.py for the lock order).
TX = (TransactionConcurrency.PESSIMISTIC, TransactionIsolation.REPEATABLE_READ)


class IgniteSession:
    """Runs operations with the pool's AioClient: timeout per attempt, pyignite errors translated, one retry."""

    def __init__(self, pool: ClientPool, *, timeout: float, fast_codec: bool):
        self.pool = pool
        self.timeout = timeout
        self.fast_codec = fast_codec

    @property
    def tx_timeout_ms(self) -> int:
        """The default transaction timeout, in the milliseconds pyignite takes."""
        return int(self.timeout * 1000)

    def tx(self, client, *, timeout: float = 0):
        """A pessimistic, repeatable-read transaction on `client` (async context manager)."""
        return client.tx_start(*TX, timeout=int((timeout or self.timeout) * 1000))

    async def run(self, operation: Callable[[Any], Awaitable[T]], *, retry: bool) -> T:
        """Await operation(client); retry once on a broken connection when the operation is idempotent.

        AioClient has no socket timeout, so each attempt is bounded by the configured timeout.
        """
        attempts = 2 if retry else 1
        for attempt in range(attempts):
            try:
                client = await self.pool.aio_client()
                result = await asyncio.wait_for(operation(client), self.timeout)
                self.pool.note_success()
                return result
            except StoreError as exc:
                error = exc
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if is_connection_error(exc) and not self.pool.keep_after_timeout(exc):
                    await self.pool.discard_aio()
                error = translate(exc)
                error.__cause__ = exc
            if not isinstance(error, StoreUnavailable) or not error.retryable or attempt + 1 == attempts:
                raise error
            logger.info("Ignite operation failed (%s); retrying once", error)
        raise AssertionError("unreachable")  # pragma: no cover

    async def sql(self, query: str, args: list | tuple = ()) -> list[list]:
        """Every row of a SQL statement through pyignite's cursor (DDL, admin queries); retried once."""

        async def operation(client):
            async with client.sql(query, query_args=list(args), page_size=1000, schema="PUBLIC") as cursor:
                return [list(row) async for row in cursor]

        return await self.run(operation, retry=True)

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
