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
from bench.latency import latency_matrix, log
from bench.servers import raise_fd_limit
from bench.systems import DIAGNOSTIC, SYSTEMS, VARIANTS, seed_database
from bench.throughput import login_burst, max_rate

RESULTS = Path(__file__).resolve().parent / "results"
ALL = {**SYSTEMS, **VARIANTS, **DIAGNOSTIC}
METRICS = ["latency", "variants", "max_rate", "capacity", "history", "login"]


@dataclass
class Profile:
    """How big and how long: `full` for the published numbers, `smoke` to prove it works."""

    name: str
    systems: list[str]
    rates: list[float]
    repeats: int
    sockets: int
    duration: float
    warmup: float
    drain: float
    variants: list[str]
    variant_rates: list[float]
    variant_repeats: int
    small_sockets: int  # variants, max rate and login burst (the connect storm is O(N^2))
    max_rates: list[float]  # metric 2: steps, on D2 and D
    capacity: dict[str, tuple[list[int], int]]  # metric 3: system -> (socket steps, churn)
    history_rows: int  # metric 4
    history_requests: int
    login_rate: float  # metric 6: chat rate during the login burst
    login_concurrency: int
    login_repeats: int
    settle: float  # seconds for RSS to settle between capacity steps


PROFILES = {
    "full": Profile(
        name="full",
        systems=[*SYSTEMS, "D-fixed"],
        rates=[100, 200, 500],
        repeats=5,
        sockets=1000,
        duration=5.0,
        warmup=1.0,
        drain=5.0,
        variants=list(VARIANTS),
        variant_rates=[50],
        variant_repeats=3,
        small_sockets=200,
        max_rates=[50, 100, 150, 200, 300, 400, 600, 800, 1000, 1500],
        capacity={
            "A": ([1000, 5000, 10000], 10000),
            "D-quiet": ([1000, 5000, 10000], 10000),
            "D-fixed": ([1000, 2000, 5000], 2000),
        },
        history_rows=1_000_000,
        history_requests=1000,
        login_rate=50,
        login_concurrency=8,
        login_repeats=3,
        settle=3.0,
    ),
    "smoke": Profile(
        name="smoke",
        systems=list(SYSTEMS),
        rates=[20],
        repeats=1,
        sockets=20,
        duration=0.5,
        warmup=0.3,
        drain=5.0,
        variants=["C-core", "D-fixed"],
        variant_rates=[20],
        variant_repeats=1,
        small_sockets=20,
        max_rates=[20],
        capacity={"D": ([10, 20, 40], 20)},
        history_rows=2000,
        history_requests=20,
        login_rate=20,
        login_concurrency=2,
        login_repeats=1,
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


async def run(profile: Profile, only: list[str] | None, checkpoint: Path) -> dict[str, Any]:
    started = time.time()
    fd_limit = raise_fd_limit()
    out: dict[str, Any] = {
        "profile": asdict(profile),
        "command": " ".join(["python", "-m", "bench", *sys.argv[1:]]),
        "machine": machine(),
        "fd_limit": fd_limit,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
    }
    wanted = set(only or METRICS)

    def save() -> None:
        """Keep what is measured so far: a late failure must not lose an hour of results."""
        out["elapsed_s"] = round(time.time() - started, 1)
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        checkpoint.write_text(json.dumps(out, indent=1))

    with tempfile.TemporaryDirectory(prefix="parley-bench-") as tmp:
        work = Path(tmp)
        specs = [ALL[n] for n in profile.systems]
        log(f"seeding {profile.sockets} users")
        seeded = seed_database(work / "seed", profile.sockets)
        p = profile
        timing = (p.duration, p.warmup, p.drain)
        if "latency" in wanted:
            out["latency"] = await latency_matrix(
                specs, p.rates, p.repeats, p.sockets, *timing, seeded, work / "latency"
            )
        save()
        if "variants" in wanted and p.variants:
            base = [SYSTEMS["C"], SYSTEMS["D"]] if p.name == "full" else []
            out["variants"] = await latency_matrix(
                base + [VARIANTS[n] for n in p.variants],
                p.variant_rates,
                p.variant_repeats,
                p.small_sockets,
                *timing,
                seeded,
                work / "variants",
            )
        save()
        if "max_rate" in wanted:
            out["max_rate"] = {}
            for name in ("D2", "D") if p.name == "full" else ("D2",):
                out["max_rate"][name] = await max_rate(
                    SYSTEMS[name], seeded, work / "max", p.small_sockets, p.max_rates, *timing
                )
        save()
        if "login" in wanted:
            out["login"] = await login_burst(
                SYSTEMS["D"],
                seeded,
                work / "login",
                p.small_sockets,
                p.login_rate,
                *timing,
                p.login_concurrency,
                p.login_repeats,
            )
        save()
        if "history" in wanted:
            log(f"seeding {p.history_rows} messages")
            big = seed_database(work / "history-seed", p.sockets, messages=p.history_rows)
            out["history"] = await history_pages(big, work, p.history_requests)
        save()
        if "capacity" in wanted:
            top = max(max(steps) for steps, _ in p.capacity.values())
            many = seed_database(work / "capacity-seed", top) if top > p.sockets else seeded
            out["capacity"] = {}
            for name, (steps, churn) in p.capacity.items():
                out["capacity"][name] = await idle_capacity(
                    many, work / name, steps, churn, spec=ALL[name], settle=p.settle
                )
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
