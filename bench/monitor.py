"""Watch the load generator itself: its CPU share and event-loop lag decide if a run is valid."""

from __future__ import annotations

import asyncio
import sys
import time

import psutil

from bench.stats import Latency


def log(message: str) -> None:
    """Progress on stderr (stdout carries the JSON)."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


CPU_BOUND_SHARE = 0.9  # of one core: above this the generator, not the server, sets the pace
LAG_TICK = 0.01  # seconds between event-loop lag probes


class GeneratorMonitor:
    """CPU time / wall time of this process and event-loop lag over a window."""

    def __init__(self) -> None:
        self._proc = psutil.Process()
        self.lag = Latency()
        self._task: asyncio.Task[None] | None = None

    async def _probe(self) -> None:
        while True:
            before = time.monotonic_ns()
            await asyncio.sleep(LAG_TICK)
            self.lag.record_ns(time.monotonic_ns() - before - int(LAG_TICK * 1e9))

    def __enter__(self) -> GeneratorMonitor:
        cpu = self._proc.cpu_times()
        self._cpu0, self._wall0 = cpu.user + cpu.system, time.monotonic()
        self._task = asyncio.get_running_loop().create_task(self._probe())
        return self

    def __exit__(self, *exc: object) -> None:
        cpu = self._proc.cpu_times()
        self.cpu = cpu.user + cpu.system - self._cpu0
        self.wall = time.monotonic() - self._wall0
        if self._task is not None:
            self._task.cancel()

    def report(self) -> dict[str, object]:
        share = self.cpu / self.wall if self.wall else 0.0
        lag = self.lag.summary()
        return {
            "cpu_share": round(share, 3),
            "loop_lag_p99_ms": lag["p99"],
            "loop_lag_max_ms": lag["max"],
            "cpu_bound": share > CPU_BOUND_SHARE,
        }


class ServerCpu:
    """CPU seconds and RSS of server processes (and their children) via psutil."""

    def __init__(self, pids: list[int]) -> None:
        self.procs = []
        for pid in pids:
            proc = psutil.Process(pid)
            self.procs.append(proc)
            self.procs.extend(proc.children(recursive=True))

    def cpu_seconds(self) -> float:
        total = 0.0
        for proc in self.procs:
            try:
                times = proc.cpu_times()
            except psutil.Error:
                continue
            total += times.user + times.system
        return total

    def rss_bytes(self) -> int:
        total = 0
        for proc in self.procs:
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                continue
        return total
