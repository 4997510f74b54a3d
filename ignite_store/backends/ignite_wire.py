"""SQL fields queries over pyignite's connections, encoded and decoded with `struct`.

pyignite parses every response by building a ctypes class per field and per row (~0.17 ms a row,
docs/performance.md "Findings" 5). History pages only ever carry strings, longs, booleans and nulls,
so this module speaks the thin-client messages OP_QUERY_SQL_FIELDS (2004), its cursor page (2005)
and OP_RESOURCE_CLOSE (0) itself and decodes a row in a few microseconds. This module only builds and
parses bytes; pyignite_seam sends them through pyignite's own connections (sockets, TLS, handshake,
reconnection and request ids stay pyignite's). Server errors are raised as pyignite's public SQLError,
so ignite_client.translate maps them as before.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from pyignite.exceptions import SQLError

OP_RESOURCE_CLOSE = 0
OP_CACHE_PUT_ALL = 1004
OP_QUERY_SQL_FIELDS = 2004
OP_QUERY_SQL_FIELDS_CURSOR_GET_PAGE = 2005

# Type codes of the thin-client binary protocol (pyignite/datatypes/type_codes.py).
TC_BYTE, TC_SHORT, TC_INT, TC_LONG, TC_FLOAT, TC_DOUBLE, TC_BOOL, TC_STRING, TC_NULL = 1, 2, 3, 4, 5, 6, 8, 9, 101
STATEMENT_SELECT = 1
RHF_ERROR, RHF_TOPOLOGY_CHANGED = 1, 2  # response header flags (protocol 1.4+)

_HEADER = struct.Struct("<ihq")  # length, op code, query id
_INT = struct.Struct("<i")
_LONG = struct.Struct("<q")
_SHORT = struct.Struct("<h")
_BODY = struct.Struct("<qii")  # cursor id, field count, row count
_FIXED = {TC_BYTE: struct.Struct("<b"), TC_SHORT: _SHORT, TC_INT: _INT, TC_LONG: _LONG,
          TC_FLOAT: struct.Struct("<f"), TC_DOUBLE: struct.Struct("<d")}
_CLOSE = struct.Struct("<ihqq")  # length, op code, query id, resource id


class UnsupportedValue(ValueError):
    """A response value of a type this decoder does not read (callers fall back to pyignite)."""


# ---------------------------------------------------------------- requests

def _string(value: str) -> bytes:
    data = value.encode("utf-8")
    return b"\x09" + _INT.pack(len(data)) + data


def _arg(value) -> bytes:
    """One query argument as a typed data object, as pyignite infers it (int -> long, str -> string)."""
    if value is None:
        return b"\x65"
    if isinstance(value, bool):
        return b"\x08\x01" if value else b"\x08\x00"
    if isinstance(value, int):
        return b"\x04" + _LONG.pack(value)
    if isinstance(value, str):
        return _string(value)
    raise TypeError(f"unsupported SQL argument type {type(value).__name__}")


def sql_fields_request(query_id: int, query: str, args: Sequence, *, page_size: int, timeout_ms: int,
                       schema: str = "PUBLIC") -> bytes:
    """OP_QUERY_SQL_FIELDS, laid out as pyignite.api.sql.sql_fields writes it (no cache, no transaction)."""
    body = b"".join((
        b"\x00\x00\x00\x00\x00",  # cache id 0, flags 0 (no expiry policy, no transaction)
        _string(schema),
        _INT.pack(page_size),
        _INT.pack(-1),  # max rows: all
        _string(query),
        _INT.pack(len(args)),
        *(_arg(value) for value in args),
        bytes((STATEMENT_SELECT, 0, 0, 0, 0, 0, 0)),  # distributed joins, local, replicated only, enforce
        _LONG.pack(timeout_ms),                       # join order, collocated, lazy; then the timeout
        b"\x00",  # include field names: no
    ))
    return _HEADER.pack(len(body) + 10, OP_QUERY_SQL_FIELDS, query_id) + body


def cursor_page_request(query_id: int, cursor_id: int) -> bytes:
    """OP_QUERY_SQL_FIELDS_CURSOR_GET_PAGE for `cursor_id`."""
    return _HEADER.pack(18, OP_QUERY_SQL_FIELDS_CURSOR_GET_PAGE, query_id) + _LONG.pack(cursor_id)


def close_request(query_id: int, resource_id: int) -> bytes:
    """OP_RESOURCE_CLOSE for a cursor."""
    return _CLOSE.pack(18, OP_RESOURCE_CLOSE, query_id, resource_id)


def put_all_request(query_id: int, cache_id: int, tx_id: int | None, entries: bytes, count: int) -> bytes:
    """OP_CACHE_PUT_ALL of `count` already encoded (key, value) pairs, laid out as pyignite's cache_put_all
    writes it: cache id, flags (0x02: in the transaction `tx_id`), then the map."""
    flags = b"\x02" + _INT.pack(tx_id) if tx_id else b"\x00"
    body = _INT.pack(cache_id) + flags + _INT.pack(count) + entries
    return _HEADER.pack(len(body) + 10, OP_CACHE_PUT_ALL, query_id) + body


def long_value(value: int) -> bytes:
    """A long as a map value (type code and 8 bytes)."""
    return b"\x04" + _LONG.pack(value)


# ---------------------------------------------------------------- responses

def _read_string(buf, pos: int) -> tuple[str | None, int]:
    code = buf[pos]
    if code == TC_NULL:
        return None, pos + 1
    (length,) = _INT.unpack_from(buf, pos + 1)
    end = pos + 5 + length
    return bytes(buf[pos + 5:end]).decode("utf-8"), end


def parse_header(buf, *, status_flags: bool) -> tuple[int, tuple[int, int] | None]:
    """(position after the response header, new affinity version or None); raises SQLError on an error.

    Mirrors pyignite.queries.response.Response.__parse_header and Query.__post_process_response;
    `status_flags` is the connection's protocol_context.is_status_flags_supported().
    """
    if status_flags:
        (flags,) = _SHORT.unpack_from(buf, 12)
        pos, affinity = 14, None
        if flags & RHF_TOPOLOGY_CHANGED:
            affinity = (_LONG.unpack_from(buf, pos)[0], _INT.unpack_from(buf, pos + 8)[0])
            pos += 12
        if flags & RHF_ERROR:
            message, _ = _read_string(buf, pos + 4)  # after the status code
            raise SQLError(message)
        return pos, affinity
    (status,) = _INT.unpack_from(buf, 12)
    if status != 0:
        message, _ = _read_string(buf, 16)
        raise SQLError(message)
    return 16, None


def decode_rows(buf, pos: int, row_count: int, field_count: int) -> tuple[list[list], int]:
    """`row_count` rows of `field_count` typed values from `pos`; the rows and the position after them."""
    rows = []
    unpack_int, unpack_long = _INT.unpack_from, _LONG.unpack_from
    for _ in range(row_count):
        row: list = []
        append = row.append
        for _ in range(field_count):
            code = buf[pos]
            if code == TC_STRING:
                (length,) = unpack_int(buf, pos + 1)
                end = pos + 5 + length
                append(buf[pos + 5:end].decode("utf-8"))
                pos = end
            elif code == TC_LONG:
                append(unpack_long(buf, pos + 1)[0])
                pos += 9
            elif code == TC_NULL:
                append(None)
                pos += 1
            elif code == TC_BOOL:
                append(buf[pos + 1] != 0)
                pos += 2
            elif code in _FIXED:
                fixed = _FIXED[code]
                append(fixed.unpack_from(buf, pos + 1)[0])
                pos += 1 + fixed.size
            else:
                raise UnsupportedValue(f"type code {code} in a SQL row")
        rows.append(row)
    return rows, pos


def first_page(buf, pos: int) -> tuple[int, int, list[list], bool]:
    """(cursor id, field count, rows, more) of an OP_QUERY_SQL_FIELDS response body at `pos`."""
    cursor_id, field_count, row_count = _BODY.unpack_from(buf, pos)
    rows, pos = decode_rows(buf, pos + _BODY.size, row_count, field_count)
    return cursor_id, field_count, rows, buf[pos] != 0


def next_page(buf, pos: int, field_count: int) -> tuple[list[list], bool]:
    """(rows, more) of an OP_QUERY_SQL_FIELDS_CURSOR_GET_PAGE response body at `pos`."""
    (row_count,) = _INT.unpack_from(buf, pos)
    rows, pos = decode_rows(buf, pos + 4, row_count, field_count)
    return rows, buf[pos] != 0
