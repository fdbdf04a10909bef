"""Metric 3: idle sockets per process, memory per socket, and memory after churn (leaks).

One socket per user, held in steps up to the largest; then all are closed, and then `churn`
sockets connect and disconnect in batches. RSS is read after each settles; "back within 20%"
compares the RSS after closing (and after the churn) with the RSS before the first connect.
"""

from __future__ import annotations

import asyncio
import gc
import time
from pathlib import Path
from typing import Any

from bench.loadavg import LoadGate, load_gate
from bench.loadgen import User, close_sockets, drain_socket, open_sockets
from bench.monitor import ServerCpu, log
from bench.systems import Seeded, Spec, copy_database, launch

SETTLE = 3.0  # seconds for the server to finish the presence fan-out and settle
RSS_BACK_WITHIN = 0.20  # of the pre-connect RSS, after closing and after the churn


async def _settle_rss(cpu: ServerCpu, settle: float) -> int:
    await asyncio.sleep(settle)
    return cpu.rss_bytes()


def per_socket(points: list[dict[str, Any]]) -> dict[str, float]:
    """KB per socket: the slope between the first and last steps, and the average from 0."""
    ok = [p for p in points if "rss_mb" in p]
    out: dict[str, float] = {}
    if len(ok) >= 3:
        first, last = ok[1], ok[-1]
        span = last["sockets"] - first["sockets"]
        if span:
            out["slope_kb"] = round((last["rss_mb"] - first["rss_mb"]) * 1024 / span, 1)
        out["average_kb"] = round((last["rss_mb"] - ok[0]["rss_mb"]) * 1024 / last["sockets"], 1)
    return out


def back_within(rss_mb: float, baseline_mb: float) -> bool:
    return rss_mb <= baseline_mb * (1 + RSS_BACK_WITHIN)


async def idle_capacity(
    seeded: Seeded,
    workdir: Path,
    steps: list[int],
    churn: int,
    spec: Spec,
    churn_batch: int = 200,
    connect_budget: float = 180.0,
    settle: float = SETTLE,
    gate: LoadGate | None = None,
) -> dict[str, Any]:
    """Hold `steps` sockets on one process (one user each), then churn `churn` sockets."""
    db = copy_database(seeded, workdir / "capacity")
    load = await load_gate(gate or LoadGate(), f"capacity {spec.name}:")
    async with launch(spec, max(steps), workdir / "capacity", db) as running:
        app = ServerCpu(running.server_pids)
        wire = running.wire
        users = running.users
        held: list[Any] = []
        drains: list[asyncio.Task[None]] = []

        def start_drain(_user: User, ws: Any) -> None:
            drains.append(asyncio.create_task(drain_socket(ws, wire)))

        def hold(user: User, ws: Any) -> None:
            held.append(ws)  # tracked as it opens, so a step that times out still closes
            start_drain(user, ws)

        gc.collect()
        before = await _settle_rss(app, settle)
        points: list[dict[str, Any]] = [{"sockets": 0, "rss_mb": round(before / 2**20, 1)}]
        reached = 0
        connect_total = 0.0
        for step in steps:
            started = time.monotonic()
            try:
                await asyncio.wait_for(
                    open_sockets(users[reached:step], wire, concurrency=100, on_open=hold),
                    connect_budget,
                )
            except (TimeoutError, OSError) as exc:
                log(f"capacity {spec.name}: stopped before {step} sockets: {exc!r}")
                points.append({"sockets": step, "reached": len(held), "failed": repr(exc)})
                break
            connect_s = time.monotonic() - started
            connect_total += connect_s
            rss = await _settle_rss(app, settle)
            alive = sum(1 for ws in held if ws.close_code is None)
            points.append(
                {
                    "sockets": step,
                    "alive": alive,
                    "rss_mb": round(rss / 2**20, 1),
                    "connect_s": round(connect_s, 2),
                    "connects_per_s": round((step - reached) / connect_s, 1),
                }
            )
            reached = step
            log(f"capacity {spec.name}: {step} sockets, rss {rss / 2**20:.1f} MB, {connect_s:.1f}s")
        await close_sockets(held)
        held.clear()
        after_close = await _settle_rss(app, settle * 2)

        # Churn: connect and disconnect `churn` sockets in batches; a leak shows as RSS growth.
        churn_started = time.monotonic()
        done = 0
        if reached < max(steps):
            churn = 0  # the server could not take the load: churning it would prove nothing
        while done < churn:
            size = min(churn_batch, churn - done)
            batch_users: list[User] = [users[(done + k) % len(users)] for k in range(size)]
            opened = await open_sockets(batch_users, wire, concurrency=100, on_open=start_drain)
            await close_sockets([ws for _, ws in opened])
            done += size
        churn_s = time.monotonic() - churn_started
        after_churn = await _settle_rss(app, settle * 2)
        for task in drains:
            task.cancel()
    mb = 2**20
    return {
        "system": spec.name,
        **load,
        "points": points,
        "held_max": reached,
        "connect_total_s": round(connect_total, 2) if reached == max(steps) else None,
        "memory_per_socket": per_socket(points),
        "rss_before_mb": round(before / mb, 1),
        "rss_after_close_mb": round(after_close / mb, 1),
        "rss_back_after_close": back_within(after_close / mb, before / mb),
        "churn_cycles": churn,
        "churn_s": round(churn_s, 1),
        "rss_after_churn_mb": round(after_churn / mb, 1),
        "rss_back_after_churn": back_within(after_churn / mb, before / mb) if churn else None,
        "churn_growth_mb": round((after_churn - after_close) / mb, 1),
    }
