"""Sync calls into the async store: one private event loop per process, in a daemon thread.

The admin views and management commands are sync; the store's room operations are written
once, async. An AioClient belongs to the loop that created it, so every sync call runs on the
same private loop (one connection for the process) instead of a new loop per call.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def _bridge_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="ignite-store-sync", daemon=True).start()
        return _loop


def run_sync(awaitable: Awaitable[T]) -> T:
    """Run an awaitable of the store on the bridge loop and return its result (blocking)."""
    loop = _bridge_loop()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        raise RuntimeError("run_sync called from the bridge loop itself")
    return asyncio.run_coroutine_threadsafe(_as_coroutine(awaitable), loop).result()


async def _as_coroutine(awaitable: Awaitable[T]) -> T:
    return await awaitable
