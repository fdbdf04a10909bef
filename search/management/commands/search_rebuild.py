"""Rebuild the message search index from the messages (SQLite FTS5; docs/SEARCH.md)."""

from django.core.management.base import BaseCommand, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from search import fts


class Command(BaseCommand):
    help = (
        "Rebuild the full-text index of message text (SQLite), recreating its table and"
        " triggers if missing. On MongoDB there is nothing to rebuild."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="Database alias.")

    def handle(self, *args: object, database: str, **options: object) -> None:
        connection = connections[database]
        if connection.vendor != "sqlite":
            self.stdout.write(
                f"Nothing to rebuild on {connection.vendor}: search reads the messages directly."
            )
            return
        with transaction.atomic(using=database), connection.cursor() as cursor:
            indexed = fts.rebuild(cursor)
        self.stdout.write(self.style.SUCCESS(f"Search index rebuilt: {indexed} messages."))
