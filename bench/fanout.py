"""Fan-out design: per-user groups (what Parley does) against per-conversation groups.

By hand, not in `make bench`: `python -m bench.fanout` (about 2 minutes; docs/REALTIME.md
"Fan-out: per-user groups"). Everything runs on the product's channel layer
(`messaging.layer.WatchedRedisPubSubChannelLayer`) and a redis-server of its own on 127.0.0.1;
no Django app, so the figures isolate what the design choice changes.

1. group: one sender, 49 receiving sockets split over two receiver processes. Per-user: the sender
   PUBLISHes the message to 49 user channels in one pipeline, each process gets 24-25 Redis
   messages. Per-conversation: one PUBLISH, each process gets one and copies it to its sockets.
   Measured: sender CPU per message, receivers' CPU per delivered copy, latency to each copy.
2. member: sockets of people who are each in 200 conversations connect. Per-user: one SUBSCRIBE
   per socket. Per-conversation: 201 (their own channel for personal events, plus one per
   conversation). Measured: connect time per socket, the process's RSS and Redis memory per
   socket. (Per-conversation also has to add and remove every online member's sockets, on every
   process, whenever membership changes; that cost is not measured here.)

Each trial reports the 1-minute load average; trials started above 1.0 are marked invalid.
The two designs alternate (>= 3 repeats each), and the summary gives min/median/max.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

import psutil
from redis import Redis

from bench.loadavg import load_1m
from bench.monitor import log
from bench.stats import Latency, spreads
from messaging.layer import WatchedRedisPubSubChannelLayer
from tests.servers import RedisServer

DESIGNS = ("user", "conversation")
RECEIVERS = 49
PROCESSES = 2
CONVERSATIONS_PER_MEMBER = 200
LOAD_LIMIT = 1.0


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _receiver_groups(design: str, index: int) -> list[str]:
    return [f"user.{index}"] if design == "user" else ["conversation.1"]


# --- receiver process -----------------------------------------------------------------------


async def _receive(url: str, design: str, first: int, count: int, expected: int) -> None:
    layer = WatchedRedisPubSubChannelLayer(hosts=[url])
    latency = Latency()
    received = 0
    channels = []
    for index in range(first, first + count):
        channel = await layer.new_channel()
        for group in _receiver_groups(design, index):
            await layer.group_add(group, channel)
        channels.append(channel)
    print(json.dumps({"ready": True}), flush=True)
    done = asyncio.Event()
    cpu0 = None

    async def drain(channel: str) -> None:
        nonlocal received, cpu0
        while True:
            message = await layer.receive(channel)
            if message["type"] == "warm":
                continue
            latency.record_ns(time.monotonic_ns() - message["sent_ns"])
            if cpu0 is None:
                cpu0 = _cpu_s()
            received += 1
            if received == expected:
                done.set()

    tasks = [asyncio.create_task(drain(channel)) for channel in channels]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), timeout=120)
    cpu = _cpu_s() - (cpu0 or _cpu_s())
    for task in tasks:
        task.cancel()
    print(json.dumps({"received": received, "cpu_s": cpu, "latency": latency.summary()}))
    await layer.flush()


# --- trials ---------------------------------------------------------------------------------


async def group_trial(url: str, design: str, messages: int, rate: float) -> dict[str, Any]:
    """One 50-member group: the sender posts `messages` at `rate`; 49 sockets receive."""
    load = load_1m()
    split = [RECEIVERS // PROCESSES + (1 if i < RECEIVERS % PROCESSES else 0) for i in range(2)]
    procs, first = [], 0
    for count in split:
        args = [sys.executable, "-m", "bench.fanout", "--receiver", url, design, str(first)]
        args += [str(count), str(messages * count)]
        procs.append(subprocess.Popen(args, stdout=subprocess.PIPE, text=True))
        first += count
    for proc in procs:
        assert json.loads(proc.stdout.readline())["ready"]

    layer = WatchedRedisPubSubChannelLayer(hosts=[url])
    groups = (
        [f"user.{i}" for i in range(RECEIVERS)] + ["user.sender"]  # the sender's other tabs
        if design == "user"
        else ["conversation.1"]
    )
    await layer.group_send_many(groups, {"type": "warm", "sent_ns": time.monotonic_ns()})
    cpu0, started = _cpu_s(), time.monotonic()
    for number in range(messages):
        due = started + number / rate
        if (wait := due - time.monotonic()) > 0:
            await asyncio.sleep(wait)
        payload = {"type": "chat.event", "text": "x" * 300, "sent_ns": time.monotonic_ns()}
        await layer.group_send_many(groups, payload)
    sender_cpu = _cpu_s() - cpu0
    await layer.flush()

    results = [json.loads(proc.communicate(timeout=150)[0].splitlines()[-1]) for proc in procs]
    received = sum(r["received"] for r in results)
    worst = max(results, key=lambda r: r["latency"]["p99"] or 0)["latency"]
    return {
        "design": design,
        "load_1m": round(load, 2),
        "valid": load <= LOAD_LIMIT,
        "messages": messages,
        "copies_expected": messages * RECEIVERS,
        "copies_received": received,
        "sender_cpu_ms_per_message": round(sender_cpu * 1000 / messages, 3),
        "receiver_cpu_ms_per_copy": round(
            sum(r["cpu_s"] for r in results) * 1000 / max(received, 1), 4
        ),
        "latency_p50_ms": max(r["latency"]["p50"] or 0 for r in results),
        "latency_p99_ms": worst["p99"],
    }


async def member_trial(url: str, design: str, sockets: int) -> dict[str, Any]:
    """`sockets` people, each in 200 conversations, connect (subscribe) in one process."""
    load = load_1m()
    redis = Redis.from_url(url)
    redis_before = redis.info("memory")["used_memory"]
    process = psutil.Process()
    rss_before = process.memory_info().rss
    layer = WatchedRedisPubSubChannelLayer(hosts=[url])
    subscribes = 0
    started = time.monotonic()
    for person in range(sockets):
        channel = await layer.new_channel()
        groups = [f"user.{person}"]
        if design == "conversation":
            groups += [f"conversation.{person}.{c}" for c in range(CONVERSATIONS_PER_MEMBER)]
        for group in groups:
            await layer.group_add(group, channel)
        subscribes += len(groups)
    elapsed = time.monotonic() - started
    redis_after = redis.info("memory")["used_memory"]
    rss_after = process.memory_info().rss
    await layer.flush()
    redis.close()
    return {
        "design": design,
        "load_1m": round(load, 2),
        "valid": load <= LOAD_LIMIT,
        "sockets": sockets,
        "subscribes": subscribes,
        "connect_ms_per_socket": round(elapsed * 1000 / sockets, 3),
        "process_kb_per_socket": round((rss_after - rss_before) / 1024 / sockets, 1),
        "redis_kb_per_socket": round((redis_after - redis_before) / 1024 / sockets, 1),
    }


async def run(repeats: int, messages: int, rate: float, sockets: int) -> dict[str, Any]:
    trials: dict[str, list[dict[str, Any]]] = {"group": [], "member": []}
    with RedisServer() as redis:
        for repeat in range(repeats):
            for design in DESIGNS if repeat % 2 == 0 else reversed(DESIGNS):
                log(f"group {design} #{repeat + 1}")
                trials["group"].append(await group_trial(redis.url, design, messages, rate))
                log(f"member {design} #{repeat + 1}")
                trials["member"].append(await member_trial(redis.url, design, sockets))
                Redis.from_url(redis.url).flushall()
    group_keys = [
        "sender_cpu_ms_per_message",
        "receiver_cpu_ms_per_copy",
        "latency_p50_ms",
        "latency_p99_ms",
    ]
    member_keys = ["connect_ms_per_socket", "process_kb_per_socket", "redis_kb_per_socket"]
    summary = {}
    for design in DESIGNS:
        groups = [t for t in trials["group"] if t["design"] == design and t["valid"]]
        members = [t for t in trials["member"] if t["design"] == design and t["valid"]]
        summary[design] = {
            "group": {"valid_trials": len(groups), **spreads(groups, group_keys)},
            "member": {"valid_trials": len(members), **spreads(members, member_keys)},
        }
    return {
        "bench": "fanout",
        "command": "python -m bench.fanout " + " ".join(sys.argv[1:]),
        "cores": os.cpu_count(),
        "settings": {"messages": messages, "rate": rate, "sockets": sockets, "repeats": repeats},
        "summary": summary,
        "trials": trials,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--receiver", nargs=5, help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=100.0, help="group messages per second")
    parser.add_argument("--sockets", type=int, default=200, help="members connecting (trial 2)")
    args = parser.parse_args()
    if args.receiver:
        url, design, first, count, expected = args.receiver
        asyncio.run(_receive(url, design, int(first), int(count), int(expected)))
        return
    result = asyncio.run(run(args.repeats, args.messages, args.rate, args.sockets))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
