"""Metric 3: idle sockets per app process, memory per socket, and memory after churn (leaks)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from pathlib import Path
from typing import Any

from bench.latency import log
from bench.loadgen import User, close_sockets, open_sockets
from bench.monitor import ServerCpu
from bench.systems import SYSTEMS, Seeded, Spec, copy_database, launch

SETTLE = 3.0  # seconds for the server to finish the presence fan-out and settle


async def _drain(ws: Any) -> None:
    """Read and drop whatever the server sends: an unread socket stops answering pings, and
    the server buffers what it cannot write, which would count as its memory."""
    with contextlib.suppress(Exception):
        async for _ in ws:
            pass


async def _settle_rss(cpu: ServerCpu, settle: float) -> int:
    await asyncio.sleep(settle)
    return cpu.rss_bytes()


async def idle_capacity(
    seeded: Seeded,
    workdir: Path,
    steps: list[int],
    churn: int,
    churn_batch: int = 200,
    spec: Spec = SYSTEMS["D"],
    connect_budget: float = 180.0,
    settle: float = SETTLE,
) -> dict[str, Any]:
    """Hold `steps` sockets on one app process (one user each), then churn `churn` sockets."""
    db = copy_database(seeded, workdir / "capacity")
    async with launch(spec, max(steps), workdir / "capacity", db) as running:
        app = ServerCpu(running.server_pids)
        users = running.users
        held: list[Any] = []
        drains: list[asyncio.Task[None]] = []

        def start_drain(_user: User, ws: Any) -> None:
            drains.append(asyncio.create_task(_drain(ws)))

        def hold(user: User, ws: Any) -> None:
            held.append(ws)  # tracked as it opens, so a step that times out still closes
            start_drain(user, ws)

        points: list[dict[str, Any]] = [{"sockets": 0, "rss_mb": round(app.rss_bytes() / 2**20, 1)}]
        gc.collect()
        reached = 0
        for step in steps:
            started = time.monotonic()
            try:
                await asyncio.wait_for(
                    open_sockets(users[reached:step], concurrency=100, on_open=hold),
                    connect_budget,
                )
            except (TimeoutError, OSError) as exc:
                log(f"capacity: stopped before {step} sockets: {exc!r}")
                points.append({"sockets": step, "reached": len(held), "failed": repr(exc)})
                break
            reached = step
            connect_s = time.monotonic() - started
            rss = await _settle_rss(app, settle)
            alive = sum(1 for ws in held if ws.close_code is None)
            points.append(
                {
                    "sockets": step,
                    "alive": alive,
                    "rss_mb": round(rss / 2**20, 1),
                    "connect_s": round(connect_s, 2),
                    "connects_per_s": round((step - (points[-1]["sockets"])) / connect_s, 1),
                }
            )
            log(f"capacity: {step} sockets, rss {rss / 2**20:.1f} MB, {connect_s:.1f}s to connect")
        ok = [p for p in points if "rss_mb" in p]
        per_socket = {}
        if len(ok) >= 3:
            first, last = ok[1], ok[-1]
            span = last["sockets"] - first["sockets"]
            if span:
                per_socket["slope_kb"] = round((last["rss_mb"] - first["rss_mb"]) * 1024 / span, 1)
            per_socket["average_kb"] = round(
                (last["rss_mb"] - ok[0]["rss_mb"]) * 1024 / last["sockets"], 1
            )
        await close_sockets(held)
        held.clear()
        after_close = await _settle_rss(app, settle)

        # Churn: connect and disconnect `churn` sockets in batches; a leak shows as RSS growth.
        churn_started = time.monotonic()
        done = 0
        if reached < max(steps):
            churn = 0  # the server could not take the load: churning it would prove nothing
        while done < churn:
            size = min(churn_batch, churn - done)
            batch_users: list[User] = [users[(done + k) % len(users)] for k in range(size)]
            opened = await open_sockets(batch_users, concurrency=100, on_open=start_drain)
            await close_sockets([ws for _, ws in opened])
            done += size
        after_churn = await _settle_rss(app, settle * 2)
        return {
            "system": spec.name,
            "points": points,
            "held_max": reached,
            "memory_per_socket": per_socket,
            "rss_after_close_mb": round(after_close / 2**20, 1),
            "churn_cycles": churn,
            "churn_s": round(time.monotonic() - churn_started, 1),
            "rss_after_churn_mb": round(after_churn / 2**20, 1),
            "churn_growth_mb": round((after_churn - after_close) / 2**20, 1),
        }
