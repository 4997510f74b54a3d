"""Plain value types returned by every store backend."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True, slots=True)
class Reaction:
    """One emoji on a message and who reacted with it (sorted usernames)."""

    emoji: str
    users: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"emoji": self.emoji, "count": len(self.users), "users": list(self.users)}


REPLY_EXCERPT_CHARS = 140


@dataclass(frozen=True, slots=True)
class ReplyPreview:
    """What a reply shows of its original: the original's CURRENT state ("" once deleted)."""

    seq: int
    author: str
    excerpt: str
    deleted: bool

    def to_dict(self) -> dict:
        return {"seq": self.seq, "author": self.author, "excerpt": self.excerpt, "deleted": self.deleted}


@dataclass(frozen=True, slots=True)
class Message:
    """One stored chat message. `seq` is the room's gap-free sequence, starting at 1.

    A deleted message stays as a tombstone (deleted=True, body=""), so sequences stay
    contiguous and clients can tell a deletion from a gap. `change_seq` is the room's change
    sequence of the latest edit, deletion or reaction of this message (0: never changed).
    The optional fields are left out of `to_dict` while unset, so a plain message costs nothing more.
    """

    id: str
    room: str
    seq: int
    author: str
    body: str
    client_id: str
    created_at: int  # server time, milliseconds since the Unix epoch (UTC)
    deleted: bool = False
    change_seq: int = 0
    edited_at: int | None = None
    reply_to: int | None = None
    reactions: tuple[Reaction, ...] = ()
    mentions: tuple[str, ...] = ()  # members named with @username when it was sent
    mentions_room: bool = False  # it used @room, and was allowed to
    reply_preview: ReplyPreview | None = None  # filled by reads from the original's current state

    def to_dict(self) -> dict:
        data: dict = {
            "id": self.id, "room": self.room, "seq": self.seq, "author": self.author, "body": self.body,
            "client_id": self.client_id, "created_at": self.created_at, "deleted": self.deleted,
        }
        if self.change_seq:
            data["change_seq"] = self.change_seq
        if self.edited_at is not None:
            data["edited_at"] = self.edited_at
        if self.reply_to is not None:
            data["reply_to"] = self.reply_to
            if self.reply_preview is not None:
                data["reply_preview"] = self.reply_preview.to_dict()
        if self.reactions:
            data["reactions"] = [reaction.to_dict() for reaction in self.reactions]
        if self.mentions:
            data["mentions"] = list(self.mentions)
        if self.mentions_room:
            data["mentions_room"] = True
        return data

    def preview(self) -> ReplyPreview:
        """This message as a reply to it shows it."""
        return ReplyPreview(self.seq, self.author, "" if self.deleted else self.body[:REPLY_EXCERPT_CHARS],
                            self.deleted)


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What `append` returns: the stored message, and whether this call created it."""

    message: Message
    created: bool


@dataclass(frozen=True, slots=True)
class Page:
    """A page of messages in ascending `seq` order, and whether more exist in the paging direction.

    `has_newer` is set by the page around a seq only (newer messages exist after it).
    """

    messages: list[Message] = field(default_factory=list)
    has_more: bool = False
    has_newer: bool = False


@dataclass(frozen=True, slots=True)
class ChangeResult:
    """What an edit, delete or reaction did: the message's current state and the change's room sequence.

    `changed` is False when nothing was changed (the reaction was already there, the message already
    deleted): `change_seq` is then None. `created` is False when this was a retry of a change already
    stored with the same client id (the same change_seq is returned, nothing changed twice). `mentioned`:
    the members an edit newly mentions (each notified once; a retry names nobody).
    """

    message: Message
    change_seq: int | None
    changed: bool
    created: bool = True
    mentioned: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ChangesPage:
    """Current state of the messages changed after a change cursor, in ascending change_seq.

    A page covers the change seqs (after_change, upto]: every change in that range is either in it or was
    superseded by a later change of the same message (which a later page, or a live update, carries), so
    a page may hold fewer messages than its limit, even none while has_more. The next page starts after
    `upto`. `last_change_seq` is the room's change head when read: after the final page (has_more False)
    the client's cursor becomes it.
    """

    messages: list[Message]
    has_more: bool
    last_change_seq: int
    upto: int = 0


@dataclass(frozen=True, slots=True)
class Version:
    """A previous body of an edited message, kept for staff; `replaced_by` is the edit's change_seq."""

    room: str
    seq: int
    replaced_by: int
    body: str
    edited_at: int  # when this body was written (the send, or the edit before)


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
    mentions: int = 0  # messages after the read marker that mention the user

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
