"""The `search` frame: parse, authorize the rooms, ask the store, answer with snippets and hit ranges.

Which rooms are searched is decided here, at query time, by chat.access: a `room` filter is authorized
with READ like a history request (fresh, not from the grant cache); without it the search covers every
room the user is a member of (`Access.authorize_mine`, the same rule, read fresh), so a member who left
or was removed finds nothing there any more. What matches is ignite_store.search_text's decision.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ignite_store import InvalidMessage, SearchPage, StoreUnavailable
from ignite_store.search_text import MAX_QUERY_CHARS, snippet
from ignite_store.validation import validate_author, validate_room, validate_seq

from .access import Action
from .limits import current
from .protocol import ProtocolError
from .room_commands import peers

if TYPE_CHECKING:
    from .actor import Actor

SEARCH_LIMIT_DEFAULT = 20
SEARCH_LIMIT_MAX = 50
CURSOR_MAX_CHARS = 120


@dataclass(frozen=True, slots=True)
class Search:
    query: str
    room: str | None = None
    author: str | None = None
    since: int | None = None
    until: int | None = None
    cursor: tuple[int, str, int] | None = None
    limit: int = SEARCH_LIMIT_DEFAULT


def _invalid(detail: str, field: str) -> ProtocolError:
    return ProtocolError("invalid", detail, ref="search", field=field)


def encode_cursor(cursor: tuple[int, str, int] | None) -> str | None:
    return None if cursor is None else f"{cursor[0]}:{cursor[2]}:{cursor[1]}"


def decode_cursor(value: object, room_pattern: str) -> tuple[int, str, int]:
    """(created_at, room, seq) from "created_at:seq:room", or InvalidMessage."""
    if not isinstance(value, str) or len(value) > CURSOR_MAX_CHARS:
        raise InvalidMessage("cursor", "must be the cursor of a previous page")
    parts = value.split(":", 2)
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        raise InvalidMessage("cursor", "must be the cursor of a previous page")
    return int(parts[0]), validate_room(parts[2], room_pattern), int(parts[1])


def parse_search(data: dict) -> Search:
    """A Search command from a `search` frame; bad fields are `invalid` with `field`."""
    limits = current()
    query = data.get("query")
    if not isinstance(query, str) or not query.strip():
        raise _invalid("give words to search for", "query")
    if len(query) > MAX_QUERY_CHARS:
        raise _invalid(f"must be at most {MAX_QUERY_CHARS} characters", "query")
    try:
        room = None if data.get("room") is None else validate_room(data.get("room"), limits.room_pattern)
        author = None if data.get("author") is None else validate_author(data.get("author"))
        since = None if data.get("since") is None else validate_seq(data.get("since"), "since")
        until = None if data.get("until") is None else validate_seq(data.get("until"), "until")
        cursor = None if data.get("cursor") is None else decode_cursor(data.get("cursor"), limits.room_pattern)
    except InvalidMessage as e:
        raise _invalid(e.detail, e.field) from e
    limit = data.get("limit", SEARCH_LIMIT_DEFAULT)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= SEARCH_LIMIT_MAX:
        raise _invalid(f"must be an integer from 1 to {SEARCH_LIMIT_MAX}", "limit")
    return Search(query.strip(), room, author, since, until, cursor, limit)


def results_frame(cmd: Search, page: SearchPage, names: dict[str, str]) -> dict:
    """The `search_results` frame: each hit with its room, author, time and a snippet with hit ranges."""
    results = []
    for hit in page.hits:
        message = hit.message
        text, ranges = snippet(message.body, hit.hits)
        results.append({
            "room": message.room, "room_name": names.get(message.room, message.room), "seq": message.seq,
            "id": message.id, "author": message.author, "created_at": message.created_at,
            "snippet": text, "hits": [list(r) for r in ranges],
        })
    return {"type": "search_results", "query": cmd.query, "room": cmd.room, "results": results,
            "cursor": encode_cursor(page.cursor)}


async def search(session: Actor, cmd: Search) -> None:
    """Search the rooms the user may read (checked now), newest first, one page."""
    if cmd.room is not None:
        grant = await session.authorize(cmd.room, Action.READ, "search", fresh=True)
        grants = [grant]
    else:
        try:
            grants = await session.services.access.authorize_mine(session.username, Action.READ)
        except StoreUnavailable as e:
            raise ProtocolError("store_unavailable", "search is unavailable, retry", ref="search") from e
    names = {g.room.id: ", ".join(peers(g.room, session.username)) if g.room.kind == "direct" else g.room.name
             for g in grants}
    try:
        page = await session.services.store.asearch(
            sorted(names), cmd.query, limit=cmd.limit, author=cmd.author, since=cmd.since, until=cmd.until,
            cursor=cmd.cursor,
        )
    except InvalidMessage as e:
        raise ProtocolError("invalid", e.detail, ref="search", field=e.field) from e
    except StoreUnavailable as e:
        raise ProtocolError("store_unavailable", "search is unavailable, retry", ref="search") from e
    await session.emit(results_frame(cmd, page, names))


PARSERS: dict[str, Callable[[dict], Any]] = {"search": parse_search}
HANDLERS = {Search: search}
