"""Metric 6: a login storm (20 logins/s for 10 s) on the process that carries the chat.

Each repeat runs, for each send mode, a quiet chat trial then the same trial with the storm:
logins are open loop (one every 1/rate s from the end of the warm-up, latency from the
scheduled time), on connections of their own to the same process.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.http import HttpError, HttpPool
from bench.latency import send_modes
from bench.loadgen import ChatLoad
from bench.measure import Timing, measure
from bench.monitor import log
from bench.stats import Latency, spread_of
from bench.systems import Seeded, Spec, copy_database, launch
from bench.trial import DELAYED_MS

LOGIN_CONNECTIONS = 32


def storm(
    seeded: Seeded, pool: HttpPool, rate: float, seconds: float, delay: float
) -> Callable[[asyncio.Event], Awaitable[dict[str, Any]]]:
    """A side load for ChatLoad.run: `rate` logins/s for `seconds`, starting after `delay`."""

    async def run(stop: asyncio.Event) -> dict[str, Any]:
        latency = Latency()
        counts = {"ok": 0, "failed": 0}
        start = time.monotonic() + delay

        async def login(n: int, due: float) -> None:
            email = seeded.emails[n % len(seeded.emails)]
            try:
                status, _ = await pool.call(
                    "POST", "/api/auth/login", {"email": email, "password": seeded.password}
                )
            except HttpError:
                status = 0
            latency.record_ns(int((time.monotonic() - due) * 1e9))
            counts["ok" if status == 200 else "failed"] += 1

        tasks = []
        for n in range(int(rate * seconds)):
            due = start + n / rate
            wait = due - time.monotonic()
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), wait)
            if stop.is_set():
                break
            tasks.append(asyncio.create_task(login(n, due)))
        await asyncio.gather(*tasks)
        return {**counts, "scheduled": int(rate * seconds), "login_ms": latency.summary()}

    return run


async def login_storm(
    spec: Spec,
    seeded: Seeded,
    workdir: Path,
    sockets: int,
    chat_rate: float,
    login_rate: float,
    login_seconds: float,
    repeats: int,
    timing: Timing,
) -> dict[str, Any]:
    """Chat at `chat_rate` with and without the storm, per send mode, `repeats` times."""
    db = copy_database(seeded, workdir / "login")
    skipped: dict[str, str] = {}
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {}
    async with launch(spec, sockets, workdir / "login", db) as running:
        pool = HttpPool("127.0.0.1", running.servers[0].port, size=LOGIN_CONNECTIONS)
        load = ChatLoad(running.pairs(), running.wire, seed=5)
        modes = await send_modes(spec, running, skipped)
        await load.connect(concurrency=16)
        try:
            for _ in range(repeats):
                for mode in modes:
                    by_kind = runs.setdefault(mode, {"quiet": [], "storm": []})
                    for kind in ("quiet", "storm"):
                        side = (
                            storm(seeded, pool, login_rate, login_seconds, timing.warmup)
                            if kind == "storm"
                            else None
                        )
                        result = await measure(
                            load, running, chat_rate, mode, timing, login_seconds, side_load=side
                        )
                        by_kind[kind].append(result)
                        log(
                            f"login {mode} {kind}: chat p99={result['latency_ms']['p99']} "
                            f"{result['side_load']}"
                        )
        finally:
            await load.close()
            await pool.close()
    return {
        "system": spec.name,
        "chat_rate": chat_rate,
        "login_rate": login_rate,
        "login_seconds": login_seconds,
        "skipped": skipped,
        "modes": {mode: summarize(by_kind) for mode, by_kind in runs.items()},
    }


def summarize(by_kind: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    def chat(kind: str, key: str, valid_only: bool = True) -> dict[str, float | None]:
        return spread_of(
            r["latency_ms"][key] for r in by_kind[kind] if r["valid"] or not valid_only
        )

    storms = [r["side_load"] for r in by_kind["storm"]]
    p99 = chat("storm", "p99")["median"]
    every = by_kind["quiet"] + by_kind["storm"]
    return {
        "chat_p50_quiet_ms": chat("quiet", "p50"),
        "chat_p99_quiet_ms": chat("quiet", "p99"),
        "chat_p50_storm_ms": chat("storm", "p50"),
        "chat_p99_storm_ms": chat("storm", "p99"),
        "chat_p99_storm_with_invalid_ms": chat("storm", "p99", valid_only=False),
        "login_p50_ms": spread_of(s["login_ms"]["p50"] for s in storms),
        "login_p99_ms": spread_of(s["login_ms"]["p99"] for s in storms),
        "logins_ok": sum(s["ok"] for s in storms),
        "login_failures": sum(s["failed"] for s in storms),
        "lost": sum(r["lost"] for r in every),
        "refused": sum(r["refused_total"] for r in every),
        "errors": sum(r["send_errors_total"] for r in every),
        "runs": len(every),
        "invalid_runs": sum(not r["valid"] for r in every),
        "chat_p99_under_100ms": p99 is not None and p99 < DELAYED_MS,
    }
