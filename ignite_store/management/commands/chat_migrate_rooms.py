"""Give the rooms of before room records (a name and its messages) a record and members; idempotent.

Each room with messages but no room record becomes a public room with the same id (its messages
stay where they are), named after its id, created by "system" at its first stored message, and
each distinct author of its messages becomes a member. A room and its members are created in one
transaction (acreate_room), so a room is either migrated whole or not at all, and a second run
finds nothing left to do. The new members' read markers start at the room's last message: they
could read all of it before, and a sidebar full of "999+ unread" would be noise, not news.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.core.management.base import BaseCommand, CommandError

from ignite_store import run_sync, stores
from ignite_store.backends.base import BaseMessageStore
from ignite_store.errors import InvalidMessage, StoreError
from ignite_store.types import Room, RoomInfo
from ignite_store.validation import validate_author

from ._rooms import unmigrated_rooms

CREATOR = "system"
MARK_CHUNK = 500  # read markers per amark_read transaction


@dataclass(frozen=True)
class Plan:
    """What migrating one room stores."""

    room: Room
    members: list[str]
    last_seq: int
    skipped_authors: list[str]


def plan_room(store: BaseMessageStore, info: RoomInfo) -> Plan:
    """The room record and members of one unmigrated room, from its stored messages (streamed)."""
    first_at: int | None = None
    authors: set[str] = set()
    for message in store.iter_messages(room=info.room):
        if first_at is None or message.created_at < first_at:
            first_at = message.created_at
        authors.add(message.author)
    members, skipped = [], []
    for author in sorted(authors):
        try:
            members.append(validate_author(author))
        except InvalidMessage:
            skipped.append(author)  # e.g. an empty author from an old import: nobody to make a member
    created_at = first_at if first_at is not None else int(time.time() * 1000)
    room = Room(id=info.room, name=info.room, kind="public", topic="", creator=CREATOR, created_at=created_at)
    return Plan(room, members, info.last_seq, skipped)


def apply_plan(store: BaseMessageStore, plan: Plan) -> bool:
    """Store the room with its members, then their read markers; False when the room already had a record."""
    _, created = run_sync(store.acreate_room(plan.room, dict.fromkeys(plan.members, "member")))
    if created and plan.last_seq:
        for start in range(0, len(plan.members), MARK_CHUNK):
            chunk = plan.members[start:start + MARK_CHUNK]
            run_sync(store.amark_read({(plan.room.id, user): plan.last_seq for user in chunk}))
    return created


class Command(BaseCommand):
    help = (
        "Turn rooms that have messages but no room record into public rooms (same id, name = id) whose members "
        "are their messages' authors. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Print what would be created; change nothing.")
        parser.add_argument("--store", default="default", help="IGNITE_STORE alias (default: %(default)s).")

    def handle(self, *args, **options):
        store = stores[options["store"]]
        dry_run, verbosity = options["dry_run"], options["verbosity"]
        migrated = 0
        try:
            pending = unmigrated_rooms(store)
            for info in pending:
                plan = plan_room(store, info)
                verb = "would create" if dry_run else "created"
                if not dry_run and not apply_plan(store, plan):
                    verb = "skipped (created meanwhile)"
                else:
                    migrated += 1
                if verbosity >= 1:
                    self.stdout.write(f"{verb} public room {plan.room.id} with {len(plan.members)} member(s)")
                if verbosity >= 2 and plan.members:
                    self.stdout.write(f"  members: {', '.join(plan.members)}")
                for author in plan.skipped_authors:
                    self.stderr.write(f"  {plan.room.id}: author {author!r} is not a valid username; not a member")
        except (StoreError, InvalidMessage) as exc:
            raise CommandError(f"room migration stopped after {migrated} room(s): {exc} (re-run to resume)") from exc
        if verbosity >= 1:
            if not pending:
                self.stdout.write("Every room has a room record; nothing to migrate.")
            elif dry_run:
                self.stdout.write(f"Would migrate {migrated} room(s). Run without --dry-run to do it.")
            else:
                self.stdout.write(self.style.SUCCESS(f"Migrated {migrated} room(s)."))
