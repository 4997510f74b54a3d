"""Room enumeration shared by chat_export, chat_migrate_rooms and ignite_init (sync, via run_sync).

The store lists rooms by name up to LIST_MAX; beyond that, rooms are found through the other two
places a room id appears (message counters and memberships), so an export stays complete for any
number of rooms (direct messages are one room per pair of people).
"""

from __future__ import annotations

from collections.abc import Iterator

from ignite_store import run_sync
from ignite_store.backends.base import BaseMessageStore
from ignite_store.types import Membership, Room, RoomInfo

LIST_MAX = 10_000  # alist_rooms' largest limit
MEMBERSHIP_PAGE = 1000


def iter_memberships(store: BaseMessageStore, room: str | None = None) -> Iterator[Membership]:
    """Every membership (with read markers) ordered by (room, user), or those of one room; one page in memory."""
    after = None if room is None else (room, "")
    while True:
        page = run_sync(store.amemberships_page(after, MEMBERSHIP_PAGE))
        for membership in page:
            if room is not None and membership.room != room:
                return
            yield membership
        if len(page) < MEMBERSHIP_PAGE:
            return
        after = (page[-1].room, page[-1].user)


def all_rooms(store: BaseMessageStore, room: str | None = None) -> list[Room]:
    """Every room record (any kind, archived included) ordered by id, or just `room` when given."""
    if room is not None:
        found = run_sync(store.aget_room(room))
        return [] if found is None else [found]
    listed = {r.id: r for r, _, _ in run_sync(store.alist_rooms(include_archived=True, limit=LIST_MAX))}
    if len(listed) >= LIST_MAX:
        # Truncated: a room is also known by its counter (it has messages) or by its members.
        ids = {info.room for info in store.rooms()} | {m.room for m in iter_memberships(store)}
        for room_id in sorted(ids - set(listed)):
            found = run_sync(store.aget_room(room_id))
            if found is not None:
                listed[room_id] = found
    return [listed[room_id] for room_id in sorted(listed)]


def unmigrated_rooms(store: BaseMessageStore) -> list[RoomInfo]:
    """Rooms that have messages but no room record (named rooms from before rooms were stored), by id."""
    counters = store.rooms()
    listed = {r.id for r, _, _ in run_sync(store.alist_rooms(include_archived=True, limit=LIST_MAX))}
    candidates = sorted((info for info in counters if info.room not in listed), key=lambda info: info.room)
    if len(listed) < LIST_MAX:
        return candidates
    return [info for info in candidates if run_sync(store.aget_room(info.room)) is None]
