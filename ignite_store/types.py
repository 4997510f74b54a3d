"""Plain value types returned by every store backend."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True, slots=True)
class Message:
    """One stored chat message. `seq` is the room's gap-free sequence, starting at 1.

    A moderated message stays as a tombstone (deleted=True, body=""), so sequences stay
    contiguous and clients can tell a deletion from a gap.
    """

    id: str
    room: str
    seq: int
    author: str
    body: str
    client_id: str
    created_at: int  # server time, milliseconds since the Unix epoch (UTC)
    deleted: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What `append` returns: the stored message, and whether this call created it."""

    message: Message
    created: bool


@dataclass(frozen=True, slots=True)
class Page:
    """A page of messages in ascending `seq` order, and whether more exist in the paging direction."""

    messages: list[Message] = field(default_factory=list)
    has_more: bool = False


@dataclass(frozen=True, slots=True)
class RoomInfo:
    """A room as the admin sees it."""

    room: str
    last_seq: int
    message_count: int
    last_activity: int | None  # milliseconds since the epoch, None when the room has no message


ROOM_KINDS = ("public", "private", "direct")
ROLES = ("owner", "admin", "member")
NOTIFY_LEVELS = ("all", "mentions", "none")


@dataclass(frozen=True, slots=True)
class Room:
    """A room's settings. `id` is its URL-safe slug, the key of its messages; `name` is any script."""

    id: str
    name: str
    kind: str  # one of ROOM_KINDS
    topic: str
    creator: str
    created_at: int  # milliseconds since the epoch
    archived: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Membership:
    """One user's membership of one room, with the user's read marker."""

    room: str
    user: str
    role: str  # one of ROLES
    joined_at: int
    last_read_seq: int = 0
    notify: str = "all"  # one of NOTIFY_LEVELS


@dataclass(frozen=True, slots=True)
class MyRoom:
    """A room as one member sees it in their room list: settings, membership and the room's counter."""

    room: Room
    membership: Membership
    last_seq: int
    last_at: int | None

    @property
    def unread(self) -> int:
        return max(0, self.last_seq - self.membership.last_read_seq)


@dataclass(frozen=True, slots=True)
class MembershipChange:
    """What add_member/remove_member did: the membership, and whether this call changed anything."""

    membership: Membership | None
    changed: bool


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A message that matched a search, with the [start, end) ranges of the hits in its body."""

    message: Message
    hits: list[tuple[int, int]]


@dataclass(frozen=True, slots=True)
class SearchPage:
    """Results newest first by (created_at, room, seq); `cursor` continues after the last one examined.

    `cursor` is None when nothing is left. A page may hold fewer results than asked for while
    `cursor` is set: the query examined its share of candidates (or time) and stopped there.
    """

    hits: list[SearchHit] = field(default_factory=list)
    cursor: tuple[int, str, int] | None = None
