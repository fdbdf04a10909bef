"""The one entry point: run every metric, interleaved, and write the JSON results."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

from bench.capacity import idle_capacity
from bench.history import history_pages
from bench.latency import latency_matrix
from bench.loadavg import LoadGate
from bench.login import login_storm
from bench.maxrate import max_rate
from bench.measure import Timing
from bench.monitor import log
from bench.node import node_install
from bench.servers import raise_fd_limit
from bench.systems import DIAGNOSTIC, SYSTEMS, VARIANTS, seed_database

RESULTS = Path(__file__).resolve().parent / "results"
ALL = {**SYSTEMS, **VARIANTS, **DIAGNOSTIC}
METRICS = ["latency", "variants", "max_rate", "capacity", "history", "login"]


@dataclass
class Profile:
    """How big and how long: `full` for the published numbers, `smoke` to prove it works."""

    name: str
    systems: list[str]  # metric 1, every send mode each has
    rates: list[float]
    repeats: int  # every metric's repeats are interleaved rounds; >= 3 for published figures
    sockets: int
    duration: float
    warmup: float
    drain: float
    load_limit: float  # the highest 1-minute load average a valid trial starts at
    load_wait: float  # seconds to wait for it before running anyway, marked invalid
    variants: list[str]
    variant_rates: list[float]
    small_sockets: int  # variants only
    max_rate_systems: list[str]  # metric 2, at `sockets` sockets
    max_rates: list[float]
    overload_drain: float  # metric 2 at twice capacity: time for a backlog to clear
    capacity: dict[str, tuple[list[int], int]]  # metric 3: system -> (socket steps, churn)
    history_rows: int  # metric 4
    history_requests: int
    login_chat_rate: float  # metric 6: chat during the storm
    login_rate: float
    login_seconds: float
    settle: float  # seconds for RSS to settle between capacity steps


IDLE = ([1000, 5000, 10000], 10000)
PROFILES = {
    "full": Profile(
        name="full",
        systems=["A", "B", "C", "D", "D2", "D-uvicorn", "N"],
        rates=[100, 200, 500],
        repeats=3,
        sockets=1000,
        duration=5.0,
        warmup=1.0,
        drain=5.0,
        load_limit=1.0,
        load_wait=300.0,
        variants=["C-core", "D-core", "C-uvicorn", "D-conn"],
        variant_rates=[100],
        small_sockets=200,
        max_rate_systems=["D", "D2", "N"],
        max_rates=[100, 200, 300, 400, 600, 800, 1000, 1200],
        overload_drain=30.0,
        capacity={"A": IDLE, "D": IDLE, "D-uvicorn": IDLE, "N": IDLE},
        history_rows=1_000_000,
        history_requests=1000,
        login_chat_rate=50,
        login_rate=20,
        login_seconds=10,
        settle=3.0,
    ),
    "smoke": Profile(
        name="smoke",
        systems=["A", "B", "C", "D", "D2", "N"],
        rates=[20],
        repeats=1,
        sockets=20,
        duration=0.5,
        warmup=0.3,
        drain=5.0,
        load_limit=1.0,
        load_wait=0.0,  # never wait: the smoke run proves the harness works, not how fast
        variants=["C-core", "D-wsstub"],
        variant_rates=[20],
        small_sockets=20,
        max_rate_systems=["D2", "N"],
        max_rates=[20],
        overload_drain=5.0,
        capacity={"D": ([10, 20, 40], 20), "N": ([10, 20, 40], 20)},
        history_rows=2000,
        history_requests=20,
        login_chat_rate=20,
        login_rate=5,
        login_seconds=1,
        settle=0.3,
    ),
}


def machine() -> dict[str, Any]:
    cpu_model = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def drop_unavailable(profile: Profile, only: set[str]) -> dict[str, str]:
    """Install the Node peer if a metric needs it; without it, take N out (with the reason)."""
    wanted = set(profile.systems) if "latency" in only else set()
    if "max_rate" in only:
        wanted |= set(profile.max_rate_systems)
    if "capacity" in only:
        wanted |= set(profile.capacity)
    if "N" not in wanted:
        return {}
    log("installing the Node peer (system N) if needed")
    note = node_install()
    if note is None:
        return {}
    log(note)
    profile.systems = [n for n in profile.systems if n != "N"]
    profile.max_rate_systems = [n for n in profile.max_rate_systems if n != "N"]
    profile.capacity = {k: v for k, v in profile.capacity.items() if k != "N"}
    return {"N": note}


async def run(profile: Profile, only: list[str] | None, checkpoint: Path) -> dict[str, Any]:
    started = time.time()
    fd_limit = raise_fd_limit()
    wanted = set(only or METRICS)
    skipped = drop_unavailable(profile, wanted)
    out: dict[str, Any] = {
        "profile": asdict(profile),
        "command": " ".join(["python", "-m", "bench", *sys.argv[1:]]),
        "machine": machine(),
        "fd_limit": fd_limit,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "skipped_systems": skipped,
    }

    def save() -> None:
        """Keep what is measured so far: a late failure must not lose an hour of results."""
        out["elapsed_s"] = round(time.time() - started, 1)
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        checkpoint.write_text(json.dumps(out, indent=1))

    p = profile
    gate = LoadGate(p.load_limit, p.load_wait)
    timing = Timing(p.duration, p.warmup, p.drain, gate)
    with tempfile.TemporaryDirectory(prefix="parley-bench-") as tmp:
        work = Path(tmp)
        log(f"seeding {p.sockets} users")
        seeded = seed_database(work / "seed", p.sockets)
        if "latency" in wanted:
            specs = [ALL[n] for n in p.systems]
            out["latency"] = await latency_matrix(
                specs, p.rates, p.repeats, p.sockets, timing, seeded, work / "latency"
            )
        save()
        if "variants" in wanted and p.variants:
            base = [SYSTEMS["C"], SYSTEMS["D"]] if p.name == "full" else []
            out["variants"] = await latency_matrix(
                base + [ALL[n] for n in p.variants],
                p.variant_rates,
                p.repeats,
                p.small_sockets,
                timing,
                seeded,
                work / "variants",
            )
        save()
        if "max_rate" in wanted and p.max_rate_systems:
            out["max_rate"] = await max_rate(
                [ALL[n] for n in p.max_rate_systems],
                seeded,
                work / "max",
                p.sockets,
                p.max_rates,
                p.repeats,
                timing,
                p.overload_drain,
            )
        save()
        if "login" in wanted:
            out["login"] = await login_storm(
                SYSTEMS["D"],
                seeded,
                work / "login",
                p.sockets,
                p.login_chat_rate,
                p.login_rate,
                p.login_seconds,
                p.repeats,
                timing,
            )
        save()
        if "history" in wanted:
            log(f"seeding {p.history_rows} messages")
            big = seed_database(work / "history-seed", p.sockets, messages=p.history_rows)
            out["history"] = await history_pages(big, work, p.history_requests, gate)
        save()
        if "capacity" in wanted and p.capacity:
            top = max(max(steps) for steps, _ in p.capacity.values())
            many = seed_database(work / "capacity-seed", top) if top > p.sockets else seeded
            out["capacity"] = {}
            for name, (steps, churn) in p.capacity.items():
                out["capacity"][name] = await idle_capacity(
                    many, work / name, steps, churn, ALL[name], settle=p.settle, gate=gate
                )
                save()
    out["elapsed_s"] = round(time.time() - started, 1)
    save()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny counts: proves it works")
    parser.add_argument("--only", nargs="*", help="metrics to run (default: all)")
    parser.add_argument("--systems", nargs="*", help="override the systems list")
    parser.add_argument("--out", type=Path, help="where to write the JSON (default results/)")
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="FIELD=JSON",
        help="override profile fields, e.g. sockets=200 rates=[200]",
    )
    args = parser.parse_args()
    # SIGTERM unwinds like Ctrl-C, so every server and redis-server started is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    profile = PROFILES["smoke" if args.smoke else "full"]
    if args.systems:
        profile.systems = args.systems
    for item in args.set:
        name, _, value = item.partition("=")
        if not hasattr(profile, name):
            parser.error(f"unknown profile field {name!r}")
        setattr(profile, name, json.loads(value))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    # Everything (every trial) goes to results/raw/ (not committed); a full run also writes
    # the small summary that docs/PERFORMANCE.md is built from.
    raw = args.out or RESULTS / "raw" / f"{profile.name}-{stamp}.json"
    result = asyncio.run(run(profile, args.only, raw))
    log(f"wrote {raw}")
    if profile.name == "full" and args.out is None:
        summary = RESULTS / f"full-{stamp}.json"
        brief = _brief(result)
        brief["summary_file"] = str(summary.relative_to(RESULTS.parent.parent))
        summary.write_text(json.dumps(brief, indent=1))
        log(f"wrote {summary}")
        if not args.only and not args.set and not args.systems:
            from bench import report

            report.write(brief)
            log(f"wrote {report.DOC} and {report.PLOT}")
    json.dump(_brief(result), sys.stdout, indent=1)
    print()


def _brief(result: dict[str, Any]) -> dict[str, Any]:
    """The summary printed on stdout: everything but the per-trial details."""
    return {
        key: (
            {k: v for k, v in value.items() if k != "trials"} if isinstance(value, dict) else value
        )
        for key, value in result.items()
    }
