"""Import chat history from JSON Lines written by chat_export; idempotent, sequences kept.

Rooms are created before their memberships and messages because the file lists them first
(chat_export's order); a membership of a room that is neither stored nor earlier in the file is an
error naming its line. Files of messages only (written before rooms existed) import as before;
run chat_migrate_rooms afterwards to give their rooms records and members.
"""

from __future__ import annotations

import json
import sys
from collections import Counter

from django.core.management.base import BaseCommand, CommandError

from ignite_store import run_sync, stores
from ignite_store.errors import InvalidMessage, StoreError
from ignite_store.types import Membership, Room

from ._chatio import Progress, record_from_json


class Command(BaseCommand):
    help = (
        "Store rooms, memberships and messages from a JSON Lines file with their own ids, sequences, times and "
        "read markers; already stored ones are skipped (a read marker only moves forward)."
    )

    def add_arguments(self, parser):
        parser.add_argument("input", nargs="?", default="-", help="File to read (default: stdin).")
        parser.add_argument("--store", default="default", help="IGNITE_STORE alias (default: %(default)s).")

    def handle(self, *args, **options):
        store = stores[options["store"]]
        source = sys.stdin if options["input"] == "-" else open(options["input"], encoding="utf-8")  # noqa: SIM115
        created: Counter[str] = Counter()
        skipped: Counter[str] = Counter()
        progress = Progress("importing")
        try:
            for number, line in enumerate(source, start=1):
                if not line.strip():
                    continue
                try:
                    record = record_from_json(json.loads(line), number)
                    if isinstance(record, Room):
                        kind, stored = "rooms", run_sync(store.aimport_room(record))
                    elif isinstance(record, Membership):
                        kind, stored = "memberships", run_sync(store.aimport_membership(record))
                    else:
                        kind, stored = "messages", store.import_message(record)
                except json.JSONDecodeError as exc:
                    raise CommandError(f"line {number}: not JSON: {exc}") from exc
                except InvalidMessage as exc:
                    raise CommandError(f"line {number}: {exc}") from exc
                except StoreError as exc:
                    raise CommandError(f"line {number}: {exc} (re-run to resume; stored lines are skipped)") from exc
                (created if stored else skipped)[kind] += 1
                if kind == "messages":
                    progress.step()
        finally:
            progress.finish()
            if source is not sys.stdin:
                source.close()
        if options["verbosity"] >= 1:
            self.stdout.write(f"Imported {created['messages']} messages, skipped {skipped['messages']} already stored.")
            if created["rooms"] or skipped["rooms"] or created["memberships"] or skipped["memberships"]:
                self.stdout.write(
                    f"Imported {created['rooms']} rooms, skipped {skipped['rooms']}; "
                    f"imported {created['memberships']} memberships, skipped {skipped['memberships']} "
                    "(their read markers moved forward where the file's were ahead)."
                )
