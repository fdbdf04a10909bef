"""The open-loop chat load generator: one asyncio process, many sockets, one schedule.

Every message is sent at its scheduled time (not when the previous one finished) and its
latency is measured from that scheduled time, so a slow server cannot hide its queueing.
Each message text carries the trial id, a sequence number, the scheduled monotonic time and
the sender, so the receiving sockets can count latency, loss, duplicates and reordering
(bench/trial.py has the counting rules).

Two send modes: "rest" (`POST /api/messages/send/<id>` with the sender's cookie) and "ws"
(a `sendMessage` event on the sender's socket, answered by `messageSent`/`messageFailed`, or
by a Socket.IO ack on system N).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import InvalidHandshake

from bench.http import HttpError, HttpPool
from bench.monitor import GeneratorMonitor
from bench.trial import Trial
from bench.wire import WIRES, JsonWire

TAG = "bench:"
CONNECT_DEADLINE = 900.0  # seconds to get every socket of one system connected
PROBE_TIMEOUT = 10.0
connect_retries = [0]  # handshakes retried, over the whole process
_trial_ids = itertools.count(1)
_ack_ids = itertools.count(1)


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


def client_id(trial_id: int, seq: int) -> str:
    return f"{TAG}{trial_id}:{seq}"


async def open_sockets(
    users: list[User],
    wire: Any = None,
    concurrency: int = 64,
    deadline: float = CONNECT_DEADLINE,
    on_open: Callable[[User, ClientConnection], None] | None = None,
) -> list[tuple[User, ClientConnection]]:
    """Connect one socket per user, `concurrency` handshakes at a time.

    A server busy with a connect storm drops handshakes (Daphne gives up on an app that has
    not accepted within 5 s): those are retried, with backoff, until `deadline` seconds.
    """
    wire = wire or WIRES["json"]
    gate = asyncio.Semaphore(concurrency)
    give_up = time.monotonic() + deadline

    async def one(user: User) -> tuple[User, ClientConnection]:
        async with gate:
            attempt = 0
            while True:
                try:
                    ws = await wire.open(user.ws_url, user.token)
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


async def drain_socket(ws: ClientConnection, wire: Any = None) -> None:
    """Read and drop what the server sends, answering transport pings (Socket.IO).

    An unread socket stops answering pings, and the server buffers what it cannot write,
    which would count as its memory.
    """
    wire = wire or WIRES["json"]
    with contextlib.suppress(Exception):
        async for raw in ws:
            reply = wire.control(raw)
            if reply is not None:
                await ws.send(reply)


async def ws_send_supported(wire: Any, sender: User, receiver: User) -> bool:
    """Whether the server answers a `sendMessage` event (the product gets it in issue 9).

    One message from `sender` to `receiver` on a socket of its own; any answer to the send
    (sent or failed) means yes, an `error` frame or silence means no.
    """
    ws = await wire.open(sender.ws_url, sender.token)
    probe = "bench-probe"
    try:
        data = {"to": receiver.user_id, "text": "bench probe", "clientId": probe}
        await ws.send(wire.encode("sendMessage", data, next(_ack_ids)))
        async with asyncio.timeout(PROBE_TIMEOUT):
            async for raw in ws:
                reply = wire.control(raw)
                if reply is not None:
                    await ws.send(reply)
                    continue
                decoded = wire.decode(raw)
                if decoded is None:
                    continue
                event, body = decoded
                if event in ("messageSent", "messageFailed"):
                    return isinstance(body, dict) and body.get("clientId") == probe
                if event == "error":
                    return False
    except TimeoutError:
        return False
    finally:
        await close_sockets([ws])
    return False


class ChatLoad:
    """Connected sockets plus the open-loop schedule that drives them."""

    def __init__(self, pairs: list[tuple[User, User]], wire: Any = None, seed: int = 7) -> None:
        self.pairs = pairs
        self.wire = wire or JsonWire()
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

        A socket that connects may make the server send presence to the sockets already
        open; the clock must not start while that is still draining. Returns how long
        connecting and settling took.
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
        await open_sockets(self.users, self.wire, concurrency, on_open=register)
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
        wire = self.wire
        try:
            async for raw in sock.ws:
                self.frames += 1
                self.last_frame = time.monotonic()
                reply = wire.control(raw)
                if reply is not None:
                    await sock.ws.send(reply)
                    continue
                if TAG not in raw:
                    continue  # presence, typing, receipts: not ours to time
                decoded = wire.decode(raw)
                if decoded is not None:
                    self._dispatch(sock, *decoded, now=time.monotonic_ns())
        except Exception:  # noqa: BLE001 - a dropped socket shows up as loss
            self.disconnects += 1

    def _dispatch(self, sock: Socket, event: str, data: Any, now: int) -> None:
        trial = self.trial
        if not isinstance(data, dict):
            return
        if event == "newMessage":
            self._deliver(trial, sock, data, now)
        elif event in ("messageSent", "messageFailed") and trial is not None:
            seq = self._seq_of(trial, data.get("clientId"))
            if seq is None:
                return
            status = 201 if event == "messageSent" else data.get("status")
            trial.answer(seq, status if isinstance(status, int) else 0, now, kind="ws")
            if event == "messageSent" and isinstance(data.get("message"), dict):
                # The answer carries the message to the socket that sent it (no second copy).
                self._deliver(trial, sock, data["message"], now)

    @staticmethod
    def _seq_of(trial: Trial, cid: Any) -> int | None:
        prefix = f"{TAG}{trial.trial_id}:"
        if not isinstance(cid, str) or not cid.startswith(prefix):
            return None
        seq = int(cid[len(prefix) :])
        return seq if 0 <= seq < len(trial.sched_ns) else None

    def _deliver(self, trial: Trial | None, sock: Socket, data: dict[str, Any], now: int) -> None:
        text = data.get("text") or ""
        try:
            trial_id, seq, _, sender = (int(x) for x in text[len(TAG) :].split(":"))
        except ValueError:
            return
        if trial is None or trial_id != trial.trial_id:
            if trial is not None:
                trial.stray += 1
            return
        if not trial.deliver(seq, sock.user.index == sender, now):
            return
        previous = sock.last_seq.get(sender, -1)
        if seq < previous:
            trial.reordered += 1
        else:
            sock.last_seq[sender] = seq

    async def _send_ws(self, trial: Trial, sender: User, receiver: User, seq: int) -> None:
        data = {
            "to": receiver.user_id,
            "text": self._text(trial, seq, sender),
            "clientId": client_id(trial.trial_id, seq),
        }
        frame = self.wire.encode("sendMessage", data, next(_ack_ids))
        await self.by_user[sender.index][0].ws.send(frame)

    async def _send_rest(self, trial: Trial, sender: User, receiver: User, seq: int) -> None:
        text = self._text(trial, seq, sender)
        assert sender.pool is not None
        body = {"text": text, "clientId": client_id(trial.trial_id, seq)}
        try:
            status, _ = await sender.pool.call(
                "POST", f"/api/messages/send/{receiver.user_id}", body, cookie=sender.token
            )
        except HttpError:
            status = 0
        except asyncio.CancelledError:
            trial.error("timeout")
            trial.drop(seq)
            raise
        trial.answer(seq, status, time.monotonic_ns())

    @staticmethod
    def _text(trial: Trial, seq: int, sender: User) -> str:
        return f"{TAG}{trial.trial_id}:{seq}:{trial.sched_ns[seq]}:{sender.index}"

    async def run(
        self,
        rate: float,
        duration: float,
        warmup: float = 1.0,
        drain: float = 5.0,
        mode: str = "ws",
        side_load: Callable[[asyncio.Event], Awaitable[Any]] | None = None,
    ) -> dict[str, Any]:
        """Send `rate` msgs/s for warmup + duration seconds, wait up to `drain` for the rest."""
        total = int(rate * (warmup + duration))
        trial = Trial(next(_trial_ids), mode, warm_seq=int(rate * warmup))
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
                trial.expect(seq, fanout)
                if mode == "rest":
                    task = asyncio.create_task(self._send_rest(trial, sender, receiver, seq))
                    rest_tasks.add(task)
                    task.add_done_callback(rest_tasks.discard)
                else:
                    try:
                        await self._send_ws(trial, sender, receiver, seq)
                    except Exception:  # noqa: BLE001
                        trial.error("ws_send")
                        trial.drop(seq)
            sent_at = time.monotonic()
            stop_side.set()
            if rest_tasks:
                await asyncio.wait(rest_tasks, timeout=drain)
                for task in list(rest_tasks):
                    task.cancel()  # unanswered after the drain: a timeout, not a loss
                await asyncio.gather(*rest_tasks, return_exceptions=True)
            trial.finish_sending()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    trial.done.wait(), max(0.1, drain - (time.monotonic() - sent_at))
                )
            trial.close()
        stop_side.set()
        side_result = await side if side is not None else None
        self.trial = None
        generator = gen.report()
        return {
            "trial_id": trial.trial_id,
            "mode": mode,
            "rate": rate,
            "duration_s": duration,
            "sent": total,
            **trial.counts(),
            "latency_ms": trial.latency.summary(),
            "echo_ms": trial.echo.summary(),
            "ack_ms": trial.ack.summary(),
            "send_lateness_ms": trial.lateness.summary(),
            "generator": generator,
            "side_load": side_result,
        }
