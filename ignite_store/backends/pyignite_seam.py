"""The one place that touches pyignite 0.6's internals, to cut its CPU cost (issue 7, issue 11).

Installed explicitly by the store (`IgniteMessageStore(fast_codec=True)`, the default), never on import,
and only when the guard passes: pyignite 0.6.x with every internal named below present. Otherwise it logs
once and the store runs on plain pyignite. `uninstall()` restores pyignite exactly (the tests run the
store's contract both ways, and prove the bytes identical in tests/store/test_pyignite_speedups.py).

What it does, without changing a byte on the wire:

* Binary objects of the store's fixed types are serialised with `struct` in one piece, through pyignite's
  own extension point: the store's classes use `FastObjectMeta`, a GenericObjectMeta subclass whose
  `_from_python` writes the same header, fields, footer and hash code as pyignite's. Only String,
  LongObject, IntObject and BoolObject fields are handled (ctypes integer fields wrap silently, hence
  the masks); anything else, or the seam not installed, goes through the class's pyignite-made method.
* SQL rows of history pages are fetched and decoded with `struct` (ignite_wire builds and parses the
  bytes; `asql_rows` here send them through pyignite's connections, with pyignite's shared
  query-id counter, and record topology changes on the client as pyignite does).
* The rest has no extension point, so pyignite's classes are patched (`_PATCHES`, reversible):
  - class factories are memoised. pyignite builds a ctypes Structure class per string, per binary object,
    per response...; a class is an immutable description of a layout, fully determined by name, base,
    `_pack_` and `_fields_`, so handing out the one built earlier is equivalent. Bounded LRUs, one per
    call site, so shapes that never repeat (SQL rows) cannot evict the append path's fixed shapes;
  - String is written with a bytes concatenation (the same bytes, including ctypes' zero-filling of a
    string after its first NUL byte);
  - decoders of responses, binary objects and maps await their fields one after the other instead of
    through `asyncio.gather`, which wrapped each field in a Task. Same values; only when a field fails,
    the later ones are no longer decoded in the background;
  - `type_id` no longer hashes the type name on every access when the id is already known.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import logging
import struct
from collections import OrderedDict
from io import SEEK_CUR
from typing import Any

import pyignite
from pyignite import GenericObjectMeta
from pyignite.datatypes import BoolObject, IntObject, LongObject, String
from pyignite.datatypes.complex import BinaryObject
from pyignite.exceptions import CacheError, ParseError
from pyignite.transaction import AioTransaction
from pyignite.utils import entity_id, hashcode, status_to_exception

from . import ignite_wire

try:  # internals: their absence (another pyignite) refuses the install instead of breaking the import
    from pyignite.api import tx_api
    from pyignite.connection import AioConnection
    from pyignite.constants import RHF_ERROR, RHF_TOPOLOGY_CHANGED
    from pyignite.datatypes.base import IgniteDataTypeProps
    from pyignite.datatypes.complex import WrappedDataObject, _MapBase
    from pyignite.datatypes.internal import AnyDataObject, Struct, StructArray
    from pyignite.exceptions import ReconnectError
    from pyignite.queries.query import _get_query_id  # shared counter: ids must not clash on one connection
    from pyignite.queries.response import Response
except ImportError as exc:  # pragma: no cover - only with a pyignite other than 0.6.x
    _IMPORT_ERROR: ImportError | None = exc
else:
    _IMPORT_ERROR = None

logger = logging.getLogger(__name__)

_CACHE_SIZE = 2048
_LES = ctypes.LittleEndianStructure
_TC_STRING = 9  # pyignite.datatypes.type_codes.TC_STRING
_originals: dict[tuple[object, str], Any] = {}
_state = {"active": False, "refused": False, "tx_refused": False}


# ---------------------------------------------------------------- memoised class factories


def _struct_factory(maxsize: int = _CACHE_SIZE):
    """A cached `type(name, (base,), {"_pack_": 1, "_fields_": fields})`, as pyignite spells it everywhere."""

    @functools.lru_cache(maxsize=maxsize)
    def cached(name: str, base: type, fields: tuple) -> type:
        return type(name, (base,), {"_pack_": 1, "_fields_": list(fields)})  # own list: callers may extend theirs

    def build(name: str, base: type, fields) -> type:
        try:
            return cached(name, base, tuple(fields))
        except TypeError:  # an unhashable field description: build it as pyignite would
            return type(name, (base,), {"_pack_": 1, "_fields_": fields})

    # lru_cache's own helpers on the wrapper, so callers inspect and clear it as a cached function
    build.cache_info = cached.cache_info  # type: ignore[attr-defined]
    build.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
    return build


_response_class = _struct_factory()
_struct_class = _struct_factory()
_struct_array_class = _struct_factory()
_map_class = _struct_factory()
_binary_class = _struct_factory()


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _string_class(name: str, length: int) -> type:
    return type(name, (_LES,), {"_pack_": 1, "_fields_": [
        ("type_code", ctypes.c_byte), ("length", ctypes.c_int), ("data", ctypes.c_char * length)]})


# ---------------------------------------------------------------- replacements (same signatures as pyignite's)


def _string_build_c_type(cls, length: int):
    return _string_class(cls.__name__, length)


def _string_from_python_not_null(cls, stream, value, **kwargs):
    if isinstance(value, str):
        value = value.encode("utf-8")
    elif type(value) is not bytes:  # bytearray & co: pyignite's own path (and its errors)
        return _originals[(String, "from_python_not_null")].__func__(cls, stream, value, **kwargs)
    length = len(value)
    if b"\0" in value:
        # pyignite fills a c_char array, which copies up to the first NUL and leaves zeros after it.
        value = value[: value.index(b"\0")].ljust(length, b"\0")
    stream.write(b"\x09" + length.to_bytes(4, "little", signed=True) + value)


def _build_response_class(self, stream, init_pos, header_class, fields):
    response_class = _response_class(self._response_class_name, header_class, fields)
    stream.seek(init_pos + ctypes.sizeof(response_class))
    return response_class


def _binary_build_final_class(cls, stream, header, header_class, object_fields, fields_len):
    final_class_fields = [("object_fields", object_fields)]
    if header.flags & cls.HAS_SCHEMA:
        schema = cls.schema_type(header.flags) * fields_len
        stream.seek(ctypes.sizeof(schema), SEEK_CUR)
        final_class_fields.append(("schema", schema))
    final_class = _binary_class(cls.__name__, header_class, final_class_fields)
    stream.compact_footer = bool(header.flags & cls.COMPACT_FOOTER)  # pyignite's side effect, kept
    return final_class


@functools.lru_cache(maxsize=64)
def _schema_element(offset_type: type) -> type:
    return type("SchemaElement", (_LES,), {"_pack_": 1, "_fields_": [
        ("field_id", ctypes.c_int), ("offset", offset_type)]})


def _schema_type(cls, flags: int):
    if flags & cls.COMPACT_FOOTER:
        return cls.offset_c_type(flags)
    return _schema_element(cls.offset_c_type(flags))  # one class, so ctypes reuses `element * n` too


async def _in_order(coroutines) -> list:
    return [await coroutine for coroutine in coroutines]


async def _response_to_python_async(self, ctypes_object, **kwargs):
    if not self.following:
        return None
    values = await _in_order(
        c_type.to_python_async(getattr(ctypes_object, name), **kwargs) for name, c_type in self.following)
    return OrderedDict([(name, values[i]) for i, (name, _) in enumerate(self.following)])


async def _binary_to_python_not_null_async(cls, ctypes_object, client=None, **kwargs):
    type_id = ctypes_object.type_id
    if not client:
        raise ParseError(f"Can not query binary type {type_id}")
    data_class = await client.query_binary_type(type_id, ctypes_object.schema_id)
    result = data_class()
    result.version = ctypes_object.version
    field_values = await _in_order(
        field_type.to_python_async(getattr(ctypes_object.object_fields, field_name), client=client, **kwargs)
        for field_name, field_type in data_class.schema.items())
    for i, field_name in enumerate(data_class.schema.keys()):
        setattr(result, field_name, field_values[i])
    return result


async def _map_to_python_async(cls, ctypes_object, **kwargs):
    map_cls = OrderedDict if getattr(ctypes_object, "type", cls.HASH_MAP) == cls.LINKED_HASH_MAP else dict
    pairs = []
    for i in range(0, ctypes_object.length << 1, 2):
        key = await AnyDataObject.to_python_async(getattr(ctypes_object, f"element_{i}"), **kwargs)
        value = await AnyDataObject.to_python_async(getattr(ctypes_object, f"element_{i + 1}"), **kwargs)
        pairs.append([key, value])
    return map_cls(pairs)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _wrapped_class(name: str, length: int) -> type:
    return type(name, (_LES,), {"_pack_": 1, "_fields_": [
        ("type_code", ctypes.c_byte), ("length", ctypes.c_int), ("payload", ctypes.c_byte * length),
        ("offset", ctypes.c_int)]})


def _wrapped_parse_not_null(cls, stream):
    length = int.from_bytes(stream.slice(stream.tell() + 1, 4), byteorder="little")
    final_class = _wrapped_class(cls.__name__, length)
    stream.seek(ctypes.sizeof(final_class), SEEK_CUR)
    return final_class


_MISSING = object()
_M32, _M64 = 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF
_HEADER = struct.Struct("<BBHIIIII")  # BinaryObject.get_header_class(), 24 bytes


def _type_id(self):
    # pyignite passes entity_id(type name) as getattr's default, computing it even when _type_id is set.
    value = getattr(self, "_type_id", _MISSING)
    return entity_id(getattr(self, "_type_name", None)) if value is _MISSING else value


# ---------------------------------------------------------------- binary objects: pyignite's extension point


def _field_bytes(field_type, value) -> bytes | None:
    """One field as pyignite's from_python writes it, or None when this module does not handle it."""
    if value is None:
        return b"\x65"  # TC_NULL
    kind = type(value)
    if field_type is String:
        if kind is str:
            value = value.encode("utf-8")
        elif kind is not bytes:
            return None
        if b"\0" in value:
            value = value[: value.index(b"\0")].ljust(len(value), b"\0")
        return b"\x09" + len(value).to_bytes(4, "little", signed=True) + value
    if field_type is LongObject and kind is int:
        return b"\x04" + (value & _M64).to_bytes(8, "little")
    if field_type is IntObject and kind is int:
        return b"\x03" + (value & _M32).to_bytes(4, "little")
    if field_type is BoolObject and kind is bool:
        return b"\x08\x01" if value else b"\x08\x00"
    return None


def binary_object_bytes(obj, compact_footer: bool) -> tuple[bytes, int] | None:
    """(bytes, hash code) of obj exactly as GenericObjectMeta's _from_python writes them, or None."""
    version, type_id, schema_id = obj.version, obj.type_id, obj.schema_id
    if type(version) is not int or type(type_id) is not int or type(schema_id) is not int:
        return None
    pieces = []
    for name, field_type in obj._schema.items():
        piece = _field_bytes(field_type, getattr(obj, name, getattr(field_type, "default", None)))
        if piece is None:
            return None
        pieces.append(piece)
    return complex_object_bytes(version, type_id, schema_id, list(obj._schema), pieces, compact_footer)


def complex_object_bytes(version: int, type_id: int, schema_id: int, names: list[str], pieces: list[bytes],
                         compact_footer: bool) -> tuple[bytes, int]:
    """(bytes, hash code) of a complex object whose fields `names` are already written as `pieces`."""
    offsets, position = [], _HEADER.size
    for piece in pieces:
        offsets.append(position)
        position += len(piece)
    fields = b"".join(pieces)
    flags = BinaryObject.USER_TYPE | BinaryObject.HAS_SCHEMA
    if compact_footer:
        flags |= BinaryObject.COMPACT_FOOTER
    top = offsets[-1] if offsets else 0
    if top < 255:
        flags, code = flags | BinaryObject.OFFSET_ONE_BYTE, "B"
    elif top < 65535:
        flags, code = flags | BinaryObject.OFFSET_TWO_BYTES, "H"
    else:
        code = "I"
    if compact_footer:
        schema = struct.pack(f"<{len(offsets)}{code}", *offsets)
    else:
        element = struct.Struct("<I" + code)
        schema = b"".join(element.pack(entity_id(n) & _M32, o) for n, o in zip(names, offsets, strict=True))
    hash_code = hashcode(fields)
    schema_offset = _HEADER.size + len(fields)
    header = _HEADER.pack(
        103, version & 0xFF, flags, type_id & _M32, hash_code & _M32,  # 103: TC_COMPLEX_OBJECT
        (schema_offset + len(schema)) & _M32, schema_id & _M32, schema_offset & _M32,
    )
    return header + fields + schema, hash_code


def key_encoder(data_class):
    """encode(values, compact_footer) -> the bytes of a `data_class` object of string and long fields with those
    values (in schema order), as binary_object_bytes writes them, without building the object (a hot path:
    search-index rows, a dozen per message)."""
    types = list(data_class.schema.values())
    if any(t not in (String, LongObject) for t in types):
        raise TypeError(f"{data_class.__name__}: only String and LongObject fields are encoded here")
    type_id, schema_id = data_class.type_id & _M32, data_class.schema_id & _M32
    names = list(data_class.schema)
    flags = BinaryObject.USER_TYPE | BinaryObject.HAS_SCHEMA

    def encode(values: tuple, compact_footer: bool) -> bytes:
        pieces: list[bytes] = []
        for field_type, value in zip(types, values, strict=True):
            if field_type is String:
                data = value.encode("utf-8")
                # pyignite's own quirk for a NUL (see _field_bytes); room ids and terms never hold one
                pieces.append(b"\x09" + len(data).to_bytes(4, "little") + data if b"\0" not in data
                              else _field_bytes(String, data) or b"")
            else:
                pieces.append(b"\x04" + (value & _M64).to_bytes(8, "little"))
        if not compact_footer or sum(map(len, pieces[:-1])) + _HEADER.size >= 255:
            return complex_object_bytes(1, type_id, schema_id, names, pieces, compact_footer)[0]
        offsets, position = [], _HEADER.size
        for piece in pieces:
            offsets.append(position)
            position += len(piece)
        fields = b"".join(pieces)
        schema = bytes(offsets)
        hash_code = hashcode(fields)
        schema_offset = _HEADER.size + len(fields)
        return _HEADER.pack(
            103, 1, flags | BinaryObject.COMPACT_FOOTER | BinaryObject.OFFSET_ONE_BYTE, type_id, hash_code & _M32,
            schema_offset + len(schema), schema_id, schema_offset,
        ) + fields + schema

    return encode


def _fast_write(obj, stream, save_to_buf: bool) -> bool:
    """Write obj in one piece when the seam is on and every field is handled; False to let pyignite do it."""
    if not _state["active"]:
        return False
    encoded = binary_object_bytes(obj, stream.compact_footer)
    if encoded is None:
        return False
    data, obj._hashcode = encoded
    stream.write(data)
    if save_to_buf:
        obj._buffer = data
    return True


class FastObjectMeta(GenericObjectMeta):
    """GenericObjectMeta whose classes serialise with `struct` while the seam is installed (same bytes)."""

    def __new__(mcs, name: str, base_classes: tuple, namespace: dict, **kwargs):
        cls = super().__new__(mcs, name, base_classes, namespace, **kwargs)
        plain, plain_async = cls._from_python, cls._from_python_async  # what pyignite made for this class

        def _from_python(self, stream, save_to_buf=False):
            if not _fast_write(self, stream, save_to_buf):
                plain(self, stream, save_to_buf)

        async def _from_python_async(self, stream, save_to_buf=False):
            if not _fast_write(self, stream, save_to_buf):
                await plain_async(self, stream, save_to_buf)

        cls._from_python, cls._from_python_async = _from_python, _from_python_async
        return cls


# ---------------------------------------------------------------- SQL rows through pyignite's connections


def _payload_start(conn, buf) -> int:
    """Position after the response header; records a topology change on the client as pyignite does."""
    pos, affinity = ignite_wire.parse_header(buf, status_flags=conn.protocol_context.is_status_flags_supported())
    if affinity is not None:
        client = conn.client
        if affinity > client.affinity_version:
            client.affinity_version = affinity
    return pos


async def asql_rows(client, query: str, args, *, page_size: int = 1024, query_timeout_ms: int = 0) -> list[list]:
    """Every row of a SELECT, through a connected pyignite AioClient (which connection: as client.sql)."""
    conn = await client.random_node()
    query_id = _get_query_id()
    buf = await conn.request(query_id, ignite_wire.sql_fields_request(
        query_id, query, args, page_size=page_size, timeout_ms=query_timeout_ms))
    cursor_id, field_count, rows, more = ignite_wire.first_page(buf, _payload_start(conn, buf))
    try:
        while more:
            query_id = _get_query_id()
            buf = await conn.request(query_id, ignite_wire.cursor_page_request(query_id, cursor_id))
            page, more = ignite_wire.next_page(buf, _payload_start(conn, buf), field_count)
            rows += page
    except Exception:  # not on cancellation: a timed-out call must not wait for the close
        if more:
            try:
                query_id = _get_query_id()
                await conn.request(query_id, ignite_wire.close_request(query_id, cursor_id))
            except Exception:  # noqa: BLE001
                pass
        raise
    return rows


_registered: dict[type, Any] = {}


async def aput_all_encoded(client, cache, encode, items: list, register: type | tuple[type, ...]) -> None:
    """Put `items` with one OP_CACHE_PUT_ALL whose pairs `encode(item, compact_footer)` writes as bytes, through
    pyignite's connection (the transaction's one inside a transaction, with its id), as cache.put_all would.

    `register` (the binary types written: the key's, and the value's when it is one) is registered with the
    cluster once per client, as pyignite does before it first writes a type. A server error is raised as
    pyignite's CacheError, as put_all raises it.
    """
    import weakref

    from pyignite.api.tx_api import get_tx_id
    from pyignite.exceptions import SQLError

    for data_class in register if isinstance(register, tuple) else (register,):
        seen = _registered.setdefault(data_class, weakref.WeakSet())
        if client not in seen:
            await client.register_binary_type(data_class)
            seen.add(client)
    conn = await cache._get_best_node()
    compact = client.compact_footer
    entries = b"".join(encode(item, compact) for item in items)
    tx_id = get_tx_id() if conn.protocol_context.is_transactions_supported() else None
    query_id = _get_query_id()
    buf = await conn.request(query_id, ignite_wire.put_all_request(query_id, cache.cache_info.cache_id, tx_id,
                                                                   entries, len(items)))
    try:
        _payload_start(conn, buf)
    except SQLError as exc:
        raise CacheError(str(exc)) from exc


# ---------------------------------------------------------------- transactions on the rooms' primary (issue 18)
# pyignite 0.6 starts every transaction on client.random_node() and offers no way to choose; the cache
# operations inside it then follow the transaction's connection (tx_api.get_tx_connection). Started on a
# node that is not the primary of the keys it touches, the transaction is coordinated from there: reads
# and the prepare and finish cross to the primary, which forwards them to the backup. Started on the
# primary, the only traffic left is the backup's copy (docs/performance.md, "Two nodes"). Needs the
# client's partition awareness: connections to every node and the partition map.


def _version_refusal() -> str | None:
    """Why no internal of this pyignite may be used (another version, or an internal import missing), or None."""
    version = getattr(pyignite, "__version__", "?")
    if not version.startswith("0.6."):
        return f"pyignite {version} is not 0.6.x"
    if _IMPORT_ERROR is not None:
        return f"pyignite {version} lacks {_IMPORT_ERROR.name or _IMPORT_ERROR}"
    return None


def _affinity_refusal() -> str | None:
    """Why transactions cannot be started on a chosen node with this pyignite, or None."""
    if (reason := _version_refusal()) is not None:
        return reason
    version = pyignite.__version__
    needed = [(AioTransaction, "_AioTransaction__end_tx"), (AioTransaction, "close"), (tx_api, "tx_start_async"),
              (tx_api, "get_tx_connection"), (pyignite.AioClient, "get_best_node"),
              (pyignite.AioClient, "register_cache"), (pyignite.AioClient, "_caches_to_update_affinity"),
              (pyignite.AioClient, "_connect"), (pyignite.AioClient, "random_node")]
    missing = [f"{getattr(owner, '__name__', owner)}.{name}" for owner, name in needed if not hasattr(owner, name)]
    return f"pyignite {version} lacks {', '.join(missing)}" if missing else None


def node_transactions() -> bool:
    """True when transactions can be started on a chosen node; otherwise logs why, once."""
    reason = _affinity_refusal()
    if reason is not None and not _state["tx_refused"]:
        _state["tx_refused"] = True
        logger.warning("%s: transactions start on any node", reason)
    return reason is None


class AffinityAioClient(pyignite.AioClient):
    """pyignite's partition-aware AioClient with three changes:

    * each cache's partition map is kept when a cache object is made: 0.6.1's register_cache tests
      `cache_id not in self._affinity` (whose keys are 'version' and 'partition_mapping', never a cache
      id), so every get_cache emptied the map and the next keyed request paid an OP_CACHE_PARTITIONS
      round trip first;
    * `random_node()` is the first connected node in the configured order, as without partition
      awareness, instead of any: requests that name no key (SQL, transactions without a key, the
      partition map itself) stay on one node. A node cut off by the network and back as a one-node island
      answers with a map of its own; taken from there, the map sent the island writes that were lost
      when it rejoined (tests/faults/test_partition.py). So the map comes from the node the client stays
      on, and names the island only once it is back in that node's cluster;
    * connecting waits at most half the handshake timeout per node: pyignite waits for every node, and
      asyncio's create_connection has no timeout, so one node that did not answer held every new client up
      to the store's timeout. A node that missed it is reconnected later, as a failed one is."""

    def register_cache(self, cache_id: int) -> None:
        mapping = self._affinity["partition_mapping"]
        if self.partition_aware and cache_id not in mapping:
            mapping[cache_id] = {}

    async def random_node(self):
        for node in self._nodes:
            if node.alive:
                return node
        return await super().random_node()  # none: pyignite reconnects them all, or raises ReconnectError

    async def _connect(self, nodes) -> None:
        bound = self._connection_args.get("handshake_timeout", 10.0) / 2
        self._nodes.extend(AioConnection(self, host, port, **self._connection_args) for host, port in nodes)
        for node in self._nodes:  # one at a time until one answers: that one settles the protocol version
            await _bounded_connect(node, bound)  # (a failed detection resets it, even under a concurrent one)
            if node.alive:
                break
        await asyncio.gather(*(_bounded_connect(node, bound) for node in self._nodes if not node.alive))
        if not any(node.alive for node in self._nodes):
            raise ReconnectError("Can not connect.")


async def _bounded_connect(node, bound: float) -> None:
    try:
        await asyncio.wait_for(node.connect(), bound)
    except TimeoutError:
        await node.close()  # cancelled mid-handshake, the socket would pass for alive; reconnect reopens it
    except Exception:  # noqa: BLE001 - logged by pyignite; e.g. its protocol detection reset under a concurrent one
        pass  # the node stays down and is reconnected later; with none up, _connect raises ReconnectError


def aio_client_class(partition_aware: bool) -> type:
    """The AioClient class for a pool: AffinityAioClient (always partition-aware) when partition-aware and
    the guard passes."""
    return AffinityAioClient if partition_aware and _affinity_refusal() is None else pyignite.AioClient


async def primary_node(client, cache: str, key) -> Any:
    """The connection to the node that is `key`'s primary in `cache`, as far as the client knows (any
    connected node when it does not know, or that node is down)."""
    return await client.get_best_node(cache, key)


class NodeTransaction(AioTransaction):
    """An AioTransaction started on the primary of `key` in `cache` instead of a random node.

    Committed and closed by pyignite's own AioTransaction, through the connection the context holds."""

    def __init__(self, client, cache: str, key, *args, **kwargs):
        super().__init__(client, *args, **kwargs)
        self._at = (cache, key)
        self.node = None

    async def __aenter__(self):
        self.node = await primary_node(self.client, *self._at)
        self.tx_id = await _tx_start(self.node, self.concurrency, self.isolation, self.timeout, self.label)
        self.closed = False
        return self


@status_to_exception(CacheError)
async def _tx_start(conn, concurrency, isolation, timeout_ms, label):
    return await tx_api.tx_start_async(conn, concurrency, isolation, timeout_ms, label)


# ---------------------------------------------------------------- install / uninstall


def _patches() -> list[tuple[type, str, object]]:
    return [
        (String, "build_c_type", classmethod(_string_build_c_type)),
        (String, "from_python_not_null", classmethod(_string_from_python_not_null)),
        (Response, "_Response__build_response_class", _build_response_class),
        (BinaryObject, "_BinaryObject__build_final_class", classmethod(_binary_build_final_class)),
        (BinaryObject, "schema_type", classmethod(_schema_type)),
        (Struct, "build_c_type", staticmethod(lambda fields: _struct_class("Struct", _LES, fields))),
        (StructArray, "build_c_type", staticmethod(lambda fields: _struct_array_class("StructArray", _LES, fields))),
        (_MapBase, "_MapBase__build_final_class",
         classmethod(lambda cls, fields: _map_class(cls.__name__, _LES, fields))),
        (IgniteDataTypeProps, "type_id", property(_type_id)),
        (Response, "to_python_async", _response_to_python_async),
        (BinaryObject, "to_python_not_null_async", classmethod(_binary_to_python_not_null_async)),
        (_MapBase, "_to_python_async", classmethod(_map_to_python_async)),
        (WrappedDataObject, "parse_not_null", classmethod(_wrapped_parse_not_null)),
    ]


def _refusal() -> str | None:
    """Why the seam cannot be installed on this pyignite, or None."""
    if (reason := _version_refusal()) is not None:
        return reason
    version = pyignite.__version__
    if (RHF_ERROR, RHF_TOPOLOGY_CHANGED) != (ignite_wire.RHF_ERROR, ignite_wire.RHF_TOPOLOGY_CHANGED):
        return f"pyignite {version} has other response header flags"
    needed = [(owner, name) for owner, name, _ in _patches()]
    needed += [(pyignite.Client, "random_node"), (pyignite.AioClient, "random_node"),
               (BinaryObject, "get_header_class")]
    missing = [f"{owner.__name__}.{name}" for owner, name in needed if not hasattr(owner, name)]
    missing += [f"{owner.__name__}.{name}" for owner, name, _ in _patches() if name not in vars(owner)]
    if missing:
        return f"pyignite {version} lacks {', '.join(sorted(set(missing)))}"
    return None


def install() -> bool:
    """Turn the seam on (idempotent). Returns True when active; otherwise logs why, once, and changes nothing."""
    if _state["active"]:
        return True
    reason = _refusal()
    if reason is not None:
        if not _state["refused"]:
            _state["refused"] = True
            logger.warning("%s: fast codec off, plain pyignite in use", reason)
        return False
    for owner, name, replacement in _patches():
        _originals[(owner, name)] = vars(owner)[name]
        setattr(owner, name, replacement)
    _state["active"] = True
    logger.debug("pyignite seam installed")
    return True


def uninstall() -> None:
    """Restore pyignite's own functions and empty the caches."""
    _state["active"] = False
    for (owner, name), original in _originals.items():
        setattr(owner, name, original)
    _originals.clear()
    for cache in (_response_class, _struct_class, _struct_array_class, _map_class, _binary_class,
                  _string_class, _schema_element, _wrapped_class):
        cache.cache_clear()


def installed() -> bool:
    """True while the seam is on."""
    return _state["active"]
