"""Metric 4: a history page (`GET /api/messages/<id>?before=`) with a million stored messages."""

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

OR_PAGE = (
    "SELECT * FROM messaging_message WHERE ((sender_id=? AND receiver_id=?)"
    " OR (sender_id=? AND receiver_id=?)) AND id < ? ORDER BY id DESC LIMIT 50"
)
HALF_PAGE = (
    "SELECT * FROM messaging_message WHERE sender_id=? AND receiver_id=? AND id < ?"
    " ORDER BY id DESC LIMIT 50"
)


def query_shapes(db: Path, a: str, b: str, befores: list[int]) -> dict[str, Any]:
    """The page query as the app runs it (one OR) against one query per direction, raw SQL.

    Measures the candidate fix for the history page without changing the app: same rows,
    same database file, no server in between.
    """
    conn = sqlite3.connect(db)
    try:
        plans = {
            name: [row[-1] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, args)]
            for name, sql, args in (
                ("or", OR_PAGE, (a, b, b, a, 2**62)),
                ("per_direction", HALF_PAGE, (a, b, 2**62)),
            )
        }

        def by_or(before: int) -> list[int]:
            return [r[0] for r in conn.execute(OR_PAGE, (a, b, b, a, before))]

        def by_direction(before: int) -> list[int]:
            rows = [r[0] for r in conn.execute(HALF_PAGE, (a, b, before))]
            rows += [r[0] for r in conn.execute(HALF_PAGE, (b, a, before))]
            return sorted(rows, reverse=True)[:50]

        out: dict[str, Any] = {"plans": plans, "same_rows": True}
        for name, fn in (("or", by_or), ("per_direction", by_direction)):
            latency = Latency()
            for before in befores:
                started = time.monotonic_ns()
                fn(before)
                latency.record_ns(time.monotonic_ns() - started)
            out[name] = latency.summary()
        out["same_rows"] = all(by_or(x) == by_direction(x) for x in befores[:50])
        return out
    finally:
        conn.close()


def _sample_ids(db: Path, a: str, b: str, count: int) -> tuple[int, list[int]]:
    conn = sqlite3.connect(db)
    try:
        total = conn.execute("SELECT COUNT(*) FROM messaging_message").fetchone()[0]
        ids = [
            row[0]
            for row in conn.execute(
                "SELECT id FROM messaging_message WHERE (sender_id=? AND receiver_id=?)"
                " OR (sender_id=? AND receiver_id=?)",
                (a, b, b, a),
            )
        ]
    finally:
        conn.close()
    return total, random.Random(3).sample(ids, min(count, len(ids)))


async def history_pages(
    seeded: Seeded, workdir: Path, requests: int, gate: LoadGate | None = None
) -> dict[str, Any]:
    """Closed loop, one request at a time: pages at random depths in a 500k-message chat."""
    me, other = seeded.ids[0], seeded.ids[1]
    rows, befores = _sample_ids(seeded.path, me, other, requests)
    log(f"history: {rows} rows stored, {len(befores)} pages to fetch")
    load = await load_gate(gate or LoadGate(), "history:")
    async with launch(SYSTEMS["D"], 2, workdir / "history", seeded) as running:
        pool = HttpPool("127.0.0.1", running.servers[0].port, size=1)
        token = seeded.tokens[0]
        out: dict[str, Any] = {"rows": rows, "requests": len(befores), **load}
        for name, paths in {
            "before": [f"/api/messages/{other}?before={b}&limit=50" for b in befores],
            "newest": [f"/api/messages/{other}"] * max(1, len(befores) // 2),
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
    out["sql"] = query_shapes(seeded.path, me, other, befores[:300] + [2**62] * 20)
    log(f"history sql: {out['sql']}")
    return out
