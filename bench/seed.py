"""Prepare a benchmark database: migrate, add users fast, optionally bulk-load messages.

    DJANGO_SETTINGS_MODULE=bench.settings SQLITE_PATH=... python -m bench.seed --users 1000

Prints JSON `{"ids": [...], "tokens": [...], "emails": [...], "password": ...}` on stdout.
Users share one password hash (hashing 10,000 bcrypt passwords would take an hour); messages
are inserted straight into SQLite, a million in well under a minute.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
from datetime import UTC, datetime, timedelta

PASSWORD = "bench-password-42"
EMAIL = "bench{}@example.com"


def seed_users(count: int) -> list[int]:
    from django.contrib.auth.hashers import make_password

    from accounts.models import User

    start = User.objects.count()
    if start >= count:
        return list(User.objects.order_by("id").values_list("id", flat=True)[:count])
    hashed = make_password(PASSWORD)
    User.objects.bulk_create(
        [
            User(email=EMAIL.format(n), full_name=f"Bench User {n:05d}", password=hashed)
            for n in range(start, count)
        ],
        batch_size=2000,
    )
    return list(User.objects.order_by("id").values_list("id", flat=True)[:count])


def seed_messages(db_path: str, ids: list[int], total: int, focus: tuple[int, int]) -> None:
    """`total` rows spread over consecutive pairs, half of them in the `focus` conversation."""
    rng = random.Random(1)
    pairs = [(ids[i], ids[i + 1]) for i in range(0, len(ids) - 1, 2)]
    start = datetime.now(tz=UTC) - timedelta(days=365)
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    sql = (
        "INSERT INTO messaging_message (sender_id, receiver_id, text, image, client_id,"
        " created_at, updated_at, delivered_at, read_at) VALUES (?, ?, ?, '', NULL, ?, ?, ?, ?)"
    )
    batch = 50_000
    for offset in range(0, total, batch):
        rows = []
        for n in range(offset, min(total, offset + batch)):
            a, b = focus if n % 2 == 0 else rng.choice(pairs)
            if rng.random() < 0.5:
                a, b = b, a
            stamp = (start + timedelta(seconds=n * 30)).isoformat(sep=" ")
            rows.append(
                (
                    a,
                    b,
                    f"history message {n} " + "x" * rng.randrange(10, 120),
                    stamp,
                    stamp,
                    stamp,
                    stamp,
                )
            )
        conn.executemany(sql, rows)
        conn.commit()
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=0)
    parser.add_argument("--no-migrate", action="store_true")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from accounts.models import User
    from accounts.tokens import token_issue

    if not args.no_migrate:
        call_command("migrate", interactive=False, verbosity=0)
    ids = seed_users(args.users)
    if args.messages:
        seed_messages(settings.DATABASES["default"]["NAME"], ids, args.messages, (ids[0], ids[1]))
    users = User.objects.in_bulk(ids)
    out = {
        "ids": [str(i) for i in ids],
        "tokens": [token_issue(users[i]) for i in ids],
        "emails": [users[i].email for i in ids],
        "password": PASSWORD,
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
