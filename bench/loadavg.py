"""The load-average gate: figures taken while the machine is busy are not published.

Before each trial the 1-minute load average is printed; above the limit (1.0 on 2 cores:
another process is taking about half a core) the bench waits for it to fall, up to a limit
(5 minutes by default), then runs anyway and marks the trial invalid. The bench's own trials
raise the average too, so back-to-back heavy trials also wait: the gate keeps the machine at
most half busy on average.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from typing import Any

from bench.monitor import log

POLL_S = 5.0


@dataclass(frozen=True)
class LoadGate:
    limit: float = 1.0  # the highest 1-minute load average a published trial may start at
    wait: float = 300.0  # seconds to wait for it before running anyway, invalid


def load_1m() -> float:
    return os.getloadavg()[0]


async def load_gate(gate: LoadGate, what: str = "") -> dict[str, Any]:
    """Wait (up to `gate.wait`) for the 1-minute load average to fall to `gate.limit`."""
    first = now = load_1m()
    started = time.monotonic()
    while now > gate.limit and (left := gate.wait - (time.monotonic() - started)) > 0:
        await asyncio.sleep(min(POLL_S, left))
        now = load_1m()
    waited = time.monotonic() - started
    ok = now <= gate.limit
    note = f"load average {first:.2f}"
    if waited >= 1:
        note += f", waited {waited:.0f}s -> {now:.2f}"
    if not ok:
        note += f": above {gate.limit:g}, the trial runs but is invalid"
    log(f"{what} {note}".strip())
    return {"load_1m": round(now, 2), "load_wait_s": round(waited, 1), "load_ok": ok}
