"""pyignite connections, binary types and error translation for the Ignite backend.

Only ignite_store imports pyignite (an import-linter contract in pyproject.toml): this module and
its siblings in ignite_store/backends for the store, and ignite_store/server (local.py,
membership.py) to manage local nodes' cluster state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import threading
import weakref
from collections import OrderedDict

from pyignite import AioClient, Client
from pyignite.datatypes import BoolObject, LongObject, String
from pyignite.exceptions import (
    AuthenticationError,
    CacheError,
    ClusterError,
    HandshakeError,
    ParameterError,
    ReconnectError,
    SQLError,
)

from ..errors import SchemaError, StoreError, StoreUnavailable
from .ignite_schema import SEARCH_FILTER_WORDS
from .pyignite_seam import FastObjectMeta, aio_client_class

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------- binary types
# Field names are upper case because the tables are created with SQL DDL, whose
# unquoted identifiers are upper case; the binary fields must carry the same names.
# FastObjectMeta is pyignite's GenericObjectMeta, serialised with `struct` while pyignite_seam is installed.


class MessageKey(
    metaclass=FastObjectMeta,
    type_name="ChatMessageKey",
    schema=OrderedDict([("ROOM", String), ("SEQ", LongObject)]),
):
    pass


class MessageValue(
    metaclass=FastObjectMeta,
    type_name="ChatMessage",
    schema=OrderedDict(
        [
            ("ID", String),
            ("AUTHOR", String),
            ("BODY", String),
            ("CLIENT_ID", String),
            ("CREATED_AT", LongObject),
            ("DELETED", BoolObject),
            ("DELETED_BY", String),
            # the change log (issue 13); NULL in rows written before it, read as 0 / absent
            ("CHANGE_SEQ", LongObject),
            ("EDITED_AT", LongObject),
            ("REPLY_TO", LongObject),
            ("REACTIONS", String),
            ("MENTIONS", String),
        ]
    ),
):
    pass


class RoomValue(
    metaclass=FastObjectMeta,
    type_name="ChatRoom",
    schema=OrderedDict([("LAST_SEQ", LongObject), ("LAST_AT", LongObject), ("LAST_CHANGE_SEQ", LongObject)]),
):
    pass


class IdempotencyKey(
    metaclass=FastObjectMeta,
    type_name="ChatIdempotencyKey",
    schema=OrderedDict([("ROOM", String), ("CLIENT_ID", String)]),
):
    pass


class IdempotencyValue(
    metaclass=FastObjectMeta,
    type_name="ChatIdempotency",
    schema=OrderedDict([("SEQ", LongObject)]),
):
    pass


class ChangeKeyValue(
    metaclass=FastObjectMeta,
    type_name="ChatIdempotency",  # a second schema of the same type: sends keep writing the one-field one
    schema=OrderedDict([("SEQ", LongObject), ("CHANGE_SEQ", LongObject)]),
):
    pass


class VersionKey(
    metaclass=FastObjectMeta,
    type_name="ChatVersionKey",
    schema=OrderedDict([("ROOM", String), ("SEQ", LongObject), ("VERSION", LongObject)]),
):
    pass


class VersionValue(
    metaclass=FastObjectMeta,
    type_name="ChatVersion",
    schema=OrderedDict([("BODY", String), ("EDITED_AT", LongObject)]),
):
    pass


class MentionKey(
    metaclass=FastObjectMeta,
    type_name="ChatMentionKey",
    schema=OrderedDict([("USERNAME", String), ("ROOM", String), ("SEQ", LongObject)]),
):
    pass


class MentionValue(
    metaclass=FastObjectMeta,
    type_name="ChatMention",
    schema=OrderedDict([("AT", LongObject)]),
):
    pass


class SearchBlockKey(
    metaclass=FastObjectMeta,
    type_name="ChatSearchBlockKey",
    schema=OrderedDict([("ROOM", String), ("TERM", String), ("BLOCK", LongObject)]),
):
    pass


class SearchRunKey(
    metaclass=FastObjectMeta,
    type_name="ChatSearchRunKey",
    schema=OrderedDict([("ROOM", String), ("RUN", LongObject)]),
):
    pass


# A run's filter: the columns W0..W127 of <P>_SEARCH_RUNS (ignite_search_index).
SearchRun = FastObjectMeta("SearchRun", (), {}, type_name="ChatSearchRun",
                           schema=OrderedDict((f"W{i}", LongObject) for i in range(SEARCH_FILTER_WORDS)))


class Pairs(list):
    """(key, value) pairs for put_all: binary-object keys are unhashable (attrs sets __hash__ to
    None), so they cannot go into the dict pyignite asks for; its serialiser needs only
    len() and items()."""

    def items(self):
        return iter(self)


# ---------------------------------------------------------------- error translation

# Raised when the connection itself failed: the client is discarded and the call may be retried.
CONNECTION_ERRORS = (ReconnectError, HandshakeError, OSError, EOFError, ConnectionError, asyncio.TimeoutError)
_QUERY_BUG_HINTS = ("failed to parse query", "syntax error", "column \"", "unsupported")
_SCHEMA_HINTS = ("table not found", "cache does not exist", "failed to find cache", "schema not found")


def translate(exc: BaseException) -> StoreError:
    """Map a pyignite (or socket) exception to the project's own exception."""
    if isinstance(exc, StoreError):
        return exc
    if isinstance(exc, CONNECTION_ERRORS):
        return StoreUnavailable(f"Ignite is unreachable: {type(exc).__name__}: {exc}")
    if isinstance(exc, AuthenticationError):
        return StoreUnavailable(f"Ignite refused the credentials: {exc}", retryable=False)
    text = str(exc).lower()
    if isinstance(exc, (SQLError, CacheError)) and any(hint in text for hint in _SCHEMA_HINTS):
        return SchemaError(f"The chat schema is missing; run `manage.py ignite_init`: {exc}")
    if isinstance(exc, SQLError) and any(hint in text for hint in _QUERY_BUG_HINTS):
        return StoreError(f"Ignite rejected the query: {exc}")  # a bug, not an outage: no retry
    if isinstance(exc, (CacheError, ClusterError)):
        # Transaction timeouts, topology changes and lost partitions all land here:
        # to the caller the cluster could not do it now.
        return StoreUnavailable(f"Ignite could not complete the operation: {exc}")
    if isinstance(exc, ParameterError):
        return StoreError(f"Invalid request to Ignite: {exc}")
    return StoreError(f"Unexpected Ignite error: {type(exc).__name__}: {exc}")


def is_connection_error(exc: BaseException) -> bool:
    return isinstance(exc, CONNECTION_ERRORS)


_CONFLICT_HINTS = ("read/write conflict", "failed to prepare transaction", "transactionoptimisticexception")


def is_tx_conflict(exc: BaseException) -> bool:
    """An optimistic commit refused because a key it read changed meanwhile: rolled back, safe to run again."""
    return isinstance(exc, CacheError) and any(hint in str(exc).lower() for hint in _CONFLICT_HINTS)


# ---------------------------------------------------------------- TLS


def ssl_tls_kwargs(ca_file: str | None, cert_file: str | None, key_file: str | None, *, verify: bool) -> dict:
    """pyignite's TLS arguments. pyignite skips certificate checks unless told (ssl_cert_reqs=CERT_NONE)."""
    if not verify:
        kwargs: dict = {"ssl_cert_reqs": ssl.CERT_NONE}
    else:
        # No CA file given: trust the system's CA bundle, as a browser would. pyignite never checks the
        # host name (its context has check_hostname off), so the certificate chain is what is verified.
        ca_file = ca_file or ssl.get_default_verify_paths().cafile or ssl.get_default_verify_paths().openssl_cafile
        kwargs = {"ssl_cert_reqs": ssl.CERT_REQUIRED, "ssl_ca_certfile": ca_file}
    if cert_file:  # a client certificate, for nodes with sslClientAuth
        kwargs.update(ssl_certfile=cert_file, ssl_keyfile=key_file)
    return kwargs


# ---------------------------------------------------------------- connection pools


class ClientPool:
    """One connected sync Client per thread and one AioClient per event loop.

    A client whose connection failed is thrown away; the next call connects afresh,
    so the pool recovers by itself once any configured node answers again.
    """

    def __init__(self, nodes: list[tuple[str, int]], *, timeout: float, partition_aware: bool, client_kwargs: dict):
        self.nodes = nodes
        self.timeout = timeout
        self.partition_aware = partition_aware
        self.client_kwargs = client_kwargs
        self._local = threading.local()
        self._aio: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AioClient] = weakref.WeakKeyDictionary()
        self._aio_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self._all_sync: weakref.WeakSet = weakref.WeakSet()
        self._timeouts: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, int] = weakref.WeakKeyDictionary()

    # ---- sync
    def sync_client(self) -> Client:
        client = getattr(self._local, "client", None)
        if client is None:
            client = Client(
                partition_aware=self.partition_aware,
                timeout=self.timeout,
                handshake_timeout=self.timeout,
                **self.client_kwargs,
            )
            try:
                client.connect(self.nodes)
            except Exception as exc:
                with contextlib.suppress(Exception):
                    client.close()
                raise translate(exc) from exc
            self._local.client = client
            self._all_sync.add(client)
        return client

    def discard_sync(self) -> None:
        client = getattr(self._local, "client", None)
        self._local.client = None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()

    # ---- async
    async def aio_client(self) -> AioClient:
        loop = asyncio.get_running_loop()
        client = self._aio.get(loop)
        if client is not None:
            return client
        lock = self._aio_locks.setdefault(loop, asyncio.Lock())
        async with lock:
            client = self._aio.get(loop)
            if client is None:
                client = aio_client_class(self.partition_aware)(
                    partition_aware=self.partition_aware,
                    handshake_timeout=self.timeout,
                    **self.client_kwargs,
                )
                try:
                    await asyncio.wait_for(client.connect(self.nodes), self.timeout)
                except BaseException as exc:
                    with contextlib.suppress(Exception):
                        await client.close()
                    if isinstance(exc, asyncio.CancelledError):
                        raise
                    raise translate(exc) from exc
                self._aio[loop] = client
        return client

    def keep_after_timeout(self, exc: BaseException) -> bool:
        """True when `exc` is a lone timeout: the connection is shared by every call of the loop,
        so dropping it would fail them all; the third timeout in a row drops it all the same."""
        if not isinstance(exc, asyncio.TimeoutError):
            return False
        loop = asyncio.get_running_loop()
        self._timeouts[loop] = self._timeouts.get(loop, 0) + 1
        return self._timeouts[loop] < 3

    def note_success(self) -> None:
        loop = asyncio.get_running_loop()
        if self._timeouts.get(loop):
            self._timeouts[loop] = 0

    async def discard_aio(self) -> None:
        loop = asyncio.get_running_loop()
        client = self._aio.pop(loop, None)
        if client is not None:
            with contextlib.suppress(Exception):
                await client.close()

    def close(self) -> None:
        for client in list(self._all_sync):
            with contextlib.suppress(Exception):
                client.close()
        self._local = threading.local()
        # AioClients belong to their loops; drop our references so each loop's client
        # is garbage collected with it (closing needs the loop, which may be gone).
        self._aio.clear()

    async def aclose(self) -> None:
        await self.discard_aio()
        self.close()
