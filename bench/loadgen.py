"""The open-loop chat load generator: one asyncio process, many sockets, one schedule.

Every message is sent at its scheduled time (not when the previous one finished) and its
latency is measured from that scheduled time, so a slow server cannot hide its queueing.
Each message text carries the trial id, a sequence number, the scheduled monotonic time and
the sender, so the receiving sockets can count latency, loss, duplicates and reordering.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake

from bench.http import HttpError, HttpPool
from bench.monitor import GeneratorMonitor
from bench.stats import Latency

TAG = "bench:"
CONNECT_DEADLINE = 900.0  # seconds to get every socket of one system connected
connect_retries = [0]  # handshakes retried, over the whole process
_trial_ids = itertools.count(1)


@dataclass
class User:
    """One chat user as the generator sees it."""

    index: int
    user_id: str  # the id the server knows (the app's pk, or the floor's name)
    ws_url: str  # the socket endpoint this user connects to
    token: str | None = None  # the `jwt` cookie for app systems
    pool: HttpPool | None = None  # REST sends go through the user's own server


@dataclass
class Socket:
    index: int
    user: User
    ws: ClientConnection
    last_seq: dict[int, int] = field(default_factory=dict)  # per sender: reordering


@dataclass
class Trial:
    """Book-keeping for one timed run."""

    trial_id: int
    warm_seq: int  # messages below this are warm-up: counted for loss, not for latency
    sched_ns: list[int] = field(default_factory=list)
    pending: dict[int, int] = field(default_factory=dict)  # seq -> deliveries still expected
    expected: int = 0
    received: int = 0
    duplicates: int = 0
    reordered: int = 0
    late_or_stray: int = 0
    acked: int = 0
    send_errors: dict[str, int] = field(default_factory=dict)
    latency: Latency = field(default_factory=Latency)  # to the receiver's socket
    echo: Latency = field(default_factory=Latency)  # back to the sender's own socket
    ack: Latency = field(default_factory=Latency)  # REST response time
    lateness: Latency = field(default_factory=Latency)  # generator's own send lateness
    done: asyncio.Event = field(default_factory=asyncio.Event)
    sending: bool = True

    def error(self, kind: str) -> None:
        self.send_errors[kind] = self.send_errors.get(kind, 0) + 1


def ws_kwargs(user: User, origin: str) -> dict[str, Any]:
    """Client options shared by every system: no compression, no pings, no proxy."""
    headers = {"Cookie": f"jwt={user.token}"} if user.token else {}
    return {
        "origin": origin,
        "additional_headers": headers,
        "compression": None,
        "ping_interval": None,
        "proxy": None,
        "open_timeout": 60,
        "close_timeout": 2,
        "max_size": 2**22,
    }


def origin_of(ws_url: str) -> str:
    return "http://" + ws_url.split("://", 1)[1].split("/", 1)[0]


async def open_sockets(
    users: list[User],
    concurrency: int = 64,
    deadline: float = CONNECT_DEADLINE,
    on_open: Callable[[User, ClientConnection], None] | None = None,
) -> list[tuple[User, ClientConnection]]:
    """Connect one socket per user, `concurrency` handshakes at a time.

    A server busy with a connect storm drops handshakes (Daphne gives up on an app that has
    not accepted within 5 s): those are retried, with backoff, until `deadline` seconds.
    """
    gate = asyncio.Semaphore(concurrency)
    give_up = time.monotonic() + deadline

    async def one(user: User) -> tuple[User, ClientConnection]:
        async with gate:
            attempt = 0
            while True:
                try:
                    ws = await connect(user.ws_url, **ws_kwargs(user, origin_of(user.ws_url)))
                    if on_open is not None:
                        on_open(user, ws)
                    return user, ws
                except (OSError, InvalidHandshake, TimeoutError):
                    connect_retries[0] += 1
                    attempt += 1
                    if time.monotonic() > give_up:
                        raise
                    await asyncio.sleep(min(5.0, 0.5 * attempt))

    return list(await asyncio.gather(*(one(u) for u in users)))


async def close_sockets(conns: list[ClientConnection]) -> None:
    async def one(ws: ClientConnection) -> None:
        with contextlib.suppress(Exception):
            await ws.close()

    await asyncio.gather(*(one(ws) for ws in conns))


class ChatLoad:
    """Connected sockets plus the open-loop schedule that drives them.

    `mode` is "ws" (the sender's socket carries a `benchSend` frame: systems A, B, C) or
    "rest" (`POST /api/messages/send/<id>` with the sender's cookie: systems D, D2).
    """

    def __init__(self, pairs: list[tuple[User, User]], mode: str, seed: int = 7) -> None:
        self.pairs = pairs
        self.mode = mode
        self.rng = random.Random(seed)
        self.sockets: list[Socket] = []
        self.by_user: dict[int, list[Socket]] = {}
        self._readers: list[asyncio.Task[None]] = []
        self.trial: Trial | None = None
        self.disconnects = 0
        self.frames = 0  # every frame received, ours or not
        self.last_frame = 0.0

    @property
    def users(self) -> list[User]:
        return [u for pair in self.pairs for u in pair]

    async def connect(
        self, quiet: float = 1.0, limit: float = 900.0, concurrency: int = 64
    ) -> dict[str, float]:
        """Open every socket, then wait until no frame has arrived for `quiet` seconds.

        Each app socket that connects makes the server send the online list to every socket
        already open, so connecting N sockets costs ~N^2/2 frames; the clock must not start
        while that is still draining. Returns how long connecting and settling took.
        """
        started = time.monotonic()

        def register(user: User, ws: ClientConnection) -> None:
            # Read from the first moment: an unread socket stops answering the server's
            # pings once its queue fills, and the server closes it.
            sock = Socket(len(self.sockets), user, ws)
            self.sockets.append(sock)
            self.by_user.setdefault(user.index, []).append(sock)
            self._readers.append(asyncio.create_task(self._read(sock)))

        frames_before = self.frames
        await open_sockets(self.users, concurrency, on_open=register)
        connected = time.monotonic()
        self.last_frame = max(self.last_frame, connected)
        while time.monotonic() - self.last_frame < quiet and time.monotonic() - started < limit:
            await asyncio.sleep(0.2)
        return {
            "connect_retries_so_far": connect_retries[0],
            "connect_s": round(connected - started, 2),
            "settle_s": round(time.monotonic() - connected, 2),
            "frames_while_settling": self.frames - frames_before,
        }

    async def close(self) -> None:
        for task in self._readers:
            task.cancel()
        await close_sockets([s.ws for s in self.sockets])
        self.sockets.clear()
        self.by_user.clear()

    async def _read(self, sock: Socket) -> None:
        try:
            async for raw in sock.ws:
                self.frames += 1
                self.last_frame = time.monotonic()
                if TAG not in raw:
                    continue  # presence, typing, receipts: not ours to time
                self._deliver(sock, raw, time.monotonic_ns())
        except Exception:  # noqa: BLE001 - a dropped socket shows up as loss
            self.disconnects += 1

    def _deliver(self, sock: Socket, raw: str | bytes, now: int) -> None:
        trial = self.trial
        frame = json.loads(raw)
        if frame.get("event") != "newMessage":
            return
        text = frame["data"].get("text") or ""
        try:
            trial_id, seq, _, sender = (int(x) for x in text[len(TAG) :].split(":"))
        except ValueError:
            return
        if trial is None or trial_id != trial.trial_id:
            if trial is not None:
                trial.late_or_stray += 1
            return
        left = trial.pending.get(seq, 0)
        if left <= 0:
            trial.duplicates += 1
            return
        trial.pending[seq] = left - 1
        if left == 1:
            del trial.pending[seq]
        trial.received += 1
        previous = sock.last_seq.get(sender, -1)
        if seq < previous:
            trial.reordered += 1
        else:
            sock.last_seq[sender] = seq
        if seq >= trial.warm_seq:
            delay = now - trial.sched_ns[seq]
            (trial.echo if sock.user.index == sender else trial.latency).record_ns(delay)
        if not trial.sending and not trial.pending:
            trial.done.set()

    async def _send_ws(self, sender: User, receiver: User, text: str) -> None:
        frame = json.dumps({"event": "benchSend", "data": {"to": receiver.user_id, "text": text}})
        await self.by_user[sender.index][0].ws.send(frame)

    async def _send_rest(self, trial: Trial, sender: User, receiver: User, seq: int) -> None:
        text = self._text(trial, seq, sender)
        assert sender.pool is not None
        body = {"text": text, "clientId": f"b{trial.trial_id}-{seq}"}
        try:
            status, _ = await sender.pool.call(
                "POST", f"/api/messages/send/{receiver.user_id}", body, cookie=sender.token
            )
        except HttpError:
            status = 0
        except asyncio.CancelledError:
            trial.error("timeout")
            self._forget(trial, seq)
            raise
        trial.ack.record_ns(time.monotonic_ns() - trial.sched_ns[seq])
        if status in (200, 201):  # 200: a retried send the server already had (clientId)
            trial.acked += 1
        else:
            trial.error(f"http_{status}")
            self._forget(trial, seq)

    def _forget(self, trial: Trial, seq: int) -> None:
        """A send that failed is an error, not a loss: stop expecting its deliveries."""
        left = trial.pending.pop(seq, 0)
        trial.expected -= left
        if not trial.sending and not trial.pending:
            trial.done.set()

    @staticmethod
    def _text(trial: Trial, seq: int, sender: User) -> str:
        return f"{TAG}{trial.trial_id}:{seq}:{trial.sched_ns[seq]}:{sender.index}"

    async def run(
        self,
        rate: float,
        duration: float,
        warmup: float = 1.0,
        drain: float = 5.0,
        side_load: Callable[[asyncio.Event], Awaitable[Any]] | None = None,
    ) -> dict[str, Any]:
        """Send `rate` msgs/s for warmup + duration seconds, wait up to `drain` for the rest."""
        total = int(rate * (warmup + duration))
        trial = Trial(next(_trial_ids), warm_seq=int(rate * warmup))
        for sock in self.sockets:
            sock.last_seq.clear()  # sequence numbers restart with every trial
        self.trial = trial
        interval = int(1e9 / rate)
        start = time.monotonic_ns() + 20_000_000
        trial.sched_ns = [start + i * interval for i in range(total)]
        plan = [self.rng.randrange(len(self.pairs)) for _ in range(total)]
        flips = [self.rng.random() < 0.5 for _ in range(total)]
        rest_tasks: set[asyncio.Task[None]] = set()
        stop_side = asyncio.Event()
        side = asyncio.create_task(side_load(stop_side)) if side_load else None
        with GeneratorMonitor() as gen:
            for seq in range(total):
                due = trial.sched_ns[seq]
                now = time.monotonic_ns()
                if due > now:
                    await asyncio.sleep((due - now) / 1e9)
                elif seq % 16 == 0:
                    await asyncio.sleep(0)  # far behind: still let the readers run
                trial.lateness.record_ns(max(0, time.monotonic_ns() - due))
                a, b = self.pairs[plan[seq]]
                sender, receiver = (b, a) if flips[seq] else (a, b)
                fanout = len(self.by_user[sender.index]) + len(self.by_user[receiver.index])
                trial.pending[seq] = fanout
                trial.expected += fanout
                if self.mode == "rest":
                    task = asyncio.create_task(self._send_rest(trial, sender, receiver, seq))
                    rest_tasks.add(task)
                    task.add_done_callback(rest_tasks.discard)
                else:
                    try:
                        await self._send_ws(sender, receiver, self._text(trial, seq, sender))
                    except Exception:  # noqa: BLE001
                        trial.error("ws_send")
                        self._forget(trial, seq)
            sent_at = time.monotonic()
            stop_side.set()
            if rest_tasks:
                await asyncio.wait(rest_tasks, timeout=drain)
                for task in list(rest_tasks):
                    task.cancel()  # unanswered after the drain: a timeout, not a loss
                await asyncio.gather(*rest_tasks, return_exceptions=True)
            trial.sending = False
            if not trial.pending:
                trial.done.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    trial.done.wait(), max(0.1, drain - (time.monotonic() - sent_at))
                )
        stop_side.set()
        side_result = await side if side is not None else None
        self.trial = None
        generator = gen.report()
        lost = trial.expected - trial.received
        return {
            "trial_id": trial.trial_id,
            "rate": rate,
            "duration_s": duration,
            "sent": total,
            "acked": trial.acked if self.mode == "rest" else None,
            "send_errors": trial.send_errors,
            "expected_deliveries": trial.expected,
            "received_deliveries": trial.received,
            "lost": lost,
            "duplicates": trial.duplicates,
            "reordered": trial.reordered,
            "stray": trial.late_or_stray,
            "latency_ms": trial.latency.summary(),
            "echo_ms": trial.echo.summary(),
            "ack_ms": trial.ack.summary() if self.mode == "rest" else None,
            "send_lateness_ms": trial.lateness.summary(),
            "generator": generator,
            "valid": not generator["cpu_bound"],
            "side_load": side_result,
        }
