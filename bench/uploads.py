"""Memory and chat latency while many maximum-size pictures are uploaded at once (issue 8).

    python -m bench.uploads [--repeats 3] [--concurrency 8 32] [--kinds ...]
                            [--server-env NAME=VALUE ...] [--out FILE]

One Daphne process with production settings (DEBUG off, Redis channel layer and cache, SQLite,
media on disk) and a seeded database. Each scenario sends N uploads of one kind at the same
moment, each from its own user, and while they run:

- samples the server's RSS (the Daphne process and any children, psutil) every 20 ms;
- measures chat latency on the same process: one REST send every 50 ms, round-robin over a
  few pairs, timed from the scheduled send to the receiver's socket getting `newMessage`.

Kinds: `png-avatar` (the issue's 6000x6000 white PNG, 120 KB, as `PUT update-profile`),
`jpeg-avatar` (a 6000x6000 baseline JPEG just under IMAGE_MAX_BYTES) and `jpeg-message` (the
same JPEG as a chat image, `POST /api/messages/send/<id>`); and, for comparison,
`no-picture`: a name change padded to the JPEG upload's body size, which costs everything but
the picture. `file-attachment` (issue 11) uploads a text file of ATTACHMENT_MAX_BYTES (20 MiB,
the costliest kind: text is scanned whole) to each uploader's direct conversation,
`POST /api/conversations/<id>/attachments` as multipart/form-data. Scenarios run `--repeats`
times in rounds; the summary gives min / median / max
per kind and concurrency.

Prints JSON. The run is marked invalid when the 1-minute load average exceeds 1.0 at the
start (the issue's rule for figures). Safety: if the server's RSS passes `--rss-cap-mb` the
bench kills it, records that, and stops (old code can take gigabytes).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import io
import json
import multiprocessing
import os
import random
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psutil

from bench.http import HttpError, HttpPool
from bench.latency import log
from bench.loadgen import User, close_sockets, open_sockets
from bench.monitor import ServerCpu
from bench.stats import Latency
from bench.systems import SYSTEMS, launch, seed_database

SAMPLE_EVERY = 0.02  # seconds between RSS samples
CHILDREN_EVERY = 1.0  # seconds between looks for the server's child processes
CHAT_INTERVAL = 0.05  # seconds between chat sends during a burst
CHAT_PAIRS = 4
CHAT_DRAIN = 5.0  # seconds to wait for the last chat deliveries
SETTLE = 3.0  # seconds after a burst before "RSS after" is read
IMAGE_MAX_BYTES = 5 * 1024 * 1024  # the app's default cap, which the JPEG stays under
SIDE = 6000
TAG = "upl:"
KINDS = ("png-avatar", "jpeg-avatar", "jpeg-message", "no-picture", "file-attachment")
ATTACHMENT_MAX_BYTES = 20 * 1024 * 1024  # the app's default cap
MULTIPART_BOUNDARY = "parleybench"


# --- the pictures --------------------------------------------------------------------------------
def issue_png() -> bytes:
    """The issue's picture: 6000x6000 white, 36 megapixels in about 120 KB."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (SIDE, SIDE), "white").save(out, "PNG")
    return out.getvalue()


def max_jpeg() -> bytes:
    """A 6000x6000 photo-like baseline JPEG at the best quality that stays under 5 MiB."""
    from PIL import Image

    rng = random.Random(8)
    coarse = Image.frombytes("L", (750, 750), rng.randbytes(750 * 750)).resize((SIDE, SIDE))
    gradient = Image.linear_gradient("L").resize((SIDE, SIDE))
    picture = Image.merge("RGB", (gradient, coarse, Image.blend(gradient, coarse, 0.5)))
    for quality in (95, 90, 85, 80, 75, 70, 60, 50):
        out = io.BytesIO()
        picture.save(out, "JPEG", quality=quality)
        if out.tell() < IMAGE_MAX_BYTES - 64 * 1024:
            return out.getvalue()
    raise RuntimeError("could not make a JPEG under the byte cap")


def max_text_file() -> bytes:
    """A log file of ATTACHMENT_MAX_BYTES as a multipart body (field `file`)."""
    line = b"2026-12-03 12:00:00 INFO a line of a long server log\n"
    content = line * (ATTACHMENT_MAX_BYTES // len(line))
    head = (
        f'--{MULTIPART_BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
        'filename="server.log.txt"\r\nContent-Type: text/plain\r\n\r\n'
    ).encode()
    return head + content + f"\r\n--{MULTIPART_BOUNDARY}--\r\n".encode()


def data_url(raw: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(raw).decode()}"


# --- server memory ------------------------------------------------------------------------------
class RssSampler:
    """The server's RSS every SAMPLE_EVERY seconds in a thread; the peak since `mark()`."""

    def __init__(self, pid: int, cap_bytes: int) -> None:
        self.proc = psutil.Process(pid)
        self.cap = cap_bytes
        self.current = self.peak = 0
        self.capped_at = 0
        self._children: list[psutil.Process] = []
        self._children_at = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> int:
        total = 0
        for proc in [self.proc, *self._children]:
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
        return total

    def _find_children(self) -> None:
        # Listing children reads every process on the machine: once a second, not per sample.
        with contextlib.suppress(psutil.Error):
            self._children = self.proc.children(recursive=True)
        self._children_at = time.monotonic()

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY):
            if time.monotonic() - self._children_at > CHILDREN_EVERY:
                self._find_children()
            try:
                rss = self._rss()
            except psutil.Error:
                return
            with self._lock:
                self.current, self.peak = rss, max(self.peak, rss)
            if rss > self.cap and not self.capped_at:
                self.capped_at = rss
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.proc.pid, signal.SIGKILL)  # the safety cap: stop here

    def __enter__(self) -> RssSampler:
        self._find_children()
        self.current = self.peak = self._rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def mark(self) -> int:
        """Start a new peak from now; returns the RSS at this moment."""
        with self._lock:
            self.peak = self.current
            return self.current


def mb(value: int) -> float:
    return round(value / 2**20, 1)


# --- chat latency -------------------------------------------------------------------------------
class ChatProbe:
    """REST sends on a fixed schedule, timed to the receiver's socket."""

    def __init__(self, pairs: list[tuple[User, User]]) -> None:
        self.pairs = pairs
        self.pending: dict[str, int] = {}  # text -> scheduled monotonic ns, until delivered
        self.scheduled: dict[str, int] = {}  # the same, until acknowledged
        self.latency = Latency()
        self.acked = Latency()  # scheduled send to its 201: the part the REST request took
        self.errors: Counter[str] = Counter()
        self.sent = 0
        self._sockets: list[Any] = []
        self._readers: list[asyncio.Task[None]] = []
        self._seq = 0

    async def connect(self) -> None:
        def register(user: User, ws: Any) -> None:
            self._sockets.append(ws)
            self._readers.append(asyncio.create_task(self._read(ws)))

        await open_sockets([receiver for _, receiver in self.pairs], on_open=register)

    async def close(self) -> None:
        for task in self._readers:
            task.cancel()
        await close_sockets(self._sockets)

    async def _read(self, ws: Any) -> None:
        with contextlib.suppress(Exception):
            async for raw in ws:
                if TAG not in raw:
                    continue
                frame = json.loads(raw)
                text = (frame.get("data") or {}).get("text") or ""
                sched = self.pending.pop(text, None)
                if frame.get("event") == "newMessage" and sched is not None:
                    self.latency.record_ns(time.monotonic_ns() - sched)

    async def _send(self, sender: User, receiver: User, text: str) -> None:
        assert sender.pool is not None
        try:
            status, _ = await sender.pool.call(
                "POST", f"/api/messages/send/{receiver.user_id}", {"text": text}, sender.token
            )
        except HttpError:
            status = 0
        if status != 201:
            self.errors[f"http_{status}"] += 1
            self.pending.pop(text, None)
        elif (sched := self.scheduled.pop(text, None)) is not None:
            self.acked.record_ns(time.monotonic_ns() - sched)

    async def run(self, stop: asyncio.Event) -> dict[str, Any]:
        """Send until `stop` is set, then wait for the last deliveries; the window's figures."""
        self.latency, self.acked, self.errors, self.sent = Latency(), Latency(), Counter(), 0
        self.scheduled.clear()
        tasks: set[asyncio.Task[None]] = set()
        next_at = time.monotonic_ns()
        while not stop.is_set():
            sender, receiver = self.pairs[self._seq % len(self.pairs)]
            text = f"{TAG}{self._seq}"
            self._seq += 1
            self.pending[text] = self.scheduled[text] = next_at
            self.sent += 1
            task = asyncio.create_task(self._send(sender, receiver, text))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            next_at += int(CHAT_INTERVAL * 1e9)
            with contextlib.suppress(TimeoutError):
                delay = max(0.0, (next_at - time.monotonic_ns()) / 1e9)
                await asyncio.wait_for(stop.wait(), delay)
        deadline = time.monotonic() + CHAT_DRAIN
        while (self.pending or tasks) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for task in list(tasks):
            task.cancel()  # unanswered after the drain: counted as lost
        await asyncio.gather(*tasks, return_exceptions=True)
        lost = len(self.pending)
        self.pending.clear()
        return {
            "sent": self.sent,
            "lost": lost,
            "errors": dict(self.errors),
            "latency_ms": self.latency.summary(),
            "ack_ms": self.acked.summary(),
        }


class LoopLag:
    """How late this (the bench's own) event loop runs a 5 ms ticker during a burst.

    The chat probe times sends and deliveries on this loop: when it is late, part of the chat
    latency is the bench's, not the server's. The report carries it to tell the two apart (the
    uploads go out from a child process so that it stays small).
    """

    TICK = 0.005

    def __init__(self) -> None:
        self.lateness = Latency()

    async def run(self, stop: asyncio.Event) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            due = loop.time() + self.TICK
            await asyncio.sleep(self.TICK)
            self.lateness.record_ns(max(0, int((loop.time() - due) * 1e9)))
        return self.lateness.summary()


# --- one burst ----------------------------------------------------------------------------------
async def upload_burst(
    pool: HttpPool,
    uploaders: list[User],
    body: bytes,
    method: str,
    path: str | dict[str, str],
    content_type: str = "application/json",
) -> dict[str, Any]:
    """Every uploader sends `body` at the same moment (to `path`, or to its own path in a
    user id -> path map); statuses and response times.

    The uploads go out from a forked child process with its own event loop: sent from the
    chat probe's loop, megabytes of bodies made that loop late by up to 160 ms, and the chat
    figure was partly the bench's own delay (`bench_loop_lag_ms` shows what is left of it).
    """
    receiving, sending = multiprocessing.Pipe(duplex=False)
    child = multiprocessing.get_context("fork").Process(
        target=_burst_child,
        args=(sending, pool.host, pool.port, uploaders, body, method, path),
        kwargs={"content_type": content_type},
        daemon=True,
    )
    child.start()
    sending.close()
    try:
        return await asyncio.get_running_loop().run_in_executor(None, receiving.recv)
    finally:
        child.join(timeout=10)
        receiving.close()


def _burst_child(
    conn: Any, host: str, port: int, uploaders: list[User], *args: Any, **kwargs: Any
) -> None:
    asyncio.events._set_running_loop(None)  # the forked parent's loop is not ours to use
    pool = HttpPool(host, port, size=len(uploaders) + 8)
    try:
        conn.send(asyncio.run(_burst(pool, uploaders, *args, **kwargs)))
    finally:
        conn.close()
        os._exit(0)  # skip the parent's atexit handlers and threads


async def _burst(
    pool: HttpPool,
    uploaders: list[User],
    body: bytes,
    method: str,
    path: str | dict[str, str],
    content_type: str,
) -> dict[str, Any]:
    times = Latency()

    async def one(user: User) -> int:
        started = time.monotonic_ns()
        where = path if isinstance(path, str) else path[user.user_id]
        try:
            status, _ = await pool.call(
                method, where, body, cookie=user.token, content_type=content_type
            )
        except HttpError:
            status = 0
        times.record_ns(time.monotonic_ns() - started)
        return status

    started = time.monotonic()
    statuses = await asyncio.gather(*(one(user) for user in uploaders))
    return {
        "wall_s": round(time.monotonic() - started, 2),
        "statuses": dict(sorted(Counter(str(s) for s in statuses).items())),
        "response_ms": times.summary(),
    }


async def wait_idle(cpu: ServerCpu, share: float = 0.1, limit: float = 30.0) -> None:
    """Until the server uses under `share` of a core for half a second."""
    give_up = time.monotonic() + limit
    while time.monotonic() < give_up:
        before = cpu.cpu_seconds()
        await asyncio.sleep(0.5)
        if cpu.cpu_seconds() - before < share * 0.5:
            return


async def scenario(
    kind: str,
    concurrency: int,
    uploaders: list[User],
    peer: User,
    bodies: dict[str, bytes],
    pool: HttpPool,
    probe: ChatProbe,
    rss: RssSampler,
    cpu: ServerCpu,
    attachment_paths: dict[str, str],
) -> dict[str, Any]:
    await wait_idle(cpu)
    content_type = "application/json"
    path: str | dict[str, str]
    if kind == "file-attachment":
        method, path = "POST", attachment_paths
        content_type = f"multipart/form-data; boundary={MULTIPART_BOUNDARY}"
    elif kind != "jpeg-message":
        method, path = "PUT", "/api/auth/update-profile"
    else:
        method, path = "POST", f"/api/messages/send/{peer.user_id}"
    before = rss.mark()
    stop = asyncio.Event()
    chat = asyncio.create_task(probe.run(stop))
    lag = asyncio.create_task(LoopLag().run(stop))
    burst = await upload_burst(
        pool, uploaders[:concurrency], bodies[kind], method, path, content_type
    )
    peak = rss.peak
    stop.set()
    chat_result = await chat
    bench_loop_lag = await lag
    await asyncio.sleep(SETTLE)
    return {
        "kind": kind,
        "concurrency": concurrency,
        "rss_before_mb": mb(before),
        "rss_peak_mb": mb(peak),
        "rss_after_mb": mb(rss.current),
        **burst,
        "chat": chat_result,
        "bench_loop_lag_ms": bench_loop_lag,
    }


def spread(values: list[float | None]) -> dict[str, float | None]:
    present = [v for v in values if v is not None]
    if not present:
        return {"min": None, "median": None, "max": None}
    return {
        "min": round(min(present), 1),
        "median": round(statistics.median(present), 1),
        "max": round(max(present), 1),
    }


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in sorted({(r["kind"], r["concurrency"]) for r in runs}):
        rows = [r for r in runs if (r["kind"], r["concurrency"]) == key]
        statuses: Counter[str] = Counter()
        for row in rows:
            statuses.update(row["statuses"])
        out[f"{key[0]} x{key[1]}"] = {
            "runs": len(rows),
            "rss_peak_mb": spread([r["rss_peak_mb"] for r in rows]),
            "rss_after_mb": spread([r["rss_after_mb"] for r in rows]),
            "burst_s": spread([r["wall_s"] for r in rows]),
            "chat_p50_ms": spread([r["chat"]["latency_ms"]["p50"] for r in rows]),
            "chat_p99_ms": spread([r["chat"]["latency_ms"]["p99"] for r in rows]),
            "chat_max_ms": spread([r["chat"]["latency_ms"]["max"] for r in rows]),
            "chat_lost": sum(r["chat"]["lost"] for r in rows),
            "statuses": dict(sorted(statuses.items())),
        }
    return out


async def bench(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    jpeg = max_jpeg()
    png = issue_png()
    avatars = {
        "png-avatar": {"profilePic": data_url(png, "image/png")},
        "jpeg-avatar": {"profilePic": data_url(jpeg, "image/jpeg")},
    }
    bodies = {kind: json.dumps(body).encode() for kind, body in avatars.items()}
    bodies["jpeg-message"] = json.dumps({"image": data_url(jpeg, "image/jpeg")}).encode()
    # The JPEG upload's body size without a picture: what receiving the bodies alone costs.
    padding = "x" * len(data_url(jpeg, "image/jpeg"))
    bodies["no-picture"] = json.dumps({"fullName": "Bench User", "padding": padding}).encode()
    bodies["file-attachment"] = max_text_file()
    uploader_count = max(args.concurrency)
    users = uploader_count + 1 + 2 * CHAT_PAIRS
    log(f"seeding {users} users")
    seeded = seed_database(workdir / "seed", users)
    # The limits are not what is measured.
    env = {"PROFILE_UPDATE_RATE_PER_USER": "100000", "ATTACHMENT_RATE_PER_USER": "100000"}
    env.update(pair.split("=", 1) for pair in args.server_env)
    runs: list[dict[str, Any]] = []
    async with launch(SYSTEMS["D"], users, workdir / "app", seeded, **env) as running:
        pid = running.server_pids[0]
        all_users = running.users
        uploaders, peer = all_users[:uploader_count], all_users[uploader_count]
        chat_users = all_users[uploader_count + 1 :]
        pairs = [(chat_users[i], chat_users[i + 1]) for i in range(0, len(chat_users), 2)]
        pool = HttpPool("127.0.0.1", running.servers[0].port, size=uploader_count + 8)
        probe = ChatProbe(pairs)
        await probe.connect()
        attachment_paths = {}
        if "file-attachment" in args.kinds:  # each uploader's direct conversation with `peer`
            for user in uploaders:
                _, detail = await pool.call(
                    "POST", "/api/conversations/", {"userId": peer.user_id}, cookie=user.token
                )
                attachment_paths[user.user_id] = f"/api/conversations/{detail['_id']}/attachments"
        cpu = running.cpu(with_redis=False)
        with RssSampler(pid, args.rss_cap_mb * 2**20) as rss:
            await wait_idle(cpu)
            idle_rss = mb(rss.mark())
            stop = asyncio.Event()
            idle_chat = asyncio.create_task(probe.run(stop))
            await asyncio.sleep(5)
            stop.set()
            idle = await idle_chat
            log(f"idle: RSS {idle_rss} MB, chat p99 {idle['latency_ms']['p99']} ms")
            for round_no in range(args.repeats):
                for kind in args.kinds:
                    for concurrency in args.concurrency:
                        result = await scenario(
                            kind,
                            concurrency,
                            uploaders,
                            peer,
                            bodies,
                            pool,
                            probe,
                            rss,
                            cpu,
                            attachment_paths,
                        )
                        result["round"] = round_no
                        runs.append(result)
                        log(
                            f"round {round_no + 1}: {kind} x{concurrency}: peak "
                            f"{result['rss_peak_mb']} MB, after {result['rss_after_mb']} MB, "
                            f"{result['statuses']} in {result['wall_s']} s, chat p99 "
                            f"{result['chat']['latency_ms']['p99']} ms"
                        )
                        if rss.capped_at:
                            break
                    if rss.capped_at:
                        break
                if rss.capped_at:
                    log(f"server killed at {mb(rss.capped_at)} MB (--rss-cap-mb): stopping")
                    break
        await probe.close()
        await pool.close()
    return {
        "idle": {"rss_mb": idle_rss, "chat": idle},
        "jpeg_bytes": len(jpeg),
        "png_bytes": len(png),
        "killed_at_rss_mb": mb(rss.capped_at) if rss.capped_at else None,
        "summary": summarise(runs),
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--rss-cap-mb", type=int, default=12_000)
    parser.add_argument(
        "--server-env",
        nargs="*",
        default=[],
        metavar="NAME=VALUE",
        help="extra server environment, e.g. IMAGE_DECODE_CONCURRENCY=1",
    )
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    load_start = [round(x, 2) for x in os.getloadavg()]
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    with tempfile.TemporaryDirectory(prefix="parley-bench-uploads-") as tmp:
        result = asyncio.run(bench(args, Path(tmp)))
    load_end = [round(x, 2) for x in os.getloadavg()]
    report = {
        "command": "python -m bench.uploads " + " ".join(sys.argv[1:]),
        "started": started,
        "cpus": os.cpu_count(),
        "load_avg_at_start": load_start,
        "load_avg_at_end": load_end,
        # The issue's rule: figures taken with a 1-minute load average above 1.0 don't count.
        "valid": load_start[0] <= 1.0,
        **result,
    }
    text = json.dumps(report, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
