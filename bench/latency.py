"""Metrics 1 and 5: send->receive latency per rate and send mode, and server CPU per message.

Rows are "<system> <mode>" ("A ws", "D rest", "D ws", "N rest", ...): every system with every
send mode it has, all interleaved in time, `repeats` rounds in a shuffled order.
"""

from __future__ import annotations

import contextlib
import random
from pathlib import Path
from typing import Any

from bench.loadgen import ChatLoad, ws_send_supported
from bench.measure import Timing, measure, terminate
from bench.monitor import log
from bench.stats import spreads
from bench.systems import Seeded, Spec, copy_database, launch

SUMMARY_KEYS = [
    "latency_ms.p50",
    "latency_ms.p90",
    "latency_ms.p99",
    "latency_ms.p99_9",
    "echo_ms.p99",
    "ack_ms.p50",
    "ack_ms.p99",
    "lost",
    "delayed_deliveries",
    "refused_total",
    "send_errors_total",
    "reordered",
    "server_cpu_s_per_1k_msgs",
    "server_cpu_s_per_1k_msgs_no_redis",
    "generator.cpu_share",
    "load_1m",
]
CPU_KEY = "server_cpu_s_per_1k_msgs"
NO_WS_SEND = "no WebSocket send: sendMessage got no answer (the product gets it in issue 9)"


def row_name(spec: Spec, mode: str) -> str:
    return f"{spec.name} {mode}"


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """min/median/max over the valid runs; loss, refusals and errors over every run."""
    valid = [r for r in runs if r["valid"]]
    return {
        **spreads(valid, SUMMARY_KEYS),
        # Not published: the same figures counting invalid runs too, to read a busy run by.
        "with_invalid": spreads(runs, ["latency_ms.p50", "latency_ms.p99", CPU_KEY]),
        "runs": len(runs),
        "invalid_runs": len(runs) - len(valid),
        "lost_total": sum(r["lost"] for r in runs),
        "refused_all": sum(r["refused_total"] for r in runs),
        "errors_all": sum(r["send_errors_total"] for r in runs),
    }


async def send_modes(spec: Spec, running: Any, skipped: dict[str, str]) -> list[str]:
    """The modes `spec` has that answer here; a WebSocket send is probed, not assumed."""
    modes = list(spec.modes)
    users = running.users
    if "ws" in modes and not await ws_send_supported(running.wire, users[0], users[1]):
        modes.remove("ws")
        skipped[row_name(spec, "ws")] = NO_WS_SEND
        log(f"{spec.name}: {NO_WS_SEND}")
    return modes


async def latency_matrix(
    systems: list[Spec],
    rates: list[float],
    repeats: int,
    sockets: int,
    timing: Timing,
    seeded: Seeded | None,
    workdir: Path,
) -> dict[str, Any]:
    """Every row at every rate, `repeats` rounds, rows shuffled within each round."""
    dbs = {
        spec.name: copy_database(seeded, workdir / spec.name)
        for spec in systems
        if spec.kind != "floor" and seeded is not None
    }
    trials: dict[str, dict[str, list[dict[str, Any]]]] = {}
    skipped: dict[str, str] = {}
    order = random.Random(11)
    settling: dict[str, dict[str, float]] = {}
    async with contextlib.AsyncExitStack() as stack:
        # Every system stays up, sockets connected, for the whole matrix: rounds interleave
        # the systems in time, and the connect storm is paid once.
        rows: list[tuple[str, str, ChatLoad, Any]] = []
        loads: list[tuple[ChatLoad, Any]] = []
        for spec in systems:
            running = await stack.enter_async_context(
                launch(spec, sockets, workdir / spec.name, dbs.get(spec.name))
            )
            load = ChatLoad(running.pairs(), running.wire, seed=len(loads))
            stack.push_async_callback(load.close)
            loads.append((load, running))
            for mode in await send_modes(spec, running, skipped):
                name = row_name(spec, mode)
                trials[name] = {str(r): [] for r in rates}
                rows.append((name, mode, load, running))

        # Runs first on exit (LIFO): every server gets SIGTERM at once, then each is awaited.
        stack.callback(terminate, [pid for _, r in loads for pid in r.server_pids])
        for load, running in loads:
            # One system at a time, few handshakes at once: an app system's connect storm
            # must not starve the others' handshakes.
            gentle = running.spec.kind != "floor"
            settling[running.spec.name] = await load.connect(concurrency=16 if gentle else 64)
            log(f"{running.spec.name}: {sockets} sockets up, {settling[running.spec.name]}")
        for round_no in range(repeats):
            shuffled = list(rows)
            order.shuffle(shuffled)
            for name, mode, load, running in shuffled:
                log(f"round {round_no + 1}/{repeats}: {name}")
                for rate in rates:
                    result = await measure(load, running, rate, mode, timing)
                    result["round"] = round_no
                    trials[name][str(rate)].append(result)
                    lat = result["latency_ms"]
                    log(
                        f"  {name} {rate:g}/s p50={lat['p50']} p99={lat['p99']} "
                        f"lost={result['lost']} refused={result['refused_total']} "
                        f"err={result['send_errors_total']} valid={result['valid']} "
                        f"gen_cpu={result['generator']['cpu_share']}"
                    )
    summary = {
        name: {rate: summarize(runs) for rate, runs in by_rate.items()}
        for name, by_rate in trials.items()
    }
    return {"summary": summary, "connect": settling, "skipped": skipped, "trials": trials}
