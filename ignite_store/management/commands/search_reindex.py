"""Write the search-index rows of stored messages (messages stored before the index existed, or with
IGNITE_STORE OPTIONS search_index off). Idempotent: a row that exists is written again unchanged."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from ignite_store import stores
from ignite_store.errors import StoreError

BATCH = 500


class Command(BaseCommand):
    help = "Index stored messages for search (every room, or --room). Safe to run while the chat runs."

    def add_arguments(self, parser):
        parser.add_argument("--room", help="Only this room.")
        parser.add_argument("--store", default="default", help="IGNITE_STORE alias (default: %(default)s).")

    def handle(self, *args, **options):
        store = stores[options["store"]]
        batch, total = [], 0
        try:
            for message in store.iter_messages(room=options["room"]):
                batch.append(message)
                if len(batch) == BATCH:
                    total += store.index_messages(batch)
                    batch = []
            total += store.index_messages(batch) if batch else 0
        except StoreError as exc:
            raise CommandError(f"reindex failed after {total} messages: {exc}") from exc
        if options["verbosity"]:
            self.stdout.write(f"Indexed {total} messages.")
