"""Print chat statistics: users, messages, who is online, the busiest conversations."""

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from messaging.selectors import chat_stats, online_user_ids


class Command(BaseCommand):
    help = "Show users, messages (total and today, UTC), online users and top conversations."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--top", type=int, default=5, help="Conversations to list (5).")
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="Print one JSON object."
        )

    def handle(self, *args: object, top: int, as_json: bool, **options: object) -> None:
        midnight = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
        stats = chat_stats(since=midnight, top=max(top, 0))
        # Without Redis, presence lives inside each server process: this one has no sockets.
        stats["onlineNow"] = len(online_user_ids()) if settings.REDIS_URL else None
        if as_json:
            self.stdout.write(json.dumps(stats, sort_keys=True))
            return
        if int(options.get("verbosity", 1)) < 1:
            return
        online = stats["onlineNow"]
        self.stdout.write(self.style.SUCCESS("Parley chat statistics"))
        self.stdout.write(f"Users: {stats['users']} ({stats['activeUsers']} active)")
        self.stdout.write(
            f"Messages: {stats['messages']} total, {stats['messagesToday']} today "
            f"(since 00:00 UTC, from {stats['sendersToday']} sender(s))"
        )
        self.stdout.write(
            f"Online now: {online}"
            if online is not None
            else "Online now: n/a (presence is per process without REDIS_URL)"
        )
        self.stdout.write("Top conversations:")
        for row in stats["topConversations"]:
            self.stdout.write(f"  {row['messages']:>7}  {row['names'][0]} <-> {row['names'][1]}")
        if not stats["topConversations"]:
            self.stdout.write("  (none yet)")
