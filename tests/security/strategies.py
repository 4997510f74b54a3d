"""Hypothesis strategies for hostile client frames (shared by the parser and the live fuzzers)."""

from __future__ import annotations

import json

from hypothesis import strategies as st

FRAME_TYPES = ["join", "leave", "send", "history", "catchup", "typing", "ping"]
CONTROL_CHARS = "".join(chr(c) for c in [*range(0, 32), 127, *range(0x80, 0xA0)]) + "\u2028\u202e\ufeff"

huge_ints = st.one_of(
    st.integers(), st.integers(min_value=2**53 - 2, max_value=2**53 + 2), st.integers(min_value=2**62 - 1),
    st.integers(max_value=-(2**63)), st.sampled_from([2**63 - 1, 2**63, 2**64, 10**400, -1, 0]),
)
nasty_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.sampled_from(CONTROL_CHARS + "ab"), max_size=20),
    st.sampled_from(["", " ", "\x00", "<script>alert(1)</script>", "../../etc", "a" * 65, "a" * 4001,
                     "room\n", "ROOM", "-x", "é", "\U0001f600" * 3]),
)
scalars = st.one_of(st.none(), st.booleans(), huge_ints, st.floats(allow_nan=False), nasty_text)
json_values = st.recursive(
    scalars, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner,
                                                                                    max_size=4)),
    max_leaves=12,
)


def frame_dicts(rooms: list[str]) -> st.SearchStrategy[dict]:
    """JSON objects shaped like client frames, with every field possibly wrong."""
    room = st.one_of(st.sampled_from(rooms), json_values) if rooms else json_values
    fields = {
        "type": st.one_of(st.sampled_from(FRAME_TYPES), json_values),
        "room": room,
        "body": st.one_of(nasty_text, st.text(min_size=1, max_size=200), json_values),
        "client_id": st.one_of(st.from_regex(r"\A[A-Za-z0-9_.:-]{1,64}\Z"), json_values),
        "after": st.one_of(huge_ints, json_values),
        "before": st.one_of(huge_ints, json_values),
        "limit": st.one_of(st.integers(-5, 200), json_values),
        "id": st.one_of(st.from_regex(r"\A[A-Za-z0-9_.:-]{1,64}\Z"), huge_ints, json_values),
        "v": st.one_of(st.just(1), json_values),
    }
    return st.fixed_dictionaries({"type": fields["type"]}, optional={k: v for k, v in fields.items() if k != "type"})


def near_valid_sends(room: str) -> st.SearchStrategy[dict]:
    """Valid `send` frames for `room`, sometimes with one field replaced by something hostile."""
    valid = st.fixed_dictionaries({
        "type": st.just("send"), "room": st.just(room),
        "body": st.one_of(st.text(min_size=1, max_size=300), nasty_text),
        "client_id": st.from_regex(r"\A[A-Za-z0-9_.:-]{1,64}\Z"),
    }, optional={"v": st.just(1)})

    def mutate(frame: dict, key: str | None, value) -> dict:
        if key is None:
            return frame
        return {k: v for k, v in frame.items() if k != key} if value is _DROP else {**frame, key: value}

    return st.builds(mutate, valid, st.one_of(st.none(), st.sampled_from(["room", "body", "client_id", "v"])),
                     st.one_of(st.just(_DROP), json_values))


_DROP = object()


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def deep(depth: int, open_: str = "[", close: str = "]") -> str:
    return open_ * depth + close * depth


def frame_texts(rooms: list[str]) -> st.SearchStrategy[str]:
    """Text frames: mostly frame-shaped objects, plus broken JSON, other JSON values and deep nesting."""
    return st.one_of(
        frame_dicts(rooms).map(_dumps),
        near_valid_sends(rooms[0]).map(_dumps),
        frame_dicts(rooms).map(_dumps).flatmap(lambda s: st.integers(0, max(len(s) - 1, 0)).map(lambda i: s[:i])),
        json_values.map(_dumps),
        st.text(max_size=60),
        st.sampled_from(['{"type": "ping", "id": NaN}', '{"type": "ping", "id": Infinity}', "{'type': 'ping'}",
                         '{"type": "ping",}', '{"type":"ping"}{"type":"ping"}', '{"type": "ping", "type": 3}',
                         '{"type": "ping", "id": 1e400}', '{"type": "ping", "id": 123456789012345678901234567890}',
                         "\ufeff{}", "null", "true", "1", '"ping"']),
        st.integers(1, 3000).map(deep),
        st.integers(1, 2000).map(lambda d: deep(d, '{"a":', "}").replace('{"a":}', '{"a":1}')),
    )
