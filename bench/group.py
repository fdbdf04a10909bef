"""A message to a 50-member group: CPU per delivered copy and latency to every copy.

By hand, not in `make bench`: `python -m bench.group` (about 4 minutes; docs/PERFORMANCE.md
"Group messages"). The product app on two Daphne processes with a redis-server (system D2). One
sender on process 1 posts over the WebSocket (`sendMessage {conversationId}`); the 49 other
members each have one socket, split over both processes. The reference in the same run is a
direct conversation (one receiver): alternating trials of both, >= 3 each.

Reported per trial: server CPU (both processes and Redis) per message and per delivered copy,
latency from the scheduled send to each copy (p50/p99/max, open loop), copies lost, and the
1-minute load average (trials started above 1.0 are marked invalid and left out of the summary).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.http import HttpPool
from bench.loadavg import load_1m
from bench.monitor import log
from bench.stats import Latency, spreads
from bench.systems import SYSTEMS, launch, seed_database
from bench.wire import JsonWire

MEMBERS = 50
LOAD_LIMIT = 1.0
SETTLE_S = 2.0  # after the last send, for the last copies to arrive


async def _create_conversations(pool: HttpPool, token: str, ids: list[str]) -> tuple[str, str]:
    """(the group's id, the sender's direct conversation with the reference receiver)."""
    status, group = await pool.call(
        "POST",
        "/api/conversations/",
        {"title": "Bench group", "memberIds": ids[1:MEMBERS]},
        cookie=token,
    )
    assert status == 201, (status, group)
    status, direct = await pool.call(
        "POST", "/api/conversations/", {"userId": ids[MEMBERS]}, cookie=token
    )
    assert status in (200, 201), (status, direct)
    return group["_id"], direct["_id"]


async def _trial(
    running: Any,
    wire: JsonWire,
    kind: str,
    conversation: str,
    receivers: list[Any],
    rate: float,
    seconds: float,
    number: int,
) -> dict[str, Any]:
    load = load_1m()
    sender_user = running.users[0]
    sender = await wire.open(sender_user.ws_url, sender_user.token)
    sockets = [await wire.open(u.ws_url, u.token) for u in receivers]
    for socket in [sender, *sockets]:  # `ready`: subscribed, nothing will be missed from now
        while (wire.decode(await socket.recv()) or ("",))[0] != "ready":
            pass

    tag = f"bench-group-{number}-"
    scheduled: dict[str, int] = {}
    latency, copies = Latency(), 0
    acked = failed = 0

    async def listen(socket: Any) -> None:
        nonlocal copies
        async for raw in socket:
            decoded = wire.decode(raw)
            if decoded and decoded[0] == "newMessage":
                client_id = decoded[1].get("clientId") or ""
                if client_id.startswith(tag):
                    latency.record_ns(time.monotonic_ns() - scheduled[client_id])
                    copies += 1

    async def answers() -> None:
        nonlocal acked, failed
        async for raw in sender:
            decoded = wire.decode(raw)
            if decoded and decoded[0] == "messageSent":
                acked += 1
            elif decoded and decoded[0] == "messageFailed":
                failed += 1

    tasks = [asyncio.create_task(listen(s)) for s in sockets]
    tasks.append(asyncio.create_task(answers()))
    cpu = running.cpu()
    cpu0 = cpu.cpu_seconds()
    started = time.monotonic_ns()
    total = int(rate * seconds)
    for n in range(total):
        due = started + int(n * 1e9 / rate)
        if (wait := due - time.monotonic_ns()) > 0:
            await asyncio.sleep(wait / 1e9)
        client_id = f"{tag}{n}"
        scheduled[client_id] = due
        frame = {"conversationId": conversation, "text": f"{tag}{n}", "clientId": client_id}
        await sender.send(wire.encode("sendMessage", frame, n))
    deadline = time.monotonic() + SETTLE_S + 10
    while copies < total * len(receivers) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    used = cpu.cpu_seconds() - cpu0
    for task in tasks:
        task.cancel()
    for socket in [sender, *sockets]:
        await socket.close()
    expected = total * len(receivers)
    return {
        "kind": kind,
        "receivers": len(receivers),
        "load_1m": round(load, 2),
        "valid": load <= LOAD_LIMIT,
        "messages": total,
        "acked": acked,
        "failed": failed,
        "copies_expected": expected,
        "copies_lost": expected - copies,
        "server_cpu_ms_per_message": round(used * 1000 / max(total, 1), 3),
        "server_cpu_ms_per_copy": round(used * 1000 / max(copies, 1), 3),
        "latency_ms": latency.summary(),
    }


async def run(repeats: int, rate: float, seconds: float) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="parley-bench-group-"))
    seeded = seed_database(workdir / "seed", MEMBERS + 1)
    wire = JsonWire()
    trials: list[dict[str, Any]] = []
    async with launch(SYSTEMS["D2"], MEMBERS + 1, workdir / "d2", seeded) as running:
        pool = running.users[0].pool
        group, direct = await _create_conversations(pool, running.users[0].token, seeded.ids)
        kinds = {
            "group": (group, running.users[1:MEMBERS]),
            "direct": (direct, [running.users[MEMBERS]]),
        }
        number = 0
        for repeat in range(repeats):
            order = ("group", "direct") if repeat % 2 == 0 else ("direct", "group")
            for kind in order:
                number += 1
                conversation, receivers = kinds[kind]
                log(f"group bench: {kind} #{repeat + 1} (load {load_1m():.2f})")
                trial = await _trial(
                    running, wire, kind, conversation, receivers, rate, seconds, number
                )
                log(f"  {json.dumps(trial)}")
                trials.append(trial)
    keys = [
        "server_cpu_ms_per_message",
        "server_cpu_ms_per_copy",
        "latency_ms.p50",
        "latency_ms.p99",
        "latency_ms.max",
        "copies_lost",
    ]
    summary = {}
    for kind in ("group", "direct"):
        valid = [t for t in trials if t["kind"] == kind and t["valid"]]
        summary[kind] = {"valid_trials": len(valid), **spreads(valid, keys)}
    return {
        "bench": "group",
        "command": "python -m bench.group " + " ".join(sys.argv[1:]),
        "cores": os.cpu_count(),
        "settings": {"members": MEMBERS, "rate": rate, "seconds": seconds, "repeats": repeats},
        "summary": summary,
        "trials": trials,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rate", type=float, default=20.0, help="messages per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.repeats, args.rate, args.seconds)), indent=2))


if __name__ == "__main__":
    main()
