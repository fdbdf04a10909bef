"""Profile a system's server processes under chat load with py-spy (a by-hand tool).

    python -m bench.profile --system D --mode ws --rate 50 --sockets 200 --seconds 15

Prints JSON: the hottest functions by own time and by total time, as shares of all samples
(all threads), plus the load trial's result. Needs `py-spy` (pinned in requirements.txt); Python
systems only (not N).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from bench.loadavg import LoadGate
from bench.loadgen import ChatLoad
from bench.measure import Timing, measure
from bench.run import ALL
from bench.servers import raise_fd_limit
from bench.systems import launch, seed_database


def summarise(raw: Path, top: int) -> dict[str, Any]:
    """Own and total sample shares per function from py-spy's `raw` (collapsed) output."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        samples += n
        frames = stack.split(";")
        own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n

    def share(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(f, round(100 * c / samples, 1)) for f, c in counter.most_common(top)]

    return {"samples": samples, "own_pct": share(own), "total_pct": share(total)}


async def profile(
    system: str,
    mode: str,
    rate: float,
    sockets: int,
    seconds: float,
    top: int,
    keep: Path | None = None,
) -> dict:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    with tempfile.TemporaryDirectory(prefix="parley-profile-") as tmp:
        work = Path(tmp)
        seeded = seed_database(work / "seed", sockets)
        async with launch(ALL[system], sockets, work / "sys", seeded) as running:
            load = ChatLoad(running.pairs(), running.wire)
            await load.connect()
            # The first message of each pair creates its conversation: not the steady state.
            pairs = max(2, sockets // 2)  # random pairs: ~n ln n messages reach each one
            warm_s = min(60.0, max(3.0, 1.3 * pairs * math.log(pairs) / rate))
            await measure(load, running, rate, mode, Timing(warm_s, 0.5, 5.0, LoadGate(wait=0)))
            outputs, spies = [], []
            for pid in running.server_pids:
                out = work / f"spy-{pid}.txt"
                args = [spy, "record", "-p", str(pid), "-d", str(int(seconds)), "-r", "200"]
                args += ["-f", "raw", "-o", str(out), "--threads", "--nonblocking"]
                spies.append(
                    subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                )
                outputs.append(out)
            timing = Timing(seconds - 1.0, 0.5, 5.0, LoadGate(wait=0))  # by hand: never wait
            result = await measure(load, running, rate, mode, timing)
            for proc in spies:
                proc.wait(timeout=60)
            await load.close()
            if keep is not None:  # py-spy's collapsed stacks, for a flame graph or a closer look
                keep.mkdir(parents=True, exist_ok=True)
                for out in outputs:
                    if out.exists():
                        shutil.copy(out, keep / out.name)
            brief = {k: result[k] for k in ("sent", "acked", "lost", "send_errors", "latency_ms")}
            brief["server_cpu_s_per_1k_msgs"] = result["server_cpu_s_per_1k_msgs"]
            return {
                "system": system,
                "mode": mode,
                "rate": rate,
                "trial": brief,
                "profiles": [summarise(out, top) for out in outputs if out.exists()],
            }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--system", default="D")
    parser.add_argument("--mode", choices=["rest", "ws"], default="rest")
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--sockets", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--keep", type=Path, help="copy py-spy's raw stacks to this directory")
    args = parser.parse_args()
    raise_fd_limit()
    report = asyncio.run(
        profile(args.system, args.mode, args.rate, args.sockets, args.seconds, args.top, args.keep)
    )
    json.dump(report, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
