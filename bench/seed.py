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


def insert_conversation(
    conn: sqlite3.Connection,
    kind: str,
    members: list[int],
    *,
    at: str,
    key: str | None = None,
    title: str = "",
) -> int:
    """A conversation row and its members' rows, bypassing the ORM (bench seeding only);
    returns the conversation's id. Columns with no database default must all be named here."""
    cursor = conn.execute(
        "INSERT INTO messaging_conversation (kind, title, picture, created_at, updated_at,"
        " direct_key, last_seq) VALUES (?, ?, '', ?, ?, ?, 0)",
        (kind, title, at, at, key),
    )
    conn.executemany(
        "INSERT INTO messaging_membership (conversation_id, user_id, role, joined_at,"
        " visible_from_seq, read_seq, delivered_seq, sent_since_read, muted)"
        " VALUES (?, ?, 'member', ?, 0, 0, 0, 0, 0)",
        [(cursor.lastrowid, user, at) for user in members],
    )
    return cursor.lastrowid


def update_heads(conn: sqlite3.Connection) -> None:
    """Each conversation's head (last seq, message and time), as sending would have left it
    after a bulk insert of messages (bench seeding only)."""
    conn.execute(
        "UPDATE messaging_conversation SET"
        " last_seq = (SELECT MAX(seq) FROM messaging_message m WHERE m.conversation_id ="
        " messaging_conversation.id),"
        " last_message_id = (SELECT MAX(id) FROM messaging_message m WHERE m.conversation_id ="
        " messaging_conversation.id),"
        " last_message_at = (SELECT MAX(created_at) FROM messaging_message m WHERE"
        " m.conversation_id = messaging_conversation.id)"
        " WHERE EXISTS (SELECT 1 FROM messaging_message m WHERE m.conversation_id ="
        " messaging_conversation.id)"
    )


def seed_messages(db_path: str, ids: list[int], total: int, focus: tuple[int, int]) -> None:
    """`total` rows spread over consecutive pairs' direct conversations, half of them in the
    `focus` conversation; conversation heads, memberships and read cursors as the app keeps
    them (everything seeded is read, so every unread count starts at 0)."""
    from messaging.conversion import direct_key

    rng = random.Random(1)
    pairs = [(ids[i], ids[i + 1]) for i in range(0, len(ids) - 1, 2)]
    start = datetime.now(tz=UTC) - timedelta(days=365)
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    stamp0 = start.isoformat(sep=" ")
    conversation_of: dict[tuple[int, int], int] = {}
    for pair in pairs:
        conversation_of[pair] = insert_conversation(
            conn, "direct", list(pair), at=stamp0, key=direct_key(*pair)
        )
    sql = (
        "INSERT INTO messaging_message (conversation_id, seq, kind, sender_id, receiver_id, text,"
        " image, client_id, created_at, updated_at)"
        " VALUES (?, ?, 'text', ?, ?, ?, '', NULL, ?, ?)"
    )
    seqs: dict[int, int] = {}
    batch = 50_000
    for offset in range(0, total, batch):
        rows = []
        for n in range(offset, min(total, offset + batch)):
            pair = focus if n % 2 == 0 else rng.choice(pairs)
            a, b = pair if rng.random() < 0.5 else pair[::-1]
            conversation = conversation_of[pair]
            seqs[conversation] = seqs.get(conversation, 0) + 1
            stamp = (start + timedelta(seconds=n * 30)).isoformat(sep=" ")
            text = f"history message {n} " + "x" * rng.randrange(10, 120)
            rows.append((conversation, seqs[conversation], a, b, text, stamp, stamp))
        conn.executemany(sql, rows)
        conn.commit()
    # Heads and cursors, as sending and reading would have left them.
    update_heads(conn)
    conn.execute(
        "UPDATE messaging_membership SET read_seq = (SELECT last_seq FROM messaging_conversation c"
        " WHERE c.id = messaging_membership.conversation_id), delivered_seq = (SELECT last_seq"
        " FROM messaging_conversation c WHERE c.id = messaging_membership.conversation_id)"
    )
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
