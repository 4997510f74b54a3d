"""Cut pyignite 0.6's CPU cost per request without changing a byte on the wire (issue 7, docs/performance.md).

pyignite describes every value it writes or reads as a ctypes Structure class and builds a new class for
nearly each one: a String class per string, a Struct class per binary object, a class per response...
Creating a ctypes class costs tens of microseconds, more than everything else pyignite does with the
value, and it was the largest single item in Daphne's profile. `install()` patches pyignite in place:

* class factories are memoised. A ctypes Structure class is an immutable description of a memory layout:
  it is fully determined by its name, base, `_pack_` and `_fields_` (pyignite never mutates one after
  creation, and instances own their bytes). Two classes built from the same parameters behave identically,
  so handing out the one built earlier is equivalent. The caches are bounded LRUs, one per call site, so
  shapes that never repeat (SQL rows of varying width) cannot evict the fixed shapes of the append path;
* String is written with a plain bytes concatenation instead of filling an instance of its per-length
  class: the same bytes, including ctypes' quirk of zero-filling a string after its first NUL byte;
* binary objects (GenericObjectMeta classes) whose fields are all String, LongObject, IntObject or
  BoolObject are serialised into one bytes object with `struct` instead of field by field through the
  stream: same header, fields, footer and hash code as `_from_python` writes (ctypes integer fields
  wrap silently, hence the masks). Any other field type or value type, a class that overrides
  `_from_python`, or an object with a cached buffer takes pyignite's own path;
* decoders of responses, binary objects and maps await their fields one after the other instead of
  through `asyncio.gather`, which wrapped every field in a Task and cost several event-loop turns per
  response. The fields decode to the same values; only when a field fails, the later ones are no
  longer decoded in the background;
* `type_id` no longer hashes the type name on every access when the id is already known.

Only pyignite 0.6.x is patched (its internals are what these patches reproduce); any other version is
left alone and a warning is logged. `uninstall()` restores the originals (used by the tests).
"""

from __future__ import annotations

import ctypes
import functools
import logging
import struct
from collections import OrderedDict
from io import SEEK_CUR
from typing import Any

import pyignite
from pyignite.datatypes import BoolObject, IntObject, LongObject, String
from pyignite.datatypes.base import IgniteDataTypeProps
from pyignite.datatypes.complex import BinaryObject, WrappedDataObject, _MapBase
from pyignite.datatypes.internal import AnyDataObject, Struct, StructArray
from pyignite.exceptions import ParseError
from pyignite.queries.response import Response
from pyignite.utils import entity_id, hashcode

logger = logging.getLogger(__name__)

_CACHE_SIZE = 2048
_LES = ctypes.LittleEndianStructure
_TC_STRING = 9  # pyignite.datatypes.type_codes.TC_STRING
_originals: dict[tuple[object, str], Any] = {}


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
_GENERIC = "GenericObjectMeta.__new__.<locals>."
_plain_classes: dict[type, bool] = {}


def _is_plain(cls: type) -> bool:
    """True when cls serialises with GenericObjectMeta's own _from_python (not overridden)."""
    plain = _plain_classes.get(cls)
    if plain is None:
        plain = _plain_classes[cls] = all(
            getattr(getattr(cls, name, None), "__qualname__", "") == _GENERIC + name
            for name in ("_from_python", "_from_python_async")
        ) and isinstance(getattr(cls, "_schema", None), dict)
    return plain


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


def _binary_object_bytes(obj, compact_footer: bool) -> tuple[bytes, int] | None:
    """(bytes, hash code) of obj exactly as GenericObjectMeta._from_python writes them, or None."""
    cls = type(obj)
    if not _is_plain(cls):
        return None
    version, type_id, schema_id = obj.version, obj.type_id, obj.schema_id
    if type(version) is not int or type(type_id) is not int or type(schema_id) is not int:
        return None
    pieces, offsets, names, position = [], [], [], _HEADER.size
    for name, field_type in obj._schema.items():
        piece = _field_bytes(field_type, getattr(obj, name, getattr(field_type, "default", None)))
        if piece is None:
            return None
        pieces.append(piece)
        offsets.append(position)
        names.append(name)
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


def _binary_from_python_not_null(cls, stream, value, **kwargs):
    if getattr(value, "_buffer", None):
        stream.write(value._buffer)
        return
    stream.register_binary_type(value.__class__)
    encoded = _binary_object_bytes(value, stream.compact_footer)
    if encoded is None:
        value._from_python(stream)
    else:
        stream.write(encoded[0])
        value._hashcode = encoded[1]


async def _binary_from_python_not_null_async(cls, stream, value, **kwargs):
    if getattr(value, "_buffer", None):
        stream.write(value._buffer)
        return
    await stream.register_binary_type(value.__class__)
    encoded = _binary_object_bytes(value, stream.compact_footer)
    if encoded is None:
        await value._from_python_async(stream)
    else:
        stream.write(encoded[0])
        value._hashcode = encoded[1]


def _type_id(self):
    # pyignite passes entity_id(type name) as getattr's default, computing it even when _type_id is set.
    value = getattr(self, "_type_id", _MISSING)
    return entity_id(getattr(self, "_type_name", None)) if value is _MISSING else value


_PATCHES = [
    (String, "build_c_type", classmethod(_string_build_c_type)),
    (String, "from_python_not_null", classmethod(_string_from_python_not_null)),
    (Response, "_Response__build_response_class", _build_response_class),
    (BinaryObject, "_BinaryObject__build_final_class", classmethod(_binary_build_final_class)),
    (BinaryObject, "schema_type", classmethod(_schema_type)),
    (BinaryObject, "from_python_not_null", classmethod(_binary_from_python_not_null)),
    (BinaryObject, "from_python_not_null_async", classmethod(_binary_from_python_not_null_async)),
    (Struct, "build_c_type", staticmethod(lambda fields: _struct_class("Struct", _LES, fields))),
    (StructArray, "build_c_type", staticmethod(lambda fields: _struct_array_class("StructArray", _LES, fields))),
    (_MapBase, "_MapBase__build_final_class", classmethod(lambda cls, fields: _map_class(cls.__name__, _LES, fields))),
    (IgniteDataTypeProps, "type_id", property(_type_id)),
    (Response, "to_python_async", _response_to_python_async),
    (BinaryObject, "to_python_not_null_async", classmethod(_binary_to_python_not_null_async)),
    (_MapBase, "_to_python_async", classmethod(_map_to_python_async)),
    (WrappedDataObject, "parse_not_null", classmethod(_wrapped_parse_not_null)),
]


# ---------------------------------------------------------------- install / uninstall


def install() -> bool:
    """Patch pyignite (idempotent). Returns True when the speedups are active."""
    if _originals:
        return True
    version = getattr(pyignite, "__version__", "?")
    if not version.startswith("0.6."):
        logger.warning("pyignite %s is not 0.6.x: pyignite speedups not installed", version)
        return False
    missing = [f"{owner.__name__}.{name}" for owner, name, _ in _PATCHES if name not in vars(owner)]
    if missing:
        logger.warning("pyignite %s lacks %s: pyignite speedups not installed", version, ", ".join(missing))
        return False
    for owner, name, replacement in _PATCHES:
        _originals[(owner, name)] = vars(owner)[name]
        setattr(owner, name, replacement)
    logger.debug("pyignite speedups installed")
    return True


def uninstall() -> None:
    """Restore pyignite's own functions and empty the caches."""
    for (owner, name), original in _originals.items():
        setattr(owner, name, original)
    _originals.clear()
    _plain_classes.clear()
    for cache in (_response_class, _struct_class, _struct_array_class, _map_class, _binary_class,
                  _string_class, _schema_element, _wrapped_class):
        cache.cache_clear()


def installed() -> bool:
    """True while the patches are in place."""
    return bool(_originals)
