"""Delete messages older than a number of days, with their stored images."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.selectors import iso
from messaging.services import messages_purge


class Command(BaseCommand):
    help = "Delete messages (and their stored images) created more than DAYS days ago."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than", type=int, required=True, metavar="DAYS", help="Age in days (>= 1)."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would go; delete nothing."
        )

    def handle(self, *args: object, older_than: int, dry_run: bool, **options: object) -> None:
        if older_than < 1:
            raise CommandError("--older-than must be at least 1 day.")
        cutoff = timezone.now() - timedelta(days=older_than)
        messages, images = messages_purge(older_than=cutoff, dry_run=dry_run)
        verbosity = int(options.get("verbosity", 1))
        if verbosity >= 1:
            verb = "Would delete" if dry_run else "Deleted"
            self.stdout.write(
                self.style.SUCCESS(
                    f"{verb} {messages} message(s) and {images} image(s) "
                    f"older than {older_than} day(s)."
                )
            )
        if verbosity >= 2:
            self.stdout.write(f"Cut-off: messages created before {iso(cutoff)}.")
