"""Metrics 1 and 5: send->receive latency per rate, and server CPU per 1,000 messages."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import sys
import time
from pathlib import Path
from typing import Any

from bench.loadgen import ChatLoad
from bench.stats import medians
from bench.systems import Seeded, Spec, copy_database, launch

SUMMARY_KEYS = [
    "latency_ms.p50",
    "latency_ms.p90",
    "latency_ms.p99",
    "latency_ms.p99_9",
    "echo_ms.p99",
    "ack_ms.p99",
    "lost",
    "reordered",
    "send_errors_total",
    "server_cpu_s_per_1k_msgs",
    "server_cpu_s_per_1k_msgs_no_redis",
    "generator.cpu_share",
]


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


async def measure(
    load: ChatLoad,
    running: Any,
    rate: float,
    duration: float,
    warmup: float,
    drain: float,
    **kwargs: Any,
) -> dict[str, Any]:
    """One trial with the server's CPU seconds around it."""
    cpu_all, cpu_app = running.cpu(True), running.cpu(False)
    before_all, before_app = cpu_all.cpu_seconds(), cpu_app.cpu_seconds()
    result = await load.run(rate, duration, warmup=warmup, drain=drain, **kwargs)
    spent_all = cpu_all.cpu_seconds() - before_all
    spent_app = cpu_app.cpu_seconds() - before_app
    delivered_msgs = result["received_deliveries"] / 2  # each message reaches two sockets
    per_1k = 1000 / delivered_msgs if delivered_msgs else None
    result["server_cpu_s"] = round(spent_all, 3)
    result["server_cpu_s_per_1k_msgs"] = round(spent_all * per_1k, 4) if per_1k else None
    result["server_cpu_s_per_1k_msgs_no_redis"] = round(spent_app * per_1k, 4) if per_1k else None
    result["send_errors_total"] = sum(result["send_errors"].values())
    result["server_rss_mb"] = round(cpu_all.rss_bytes() / 2**20, 1)
    result["cooldown_s"] = await cool_down(cpu_all)
    return result


def terminate(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)


async def cool_down(cpu: Any, idle_share: float = 0.15, limit: float = 30.0) -> float:
    """Wait until the servers stop working off a backlog, so it can't slow the next trial."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        before = cpu.cpu_seconds()
        await asyncio.sleep(0.5)
        if cpu.cpu_seconds() - before < idle_share * 0.5:
            break
    return round(time.monotonic() - started, 1)


async def latency_matrix(
    systems: list[Spec],
    rates: list[float],
    repeats: int,
    sockets: int,
    duration: float,
    warmup: float,
    drain: float,
    seeded: Seeded | None,
    workdir: Path,
) -> dict[str, Any]:
    """Every system at every rate, `repeats` rounds, systems shuffled within each round."""
    dbs = {
        spec.name: copy_database(seeded, workdir / spec.name)
        for spec in systems
        if spec.kind != "floor" and seeded is not None
    }
    trials: dict[str, dict[str, list[dict[str, Any]]]] = {
        s.name: {str(r): [] for r in rates} for s in systems
    }
    order = random.Random(11)
    settling: dict[str, dict[str, float]] = {}
    async with contextlib.AsyncExitStack() as stack:
        # Every system stays up, sockets connected, for the whole matrix: rounds interleave
        # the systems in time, and the connect storm (see ChatLoad.connect) is paid once.
        loads: dict[str, tuple[ChatLoad, Any]] = {}
        for spec in systems:
            running = await stack.enter_async_context(
                launch(spec, sockets, workdir / spec.name, dbs.get(spec.name))
            )
            load = ChatLoad(running.pairs(), spec.mode, seed=len(loads))
            stack.push_async_callback(load.close)
            loads[spec.name] = (load, running)

        # Runs first on exit (LIFO): every server gets SIGTERM at once, then each is awaited.
        stack.callback(terminate, [pid for _, r in loads.values() for pid in r.server_pids])
        for name, (load, running) in loads.items():
            # One system at a time, few handshakes at once: a product app system's connect
            # storm (O(N^2) presence frames) must not starve the others' handshakes.
            gentle = running.spec.kind != "floor"
            settling[name] = await load.connect(concurrency=16 if gentle else 64)
            log(f"{name}: {sockets} sockets up, {settling[name]}")
        for round_no in range(repeats):
            shuffled = list(systems)
            order.shuffle(shuffled)
            for spec in shuffled:
                log(f"round {round_no + 1}/{repeats}: {spec.name}")
                load, running = loads[spec.name]
                for rate in rates:
                    result = await measure(load, running, rate, duration, warmup, drain)
                    result["round"] = round_no
                    trials[spec.name][str(rate)].append(result)
                    lat = result["latency_ms"]
                    log(
                        f"  {spec.name} {rate:g}/s p50={lat['p50']} p99={lat['p99']} "
                        f"lost={result['lost']} err={result['send_errors_total']} "
                        f"gen_cpu={result['generator']['cpu_share']}"
                    )
    summary = {
        name: {
            rate: {
                **medians(runs, SUMMARY_KEYS),
                "runs": len(runs),
                "invalid_runs": sum(not r["valid"] for r in runs),
                "lost_total": sum(r["lost"] for r in runs),
            }
            for rate, runs in by_rate.items()
        }
        for name, by_rate in trials.items()
    }
    return {"summary": summary, "connect": settling, "trials": trials}
