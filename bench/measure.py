"""One trial on a running system: the load gate, the server's CPU around it, rows stored."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from dataclasses import dataclass
from typing import Any

from bench.loadavg import LoadGate, load_gate
from bench.loadgen import ChatLoad
from bench.monitor import ServerCpu


@dataclass(frozen=True)
class Timing:
    """How long each trial sends, warms up and drains, and the load gate before it."""

    duration: float
    warmup: float
    drain: float
    gate: LoadGate = LoadGate()


async def measure(
    load: ChatLoad,
    running: Any,
    rate: float,
    mode: str,
    timing: Timing,
    duration: float | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """One trial with the server's CPU seconds around it; `valid` says if it may be published.

    CPU per delivered message counts the server processes and redis-server (the Redis hop is
    part of what a system costs), per 1,000 messages delivered to both people.
    """
    gate = await load_gate(timing.gate, f"{running.spec.name} {mode} {rate:g}/s:")
    cpu_all, cpu_app = running.cpu(True), running.cpu(False)
    before_all, before_app = cpu_all.cpu_seconds(), cpu_app.cpu_seconds()
    result = await load.run(
        rate,
        duration if duration is not None else timing.duration,
        warmup=timing.warmup,
        drain=timing.drain,
        mode=mode,
        **kwargs,
    )
    spent_all = cpu_all.cpu_seconds() - before_all
    spent_app = cpu_app.cpu_seconds() - before_app
    delivered_msgs = result["received_deliveries"] / 2  # each message reaches two sockets
    per_1k = 1000 / delivered_msgs if delivered_msgs else None
    result["server_cpu_s"] = round(spent_all, 3)
    result["server_cpu_s_per_1k_msgs"] = round(spent_all * per_1k, 4) if per_1k else None
    result["server_cpu_s_per_1k_msgs_no_redis"] = round(spent_app * per_1k, 4) if per_1k else None
    result["server_rss_mb"] = round(cpu_all.rss_bytes() / 2**20, 1)
    result.update(gate)
    result["valid"] = gate["load_ok"] and not result["generator"]["cpu_bound"]
    result["cooldown_s"] = await cool_down(cpu_all)
    # After the cool-down: a row the server commits late still counts against "rows == acks".
    result["rows_stored"] = running.rows_stored(result["trial_id"])
    return result


def terminate(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)


async def cool_down(cpu: ServerCpu, idle_share: float = 0.15, limit: float = 30.0) -> float:
    """Wait until the servers stop working off a backlog, so it can't slow the next trial."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        before = cpu.cpu_seconds()
        await asyncio.sleep(0.5)
        if cpu.cpu_seconds() - before < idle_share * 0.5:
            break
    return round(time.monotonic() - started, 1)
