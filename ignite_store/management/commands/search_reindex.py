"""Rebuild the search index (<P>_SEARCH_RUNS) from the stored messages: after upgrading from an earlier
index (<P>_SEARCH, <P>_SEARCH_BLOCKS), after running with IGNITE_SEARCH_INDEX=0 for a long while, or to drop nothing but
refresh everything. Searches are exact without it (they scan what is not indexed); it makes them fast.
Idempotent and safe while the chat runs: rows are written again unchanged and the watermark only moves up."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from ignite_store import stores
from ignite_store.errors import StoreError


class Command(BaseCommand):
    help = "Rebuild the search index (every room, or --room). Safe to run while the chat runs."

    def add_arguments(self, parser):
        parser.add_argument("--room", help="Only this room.")
        parser.add_argument("--store", default="default", help="IGNITE_STORE alias (default: %(default)s).")

    def handle(self, *args, **options):
        store = stores[options["store"]]
        try:
            total = store.reindex_search(options["room"])
        except StoreError as exc:
            raise CommandError(f"reindex failed: {exc}") from exc
        if options["verbosity"]:
            self.stdout.write(f"Indexed {total} messages.")
