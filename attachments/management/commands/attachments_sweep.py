"""Delete uploads that were never sent, once they are older than ATTACHMENT_UNSENT_TTL."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from accounts.selectors import iso
from attachments.services import attachments_sweep


class Command(BaseCommand):
    help = (
        "Delete uploaded files that no message carries, made more than ATTACHMENT_UNSENT_TTL"
        " seconds ago (their stored bytes too)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would go; delete nothing."
        )

    def handle(self, *args: object, dry_run: bool, **options: object) -> None:
        cutoff = timezone.now() - timedelta(seconds=settings.ATTACHMENT_UNSENT_TTL)
        count = attachments_sweep(created_before=cutoff, dry_run=dry_run)
        verbosity = int(options.get("verbosity", 1))
        if verbosity >= 1:
            verb = "Would delete" if dry_run else "Deleted"
            self.stdout.write(self.style.SUCCESS(f"{verb} {count} unsent upload(s)."))
        if verbosity >= 2:
            self.stdout.write(f"Cut-off: uploads made before {iso(cutoff)}.")
