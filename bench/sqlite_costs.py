"""What SQLite itself costs per stored message, and what the send path's schema adds to it.

    python -m bench.sqlite_costs [--messages 2000] [--repeats 3]

Seeds a database the way the other benches do (`bench.seed`), then, on fresh copies of it,
stores messages with the send path's own four statements and one transaction per message (as
the writer does at moderate rates), in variants: the schema as it is, without the FTS5 insert
trigger (search/fts.py), without the five single-column foreign-key indexes on messages, and
without both. Variants are interleaved over the repeats. Prints JSON: CPU microseconds per
message (min/median/max) for each, with the load average; no server, no Python ORM, so this is
the floor of what a stored message costs in SQLite here.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.loadavg import load_1m
from bench.systems import seed_database

FK_INDEXES = ("receiver_id", "sender_id", "conversation_id", "deleted_by_id", "reply_to_id")
VARIANTS = {
    "schema as it is": (False, False),
    "no FTS5 insert trigger": (True, False),
    "no single-column FK indexes": (False, True),
    "neither": (True, True),
}


def _prepare(con: sqlite3.Connection, no_fts: bool, no_fk_indexes: bool) -> None:
    if no_fts:
        con.execute("DROP TRIGGER IF EXISTS search_message_ai")
    if no_fk_indexes:
        rows = con.execute(
            "SELECT name, sql FROM sqlite_master"
            " WHERE type = 'index' AND tbl_name = 'messaging_message'"
        ).fetchall()
        for name, sql in rows:
            if sql and any(f'("{column}")' in sql for column in FK_INDEXES):
                con.execute(f'DROP INDEX "{name}"')


def _store(con: sqlite3.Connection, count: int) -> float:
    """CPU seconds for `count` messages, one transaction each, the send path's statements."""
    pairs = con.execute(
        "SELECT m.conversation_id, m.user_id FROM messaging_membership m"
        " JOIN messaging_conversation c ON c.id = m.conversation_id LIMIT 20"
    ).fetchall()
    columns = [r[1] for r in con.execute("PRAGMA table_info(messaging_message)") if r[1] != "id"]
    insert = (
        f"INSERT INTO messaging_message ({', '.join(columns)}) VALUES"
        f" ({', '.join('?' * len(columns))}) ON CONFLICT DO NOTHING RETURNING id"
    )
    now = "2026-12-03 17:00:00.000000"
    start = time.process_time()
    for n in range(count):
        conversation, sender = pairs[n % len(pairs)]
        values = {
            "text": f"hello there, message number {n}: how are you today?",
            "image": "",
            "client_id": f"bench-{n}",
            "created_at": now,
            "updated_at": now,
            "sender_id": sender,
            "conversation_id": conversation,
            "seq": 10_000_000 + n,
            "kind": "text",
        }
        con.execute("BEGIN IMMEDIATE")
        con.execute(
            "SELECT last_seq, last_message_id, direct_key FROM messaging_conversation WHERE id = ?",
            (conversation,),
        ).fetchone()
        con.execute(insert, [values.get(c) for c in columns]).fetchone()
        con.execute(
            "UPDATE messaging_membership SET sent_since_read = sent_since_read + 1"
            " WHERE conversation_id = ? AND user_id = ? AND left_at IS NULL",
            (conversation, sender),
        )
        con.execute(
            "UPDATE messaging_conversation SET last_seq = ?, last_message_at = ? WHERE id = ?",
            (10_000_000 + n, now, conversation),
        )
        con.execute("COMMIT")
    return time.process_time() - start


def _trial(seeded: Path, work: Path, variant: tuple[bool, bool], count: int) -> float:
    copy = work / "trial.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(seeded, copy)
    con = sqlite3.connect(copy, isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")  # as chatproject/settings.py
        _prepare(con, *variant)
        return _store(con, count)
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="parley-sqlite-costs-") as tmp:
        work = Path(tmp)
        seeded = seed_database(work / "seed", 50, messages=2000).path
        con = sqlite3.connect(seeded)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()
        load_start = load_1m()
        results: dict[str, list[float]] = {name: [] for name in VARIANTS}
        for _ in range(args.repeats):
            for name, variant in VARIANTS.items():
                seconds = _trial(seeded, work, variant, args.messages)
                results[name].append(1e6 * seconds / args.messages)
    report: dict[str, Any] = {
        "command": " ".join(["python", "-m", "bench.sqlite_costs", *sys.argv[1:]]),
        "cpus": os.cpu_count(),
        "load_1m_at_start": load_start,
        "load_1m_at_end": load_1m(),
        "valid": load_start <= 1.0,
        "messages_per_trial": args.messages,
        "cpu_us_per_message": {
            name: {
                "min": round(min(v), 1),
                "median": round(statistics.median(v), 1),
                "max": round(max(v), 1),
            }
            for name, v in results.items()
        },
    }
    json.dump(report, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
