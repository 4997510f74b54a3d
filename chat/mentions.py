"""@mentions in message bodies (issue 13): which names a body mentions; who of them may be notified.

A name is `@` followed by Django's username characters (`[\\w.@+-]`, Unicode letters included: usernames
may become Unicode, issue 16) and not preceded by one of them (so e-mail addresses mention nobody).
Trailing `.`, `-`, `+` and `@` are tried without them too ("thanks @ana." names ana). `@room` names every
member: owners and admins may always use it, anyone else only in a room with fewer than
CHAT["ROOM_MENTION_MAX_MEMBERS"] members; otherwise it is plain text. Only members are mentioned, and
never the author. Bodies without "@" are not parsed at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_NAMES = 50  # names looked up per message; more is spam, the rest stay plain text
ROOM = "room"
_MENTION = re.compile(r"(?<![\w.@+-])@([\w.@+-]{1,150})")


def candidate_names(body: str) -> list[str]:
    """Every name a body may mention, in order of appearance, each with its trailing-punctuation variants."""
    if "@" not in body:
        return []
    names: list[str] = []
    for match in _MENTION.finditer(body):
        name = match.group(1)
        while name:
            if name not in names:
                names.append(name)
            stripped = name.rstrip(".-+@")
            if stripped == name:
                break
            name = stripped
        if len(names) >= MAX_NAMES:
            break
    return names


@dataclass(frozen=True, slots=True)
class Mentions:
    users: tuple[str, ...]  # members named, in order of appearance
    room: bool  # @room, allowed
    notified: tuple[str, ...]  # every member who gets a mention (named + @room's), without the author

    def __bool__(self) -> bool:
        return bool(self.notified) or self.room


NONE = Mentions((), False, ())


def resolve(names: list[str], members: set[str], author: str, *, room_members: list[str] | None) -> Mentions:
    """The mentions of a body whose candidate `names` found `members`; `room_members` when @room is allowed."""
    users = tuple(name for name in names if name in members and name != author)
    use_room = room_members is not None
    notified = set(users) | ({user for user in room_members or () if user != author} if use_room else set())
    return Mentions(users, use_room, tuple(sorted(notified)))
