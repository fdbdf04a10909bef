"""Metric 4: history pages (`GET /api/messages/<id>?before=` and the conversation API's
`GET /api/conversations/<cid>/messages?before=`) and both sidebars (`GET /api/messages/users`,
`GET /api/conversations/`) with a million stored messages."""

from __future__ import annotations

import random
import sqlite3
import time
from pathlib import Path
from typing import Any

from bench.http import HttpPool
from bench.loadavg import LoadGate, load_gate
from bench.monitor import log
from bench.stats import Latency
from bench.systems import SYSTEMS, Seeded, launch


def _sample_ids(db: Path, a: str, b: str, count: int) -> tuple[int, int, list[int]]:
    """(messages stored, a and b's conversation id, `count` random message ids of it)."""
    from messaging.conversion import direct_key

    conn = sqlite3.connect(db)
    try:
        total = conn.execute("SELECT COUNT(*) FROM messaging_message").fetchone()[0]
        (conversation,) = conn.execute(
            "SELECT id FROM messaging_conversation WHERE direct_key = ?", (direct_key(a, b),)
        ).fetchone()
        ids = [
            row[0]
            for row in conn.execute(
                "SELECT id FROM messaging_message WHERE conversation_id = ?", (conversation,)
            )
        ]
    finally:
        conn.close()
    return total, conversation, random.Random(3).sample(ids, min(count, len(ids)))


async def history_pages(
    seeded: Seeded, workdir: Path, requests: int, gate: LoadGate | None = None
) -> dict[str, Any]:
    """Closed loop, one request at a time: pages at random depths in a 500k-message chat."""
    me, other = seeded.ids[0], seeded.ids[1]
    rows, conversation, befores = _sample_ids(seeded.path, me, other, requests)
    log(f"history: {rows} rows stored, {len(befores)} pages to fetch")
    load = await load_gate(gate or LoadGate(), "history:")
    async with launch(SYSTEMS["D"], 2, workdir / "history", seeded) as running:
        pool = HttpPool("127.0.0.1", running.servers[0].port, size=1)
        token = seeded.tokens[0]
        out: dict[str, Any] = {"rows": rows, "requests": len(befores), **load}
        for name, paths in {
            "before": [f"/api/messages/{other}?before={b}&limit=50" for b in befores],
            "newest": [f"/api/messages/{other}"] * max(1, len(befores) // 2),
            # The sidebar of the person with the most history (half of every message).
            "sidebar": ["/api/messages/users"] * max(1, len(befores) // 2),
            "conversation before": [
                f"/api/conversations/{conversation}/messages?before={b}&limit=50" for b in befores
            ],
            "conversations sidebar": ["/api/conversations/"] * max(1, len(befores) // 2),
        }.items():
            for path in paths[:20]:  # warm the page cache and the process
                await pool.call("GET", path, cookie=token)
            latency, errors = Latency(), 0
            for path in paths:
                started = time.monotonic_ns()
                status, body = await pool.call("GET", path, cookie=token)
                latency.record_ns(time.monotonic_ns() - started)
                if status != 200 or not isinstance(body, list):
                    errors += 1
            out[name] = {"latency_ms": latency.summary(), "errors": errors}
            log(f"history {name}: {out[name]}")
        await pool.close()
    return out
