"""@mentions in message bodies (issue 13): which names a body mentions; who of them may be notified.

A name is `@` followed by Django's username characters (`[\\w.@+-]`, Unicode letters included: usernames
may become Unicode, issue 16) and not preceded by one of them (so e-mail addresses mention nobody).
Trailing `.`, `-`, `+` and `@` are tried without them too ("thanks @ana." names ana), and so are Korean
particles ("@김민지님" names 김민지 when 김민지님 is no member). `@room` names every
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


# Korean particles and honorifics written straight after a name ("@김민지님", "@서준이랑"): a name that is no
# member is tried without them, longest particle first, at most two deep ("@김민지님께" -> 김민지님 -> 김민지).
_PARTICLES = ("에게서", "한테서", "께서", "에게", "한테", "이랑", "님", "씨", "이", "가", "은", "는", "을", "를", "의",
              "께", "도", "만", "과", "와", "랑", "아", "야")


def _without_particles(name: str) -> list[str]:
    shorter = []
    for _ in range(2):
        particle = next((p for p in _PARTICLES if name.endswith(p) and len(name) > len(p)), None)
        if particle is None:
            break
        name = name[: -len(particle)]
        shorter.append(name)
    return shorter


def candidate_groups(body: str) -> list[tuple[str, ...]]:
    """Per `@name` of a body, in order of appearance: the name and its shorter readings, longest first."""
    if "@" not in body:
        return []
    groups: list[tuple[str, ...]] = []
    for match in _MENTION.finditer(body):
        name, readings = match.group(1), []
        while name:
            readings.append(name)
            stripped = name.rstrip(".-+@")
            if stripped == name:
                break
            name = stripped
        readings += _without_particles(readings[-1])
        groups.append(tuple(readings))
        if sum(map(len, groups)) >= MAX_NAMES:
            break
    return groups


def candidate_names(body: str) -> list[str]:
    """Every name a body may mention (each reading of each `@name`, once), to look up among the members."""
    names: list[str] = []
    for group in candidate_groups(body):
        names += [name for name in group if name not in names]
    return names[:MAX_NAMES]


@dataclass(frozen=True, slots=True)
class Mentions:
    users: tuple[str, ...]  # members named, in order of appearance
    room: bool  # @room, allowed
    notified: tuple[str, ...]  # every member who gets a mention (named + @room's), without the author

    def __bool__(self) -> bool:
        return bool(self.notified) or self.room


NONE = Mentions((), False, ())


def resolve(groups: list[tuple[str, ...]], members: set[str], author: str, *,
            room_members: list[str] | None) -> Mentions:
    """Per `@name` its longest reading that is a member; `room_members`: everyone, when @room is allowed."""
    users: list[str] = []
    for group in groups:
        name = next((reading for reading in group if reading in members), None)
        if name is not None and name != author and name not in users:
            users.append(name)
    use_room = room_members is not None
    notified = set(users) | ({user for user in room_members or () if user != author} if use_room else set())
    return Mentions(tuple(users), use_room, tuple(sorted(notified)))
