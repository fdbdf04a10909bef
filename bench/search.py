"""Message search with a million stored messages, and what its index costs the send path.

    python -m bench.search            # 1M messages, 1,000 users (seeding takes a few minutes)
    python -m bench.search --smoke    # 5,000 messages, 60 users: proves it runs, not how fast

Prints one JSON object. In-process, on a fresh SQLite file (the same settings as production):
- `search`: the time of `search.selectors.message_search` (what GET /api/search/messages
  runs after authentication: every query and the JSON shapes) for a mix of queries, as a
  person in many conversations (`probe`), each timed `--repeat` times; p50/p99 in ms.
- `send`: process CPU per message of `messaging.sending.message_send` (checks, the writes,
  the announcement), with the FTS triggers and without them, interleaved `--rounds` times;
  min/median/max per send, and the index's share of it.
- the 1-minute load average before each measurement; `valid` is false when it was over 1.5.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

LOAD_LIMIT = 1.5
WORDS = 6000  # the vocabulary; word frequency follows Zipf's law
ACCENTED = ["café", "été", "résumé", "naïve", "Zürich", "señor", "crème", "déjà"]


def load_1m() -> float:
    return os.getloadavg()[0]


def _vocabulary(rng: random.Random) -> list[str]:
    syllables = [
        "ka",
        "lo",
        "mi",
        "ne",
        "ru",
        "sa",
        "to",
        "vi",
        "be",
        "do",
        "fu",
        "ga",
        "hi",
        "jo",
        "pe",
        "qua",
        "ri",
        "ze",
        "ton",
        "mar",
        "el",
        "an",
        "or",
        "is",
    ]
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < WORDS:
        word = "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    for n, accented in enumerate(ACCENTED):  # mid-frequency ranks
        words[200 + n * 50] = accented
    return words


def _seed(db_path: str, ids: list[int], total: int, rng: random.Random) -> dict[str, Any]:
    """Conversations (the probe in many of them) and `total` messages, bulk-inserted with the
    search triggers off; the index is built once at the end (as search_rebuild does)."""
    from bench.seed import insert_conversation, update_heads
    from messaging.conversion import direct_key

    probe = ids[0]
    others = ids[1:]
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    from search import fts

    fts.drop_triggers(conn.cursor())
    start = datetime.now(tz=UTC) - timedelta(days=365)
    stamp0 = start.isoformat(sep=" ")
    conversations: list[tuple[int, list[int]]] = []

    def conversation(members: list[int], kind: str, title: str = "") -> None:
        key = direct_key(*members) if kind == "direct" else None
        pk = insert_conversation(conn, kind, members, at=stamp0, key=key, title=title)
        conversations.append((pk, members))

    probe_peers = rng.sample(others, min(len(others), max(2, len(ids) // 5)))
    for peer in probe_peers:
        conversation([probe, peer], "direct")
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < len(ids) * 3:
        a, b = sorted(rng.sample(others, 2))
        pairs.add((a, b))
    for a, b in sorted(pairs):
        conversation([a, b], "direct")
    for n in range(max(2, len(ids) // 10)):
        members = rng.sample(others, min(len(others), 8))
        if n % 4 == 0:
            members.append(probe)
        conversation(members, "group", f"Group {n}")

    vocabulary = _vocabulary(rng)
    weights = [1 / (rank + 1) for rank in range(len(vocabulary))]
    sql = (
        "INSERT INTO messaging_message (conversation_id, seq, kind, sender_id, receiver_id, text,"
        " image, client_id, created_at, updated_at)"
        " VALUES (?, ?, 'text', ?, ?, ?, ?, NULL, ?, ?)"
    )
    seqs: dict[int, int] = {}
    batch = 50_000
    for offset in range(0, total, batch):
        rows = []
        picks = rng.choices(conversations, k=min(batch, total - offset))
        for n, (cid, members) in enumerate(picks, start=offset):
            sender = rng.choice(members)
            receiver = (
                next((m for m in members if m != sender), None) if len(members) == 2 else None
            )
            seqs[cid] = seqs.get(cid, 0) + 1
            stamp = (start + timedelta(seconds=n * 30)).isoformat(sep=" ")
            text = " ".join(rng.choices(vocabulary, weights, k=rng.randint(3, 18)))
            image = "chat/bench.png" if n % 50 == 0 else ""
            rows.append((cid, seqs[cid], sender, receiver, text, image, stamp, stamp))
        conn.executemany(sql, rows)
        conn.commit()
    update_heads(conn)
    conn.commit()
    started = time.monotonic()
    indexed = fts.rebuild(conn.cursor())
    conn.commit()
    rebuild_s = time.monotonic() - started
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()
    probe_conversations = [cid for cid, members in conversations if probe in members]
    return {
        "vocabulary": vocabulary,
        "probe_conversations": probe_conversations,
        "conversations": len(conversations),
        "indexed": indexed,
        "rebuild_s": round(rebuild_s, 2),
        "probe_peer": probe_peers[0],
    }


def _queries(seeded: dict[str, Any], probe_peer: int) -> dict[str, dict[str, Any]]:
    words = seeded["vocabulary"]
    busiest = seeded["probe_conversations"][0]
    return {
        "common word": {"q": words[0]},
        "mid word": {"q": words[300]},
        "rare word": {"q": words[-1]},
        "absent word": {"q": "zzzqqq"},
        "prefix (3 letters)": {"q": words[40][:3]},
        "prefix (2 letters)": {"q": words[5][:2]},
        "two words": {"q": f"{words[2]} {words[60]}"},
        "accented, typed plain": {"q": "cafe"},
        "common, one conversation": {"q": words[0], "conversation_id": str(busiest)},
        "common, from a person": {"q": words[0], "sender_id": str(probe_peer)},
        "common, has image": {"q": words[1], "has": "image"},
        "common, date range": {"q": words[0], "since": "range", "until": "range"},
        "rare, one conversation": {"q": words[-1], "conversation_id": str(busiest)},
    }


def _search_latency(user: Any, queries: dict[str, dict[str, Any]], repeat: int) -> dict[str, Any]:
    from bench.stats import Latency
    from search.selectors import message_search

    today = datetime.now(tz=UTC).date()
    out: dict[str, Any] = {}
    for name, params in queries.items():
        params = dict(params)
        if params.get("since") == "range":
            params["since"], params["until"] = (
                today - timedelta(days=200),
                today - timedelta(days=170),
            )
        first = message_search(user=user, **params)  # warm
        latency = Latency()
        for _ in range(repeat):
            started = time.perf_counter_ns()
            page = message_search(user=user, **params)
            json.dumps(page)
            latency.record_ns(time.perf_counter_ns() - started)
        summary = latency.summary()
        out[name] = {
            "results": len(first["results"]),
            "p50_ms": summary["p50"],
            "p99_ms": summary["p99"],
            "max_ms": summary["max"],
        }
        if first["nextBefore"]:  # the next page, as "more" fetches it
            latency = Latency()
            for _ in range(max(1, repeat // 2)):
                started = time.perf_counter_ns()
                json.dumps(message_search(user=user, before=first["nextBefore"], **params))
                latency.record_ns(time.perf_counter_ns() - started)
            out[name]["page2_p99_ms"] = latency.summary()["p99"]
    return out


def _send_cpu(sender: Any, receiver_id: Any, sends: int, rounds: int) -> dict[str, Any]:
    """CPU per send with and without the triggers, alternating, `rounds` times each."""
    from django.db import connection

    from messaging.sending import message_send
    from search import fts

    def burst() -> float:
        started = time.process_time()
        for n in range(sends):
            message_send(
                sender=sender,
                receiver_id=str(receiver_id),
                text=f"bench send {n} with a few ordinary words in it",
                image=None,
                client_id=None,
            )
        return (time.process_time() - started) / sends * 1e6  # microseconds per send

    burst()  # warm: caches, the direct conversation, the statements
    with_index: list[float] = []
    without: list[float] = []
    loads: list[float] = []
    for _ in range(rounds):
        for triggers in (True, False):
            with connection.cursor() as cursor:
                if triggers:
                    fts.install(cursor)
                else:
                    fts.drop_triggers(cursor)
            loads.append(round(load_1m(), 2))
            (with_index if triggers else without).append(burst())
    with connection.cursor() as cursor:
        fts.install(cursor)

    def spread(values: list[float]) -> dict[str, float]:
        return {
            "min": round(min(values), 1),
            "median": round(statistics.median(values), 1),
            "max": round(max(values), 1),
        }

    cost = statistics.median(with_index) - statistics.median(without)
    return {
        "sends_per_round": sends,
        "rounds": rounds,
        "cpu_us_per_send_with_index": spread(with_index),
        "cpu_us_per_send_without_index": spread(without),
        "index_cost_us_per_send": round(cost, 1),
        "index_share_of_send_cpu": round(cost / statistics.median(with_index), 3),
        "load_1m": loads,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="Tiny: proves it runs.")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=200, help="Timed runs per query.")
    parser.add_argument("--sends", type=int, default=2000, help="Sends per round.")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--db", help="SQLite file to create (a temporary one by default).")
    args = parser.parse_args()
    if args.smoke:
        args.users, args.messages, args.repeat, args.sends, args.rounds = 60, 5000, 5, 50, 3

    workdir = Path(tempfile.mkdtemp(prefix="parley-bench-search-"))
    db = args.db or str(workdir / "search.sqlite3")
    os.environ["SQLITE_PATH"] = db
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    os.environ.setdefault("DJANGO_DEBUG", "0")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-secret-key-not-for-production-0123456789")
    os.environ.setdefault("JWT_SECRET", "bench-jwt-secret-not-for-production-0123456789")
    os.environ.setdefault("MEDIA_ROOT", str(workdir / "media"))
    for name in ("MESSAGE_RATE_PER_USER", "SEARCH_RATE_PER_USER"):
        os.environ[name] = "100000000"
    os.environ["DATABASE_WRITER_THREAD"] = "0"  # sends write inline: their CPU is this thread's
    os.environ.pop("REDIS_URL", None)

    import django

    django.setup()
    from django.core.management import call_command

    from accounts.models import User
    from bench.seed import seed_users

    log = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    call_command("migrate", interactive=False, verbosity=0)
    rng = random.Random(12)
    ids = seed_users(args.users)
    started = time.monotonic()
    seeded = _seed(db, ids, args.messages, rng)
    log(f"seeded {args.messages} messages in {time.monotonic() - started:.0f} s")
    probe = User.objects.get(pk=ids[0])
    result: dict[str, Any] = {
        "smoke": args.smoke,
        "messages": args.messages,
        "users": args.users,
        "conversations": seeded["conversations"],
        "probe_conversations": len(seeded["probe_conversations"]),
        "indexed": seeded["indexed"],
        "rebuild_s": seeded["rebuild_s"],
        "db_mb": round(os.path.getsize(db) / 2**20, 1),
        "load_1m_before_search": round(load_1m(), 2),
    }
    result["search"] = _search_latency(probe, _queries(seeded, seeded["probe_peer"]), args.repeat)
    result["search_p99_ms_worst"] = max(q["p99_ms"] for q in result["search"].values())
    log("search measured")
    peer = User.objects.get(pk=seeded["probe_peer"])
    result["send"] = _send_cpu(probe, peer.pk, args.sends, args.rounds)
    loads = [result["load_1m_before_search"], *result["send"]["load_1m"]]
    result["load_1m_max"] = max(loads)
    result["valid"] = max(loads) <= LOAD_LIMIT
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
