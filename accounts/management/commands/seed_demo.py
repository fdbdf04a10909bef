"""Create the demo users (idempotent) and print their logins."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts.models import User

DEMO_PASSWORD = "parley-demo-123"
DEMO_USERS = [
    ("alice@parley.test", "Alice Martin"),
    ("bob@parley.test", "Bob Okafor"),
    ("carol@parley.test", "Carol Nguyen"),
    ("dave@parley.test", "Dave Kowalski"),
]
ADMIN = ("admin@parley.test", "Parley Admin")
REFUSED_IN_PRODUCTION = (
    "Refusing to create demo users with a published password while DJANGO_DEBUG is off; "
    "pass --allow-production if you really want them."
)


class Command(BaseCommand):
    help = "Create demo users and an admin (idempotent) and print their logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Show what would be created.")
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Create the demo users even with DJANGO_DEBUG off.",
        )

    def handle(self, *args: object, dry_run: bool = False, **options: object) -> None:
        # The demo admin's password is in the README: never on a production site by accident.
        if not settings.DEBUG and not options.get("allow_production"):
            raise CommandError(REFUSED_IN_PRODUCTION)
        created = []
        with transaction.atomic():
            for email, name in [*DEMO_USERS, ADMIN]:
                if User.objects.filter(email=email).exists():
                    continue
                created.append(email)
                if dry_run:
                    continue
                user = User(email=email, full_name=name, is_staff=email == ADMIN[0])
                user.is_superuser = user.is_staff
                user.set_password(DEMO_PASSWORD)
                user.save()
        verb = "Would create" if dry_run else "Created"
        if options.get("verbosity", 1) >= 1:
            self.stdout.write(self.style.SUCCESS(f"{verb} {len(created)} user(s)."))
            self.stdout.write(f"Demo logins (password: {DEMO_PASSWORD}):")
            for email, name in [*DEMO_USERS, ADMIN]:
                suffix = "  (admin: /admin/)" if email == ADMIN[0] else ""
                self.stdout.write(f"  {email:<22} {name}{suffix}")
