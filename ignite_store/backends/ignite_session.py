"""Running operations against Ignite: the client pool, error translation, retry and timeout, SQL.

`IgniteSession.run(operation, retry=...)` is the one runner of the backend: every operation is an
`async def operation(client)` on the event loop's AioClient. `SyncBridge` gives the sync API (admin
views, management commands) the same code: it runs the coroutines on the store's private event
loops, so each loop's AioClient is only ever used by the loop it belongs to.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine
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


class SyncBridge:
    """Run the store's coroutines for sync callers, each on a private event loop of the store.

    The main thread (management commands, tests) gets a loop of its own, run in place: no thread
    hop. Every other caller (admin views in worker threads, or any thread already running a loop)
    goes to one loop in a daemon thread, whose AioClient multiplexes their requests as in Daphne.
    One loop per store and role: a loop's AioClient is only used on that loop, and no thread's exit
    leaves a loop with open connections behind (per-request threads would).
    """

    def __init__(self, name: str = "ignite-store-sync"):
        self._name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._main_loop: asyncio.AbstractEventLoop | None = None

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name=self._name, daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run `coroutine` to completion on a private loop and return (or raise) its outcome."""
        if threading.current_thread() is threading.main_thread() and asyncio._get_running_loop() is None:
            if self._main_loop is None or self._main_loop.is_closed():
                self._main_loop = asyncio.new_event_loop()
            return self._main_loop.run_until_complete(coroutine)
        if self._thread is not None and threading.current_thread() is self._thread:
            coroutine.close()
            raise RuntimeError("the sync store API was called from its own event loop")
        return asyncio.run_coroutine_threadsafe(coroutine, self._ensure_loop()).result()

    def close(self, cleanup: Callable[[], Coroutine[Any, Any, None]] | None = None) -> None:
        """Run `cleanup()` on each private loop (the loop's clients), then stop and close the loops."""
        main_loop, self._main_loop = self._main_loop, None
        if main_loop is not None and not main_loop.is_closed():
            on_main = threading.current_thread() is threading.main_thread()
            if on_main and asyncio._get_running_loop() is None:
                try:
                    if cleanup is not None:
                        main_loop.run_until_complete(cleanup())
                except Exception:  # noqa: BLE001 - closing must not fail
                    logger.debug("closing the main thread loop's clients failed", exc_info=True)
                main_loop.close()
            # Otherwise the loop is dropped unclosed: it belongs to the main thread, which may be using it.
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        try:
            if cleanup is not None and thread is not threading.current_thread():
                asyncio.run_coroutine_threadsafe(cleanup(), loop).result(timeout=10)
        except Exception:  # noqa: BLE001 - closing must not fail; the connections die with the loop
            logger.debug("closing the sync bridge's clients failed", exc_info=True)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            if thread is not threading.current_thread():
                thread.join(timeout=10)
            if not loop.is_running():
                loop.close()
