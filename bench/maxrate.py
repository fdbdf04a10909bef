"""Metric 2: the highest sustained persisted rate per system and send mode, then 2x that.

A ladder of rates, each step `repeats` times interleaved across the rows ("D rest", "D ws",
"D2 rest", ... "N ws"), all systems up with their sockets connected. A step is *sustained*
when the median p99 is under 100 ms and every trial had zero loss, no refusal, no error and
as many rows stored as sends acknowledged. A row stops after two failed steps in a row.
Then each row runs once at twice its highest sustained rate: past capacity a send may be
refused or delayed, never lost.
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.latency import row_name, send_modes
from bench.loadgen import ChatLoad
from bench.measure import Timing, measure, terminate
from bench.monitor import log
from bench.stats import spread_of, spreads
from bench.systems import Seeded, Spec, copy_database, launch
from bench.trial import DELAYED_MS

P99_LIMIT_MS = DELAYED_MS
FAILED_STEPS_TO_STOP = 2
STEP_KEYS = ["latency_ms.p50", "latency_ms.p99", "ack_ms.p99", "server_cpu_s_per_1k_msgs"]


@dataclass
class Row:
    name: str
    mode: str
    load: ChatLoad
    running: Any
    best: float | None = None
    failed_in_a_row: int = 0
    steps: list[dict[str, Any]] = field(default_factory=list)

    @property
    def climbing(self) -> bool:
        return self.failed_in_a_row < FAILED_STEPS_TO_STOP


def clean(result: dict[str, Any]) -> bool:
    """Nothing lost, refused or failed, and the database holds exactly the acknowledged sends."""
    return (
        result["lost"] == 0
        and result["refused_total"] == 0
        and result["send_errors_total"] == 0
        and result["rows_stored"] == result["acked"]
    )


def step_summary(rate: float, runs: list[dict[str, Any]]) -> dict[str, Any]:
    p99 = spread_of(r["latency_ms"]["p99"] for r in runs)["median"]
    return {
        "rate": rate,
        "sustained": p99 is not None and p99 < P99_LIMIT_MS and all(clean(r) for r in runs),
        "runs": len(runs),
        "invalid_runs": sum(not r["valid"] for r in runs),
        **spreads(runs, STEP_KEYS),
        "acked": [r["acked"] for r in runs],
        "rows_stored": [r["rows_stored"] for r in runs],
        "lost": sum(r["lost"] for r in runs),
        "refused": sum(r["refused_total"] for r in runs),
        "errors": sum(r["send_errors_total"] for r in runs),
        "load_1m": [r["load_1m"] for r in runs],
    }


def overload_summary(result: dict[str, Any]) -> dict[str, Any]:
    keys = ["rate", "sent", "acked", "rows_stored", "lost", "lost_deliveries", "refused"]
    keys += ["refused_total", "send_errors", "delayed_deliveries", "received_deliveries"]
    keys += ["valid", "load_1m"]
    out = {k: result[k] for k in keys}
    out["p50_ms"] = result["latency_ms"]["p50"]
    out["p99_ms"] = result["latency_ms"]["p99"]
    out["ack_p99_ms"] = result["ack_ms"]["p99"]
    return out


async def max_rate(
    systems: list[Spec],
    seeded: Seeded,
    workdir: Path,
    sockets: int,
    rates: list[float],
    repeats: int,
    timing: Timing,
    overload_drain: float,
) -> dict[str, Any]:
    """Every row up the ladder of `rates`, then once at twice the rate it sustained.

    The overload trial drains for `overload_drain` seconds: a message delivered late is
    delayed, not lost, and a backlog needs time to clear.
    """
    order = random.Random(23)
    skipped: dict[str, str] = {}
    rows: list[Row] = []
    async with contextlib.AsyncExitStack() as stack:
        pids: list[int] = []
        for spec in systems:
            db = copy_database(seeded, workdir / f"max-{spec.name}")
            running = await stack.enter_async_context(
                launch(spec, sockets, workdir / f"max-{spec.name}", db)
            )
            pids += running.server_pids
            load = ChatLoad(running.pairs(), running.wire, seed=99 + len(rows))
            stack.push_async_callback(load.close)
            modes = await send_modes(spec, running, skipped)
            await load.connect(concurrency=16)
            rows += [Row(row_name(spec, mode), mode, load, running) for mode in modes]
        stack.callback(terminate, pids)

        for rate in rates:
            active = [row for row in rows if row.climbing]
            if not active:
                break
            runs: dict[str, list[dict[str, Any]]] = {row.name: [] for row in active}
            for _ in range(repeats):
                order.shuffle(active)
                for row in active:
                    runs[row.name].append(
                        await measure(row.load, row.running, rate, row.mode, timing)
                    )
            for row in active:
                step = step_summary(rate, runs[row.name])
                row.steps.append(step)
                log(f"max-rate {row.name} {rate:g}/s: {step}")
                if step["sustained"]:
                    row.best, row.failed_in_a_row = rate, 0
                else:
                    row.failed_in_a_row += 1

        overload: dict[str, dict[str, Any]] = {}
        long_drain = dataclasses.replace(timing, drain=overload_drain)
        for row in rows:
            rate = 2 * (row.best or rates[0])  # twice the first step when none was sustained
            result = await measure(row.load, row.running, rate, row.mode, long_drain)
            overload[row.name] = overload_summary(result)
            log(f"overload {row.name} {rate:g}/s: {overload[row.name]}")
    return {
        "rows": {
            row.name: {
                "max_sustained_rate": row.best,
                "steps": row.steps,
                "overload": overload[row.name],
            }
            for row in rows
        },
        "skipped": skipped,
        "repeats": repeats,
    }
