"""Metric 2 (highest sustained persisted rate) and metric 6 (a login burst under chat load)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

from bench.http import HttpError, HttpPool
from bench.latency import log, measure
from bench.loadgen import TAG, ChatLoad
from bench.stats import median_of
from bench.systems import Seeded, Spec, copy_database, launch

P99_LIMIT_MS = 100.0


def rows_stored(db: Path, trial_id: int) -> int:
    conn = sqlite3.connect(db, timeout=30)
    try:
        pattern = f"{TAG}{trial_id}:%"
        return conn.execute(
            "SELECT COUNT(*) FROM messaging_message WHERE text LIKE ?", (pattern,)
        ).fetchone()[0]
    finally:
        conn.close()


def sustained(result: dict[str, Any]) -> bool:
    p99 = result["latency_ms"]["p99"]
    return (
        p99 is not None
        and p99 < P99_LIMIT_MS
        and result["lost"] == 0
        and result["send_errors_total"] == 0
        and result["rows_stored"] == result["acked"]
    )


async def max_rate(
    spec: Spec,
    seeded: Seeded,
    workdir: Path,
    sockets: int,
    rates: list[float],
    duration: float,
    warmup: float,
    drain: float,
) -> dict[str, Any]:
    """Step the rate up until p99 >= 100 ms, a loss, an error, or rows != acknowledged."""
    db = copy_database(seeded, workdir / f"max-{spec.name}")
    steps: list[dict[str, Any]] = []
    best = None
    async with launch(spec, sockets, workdir / f"max-{spec.name}", db) as running:
        load = ChatLoad(running.pairs(), spec.mode, seed=99)
        await load.connect()
        try:
            for rate in rates:
                result = await measure(load, running, rate, duration, warmup, drain)
                result["rows_stored"] = rows_stored(db.path, result["trial_id"])
                result["sustained"] = sustained(result)
                steps.append(_step_brief(result))
                log(f"max-rate {spec.name} {rate:g}/s: {steps[-1]}")
                if not result["sustained"]:
                    break
                best = rate
        finally:
            await load.close()
    return {"system": spec.name, "max_sustained_rate": best, "steps": steps}


def _step_brief(result: dict[str, Any]) -> dict[str, Any]:
    keys = [
        "rate",
        "sent",
        "acked",
        "rows_stored",
        "lost",
        "send_errors",
        "sustained",
        "server_cpu_s_per_1k_msgs",
        "valid",
    ]
    brief = {k: result[k] for k in keys}
    brief["p50_ms"] = result["latency_ms"]["p50"]
    brief["p99_ms"] = result["latency_ms"]["p99"]
    brief["ack_p99_ms"] = result["ack_ms"]["p99"] if result["ack_ms"] else None
    brief["generator_cpu_share"] = result["generator"]["cpu_share"]
    return brief


def login_burst_load(seeded: Seeded, pool: HttpPool, concurrency: int):  # noqa: ANN201
    """A side load for ChatLoad.run: `concurrency` clients logging in back to back."""

    async def burst(stop: asyncio.Event) -> dict[str, Any]:
        counts = {"ok": 0, "failed": 0}
        started = time.monotonic()

        async def client(n: int) -> None:
            k = n
            while not stop.is_set():
                email = seeded.emails[k % len(seeded.emails)]
                k += concurrency
                try:
                    status, _ = await pool.call(
                        "POST", "/api/auth/login", {"email": email, "password": seeded.password}
                    )
                except HttpError:
                    status = 0
                counts["ok" if status == 200 else "failed"] += 1

        await asyncio.gather(*(client(n) for n in range(concurrency)))
        elapsed = time.monotonic() - started
        return {
            **counts,
            "seconds": round(elapsed, 2),
            "logins_per_s": round(counts["ok"] / elapsed, 2),
        }

    return burst


async def login_burst(
    spec: Spec,
    seeded: Seeded,
    workdir: Path,
    sockets: int,
    rate: float,
    duration: float,
    warmup: float,
    drain: float,
    concurrency: int,
    repeats: int,
) -> dict[str, Any]:
    """Chat at `rate` with and without concurrent logins, alternating, `repeats` times each."""
    db = copy_database(seeded, workdir / "login")
    runs: dict[str, list[dict[str, Any]]] = {"quiet": [], "burst": []}
    async with launch(spec, sockets, workdir / "login", db) as running:
        pool = HttpPool("127.0.0.1", running.servers[0].port, size=concurrency)
        load = ChatLoad(running.pairs(), spec.mode, seed=5)
        await load.connect()
        try:
            for _ in range(repeats):
                for kind in ("quiet", "burst"):
                    side = login_burst_load(seeded, pool, concurrency) if kind == "burst" else None
                    result = await measure(
                        load, running, rate, duration, warmup, drain, side_load=side
                    )
                    runs[kind].append(result)
                    log(f"login {kind}: p99={result['latency_ms']['p99']} {result['side_load']}")
        finally:
            await load.close()
            await pool.close()

    def med(kind: str, key: str) -> float | None:
        return median_of(r["latency_ms"][key] for r in runs[kind])

    return {
        "system": spec.name,
        "rate": rate,
        "concurrency": concurrency,
        "logins_per_s": median_of(r["side_load"]["logins_per_s"] for r in runs["burst"]),
        "login_failures": sum(r["side_load"]["failed"] for r in runs["burst"]),
        "chat_p50_quiet_ms": med("quiet", "p50"),
        "chat_p99_quiet_ms": med("quiet", "p99"),
        "chat_p50_burst_ms": med("burst", "p50"),
        "chat_p99_burst_ms": med("burst", "p99"),
        "lost": sum(r["lost"] for k in runs for r in runs[k]),
    }
