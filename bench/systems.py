"""The systems under test (A, B, C, D, D2, N and variants), started and stopped on demand."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.http import HttpPool
from bench.loadgen import TAG, User
from bench.monitor import ServerCpu
from bench.node import NodeServer
from bench.servers import APP_ASGI, RELAY_ASGI, AppServer, FloorServer, RedisServer, app_env
from bench.wire import WIRES

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Spec:
    """What to start: the floor relay, the app or the Node peer; how many processes, which
    server and channel layer."""

    name: str
    kind: str  # "floor", "relay" (the app without persistence), "app" or "node"
    redis: bool = True
    processes: int = 1
    server: str = "daphne"
    layer: str = "pubsub"
    env: tuple[tuple[str, str], ...] = ()  # extra server environment (bench/settings.py knobs)

    @property
    def modes(self) -> tuple[str, ...]:
        """The send modes it has: REST only where a database stands behind it."""
        return ("rest", "ws") if self.kind in ("app", "node") else ("ws",)

    @property
    def wire(self) -> str:
        return "socketio" if self.kind == "node" else "json"

    @property
    def table(self) -> str:
        """Where its messages are stored (metric 2 counts rows there)."""
        return "node_messages" if self.kind == "node" else "messaging_message"


SYSTEMS = {
    "A": Spec("A", "floor", redis=False),
    "B": Spec("B", "floor"),
    "C": Spec("C", "relay"),
    "D": Spec("D", "app"),
    "D2": Spec("D2", "app", processes=2),
    "N": Spec("N", "node", redis=False),
}
PERSISTENT_DB = (("BENCH_CONN_MAX_AGE", "none"),)
VARIANTS = {
    "C-core": Spec("C-core", "relay", layer="core"),
    "D-core": Spec("D-core", "app", layer="core"),
    "C-uvicorn": Spec("C-uvicorn", "relay", server="uvicorn"),
    "D-uvicorn": Spec("D-uvicorn", "app", server="uvicorn"),
    "D-conn": Spec("D-conn", "app", env=PERSISTENT_DB),
    # Twisted's own buffered writes (chatproject/tcp_write.py off): what writing at once saves.
    "D-twisted": Spec("D-twisted", "app", env=(("PARLEY_TCP_WRITE_AT_ONCE", "0"),)),
}
# Diagnostic only: a WebSocket send that calls today's message_send (bench/patches.py), to
# exercise "D ws" before the product has its own, and to compare with it after.
DIAGNOSTIC = {"D-wsstub": Spec("D-wsstub", "app", env=(("BENCH_WS_SEND_STUB", "1"),))}


@dataclass
class Seeded:
    """A migrated SQLite file with users, and their ids and tokens."""

    path: Path
    ids: list[str]
    tokens: list[str]
    emails: list[str]
    password: str


def seed_database(workdir: Path, users: int, messages: int = 0) -> Seeded:
    """Run `bench.seed` in a child process (Django stays out of the generator process)."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = app_env(workdir)
    args = [sys.executable, "-m", "bench.seed", "--users", str(users)]
    if messages:
        args += ["--messages", str(messages)]
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    if result.returncode:
        raise RuntimeError(f"seeding failed:\n{result.stderr[-4000:]}")
    data = json.loads(result.stdout)
    return Seeded(
        Path(env["SQLITE_PATH"]), data["ids"], data["tokens"], data["emails"], data["password"]
    )


def copy_database(seeded: Seeded, workdir: Path) -> Seeded:
    """A private copy of a seeded database for one system (tokens stay valid)."""
    workdir.mkdir(parents=True, exist_ok=True)
    target = workdir / "db.sqlite3"
    shutil.copyfile(seeded.path, target)
    return Seeded(target, seeded.ids, seeded.tokens, seeded.emails, seeded.password)


@dataclass
class Running:
    """A started system: the users to drive, and the pids whose CPU counts as the server's."""

    spec: Spec
    users: list[User]
    server_pids: list[int]
    redis_pid: int | None
    db_path: Path | None
    servers: list[object] = field(default_factory=list)
    pools: list[HttpPool] = field(default_factory=list)

    @property
    def wire(self) -> object:
        return WIRES[self.spec.wire]

    def pairs(self) -> list[tuple[User, User]]:
        return [(self.users[i], self.users[i + 1]) for i in range(0, len(self.users) - 1, 2)]

    def rows_stored(self, trial_id: int) -> int | None:
        """Messages of trial `trial_id` in the database (None for systems that store nothing)."""
        if self.db_path is None or self.spec.kind not in ("app", "node"):
            return None
        conn = sqlite3.connect(self.db_path, timeout=30)
        try:
            pattern = f"{TAG}{trial_id}:%"
            sql = f"SELECT COUNT(*) FROM {self.spec.table} WHERE text LIKE ?"  # noqa: S608
            return conn.execute(sql, (pattern,)).fetchone()[0]
        finally:
            conn.close()

    def cpu(self, with_redis: bool = True) -> ServerCpu:
        pids = list(self.server_pids)
        if with_redis and self.redis_pid:
            pids.append(self.redis_pid)
        return ServerCpu(pids)


@contextlib.asynccontextmanager
async def launch(
    spec: Spec, n_users: int, workdir: Path, seeded: Seeded | None = None, **env: str
) -> AsyncIterator[Running]:
    """Start `spec` (and its own redis-server); stop everything on exit."""
    stack = contextlib.ExitStack()
    started: list[int] = []  # server pids, to signal all at once when stopping
    try:
        redis = stack.enter_context(RedisServer()) if spec.redis else None
        redis_url = redis.url if redis else None
        if spec.kind == "floor":
            floor = stack.enter_context(FloorServer(redis_url))
            users = [User(i, str(i), floor.ws_url + f"?u={i}") for i in range(n_users)]
            started.append(floor.pid)
            running = Running(spec, users, [floor.pid], redis and redis.pid, None, [floor])
        elif spec.kind == "node":
            assert seeded is not None, "the Node peer reads users from a seeded database"
            secret = app_env(workdir)["JWT_SECRET"]  # the secret the seed signed tokens with
            node = stack.enter_context(NodeServer(seeded.path, secret))
            pool = HttpPool("127.0.0.1", node.port, size=128)
            users = [
                User(i, uid, f"{node.ws_url}&userId={uid}", seeded.tokens[i], pool)
                for i, uid in enumerate(seeded.ids[:n_users])
            ]
            started.append(node.pid)
            running = Running(spec, users, [node.pid], None, seeded.path, [node], [pool])
        else:
            assert seeded is not None, "app systems need a seeded database"
            os.makedirs(workdir, exist_ok=True)
            extra = {"SQLITE_PATH": str(seeded.path), **dict(spec.env), **env}
            if redis_url:
                extra["REDIS_URL"] = redis_url
            extra["BENCH_CHANNEL_LAYER"] = spec.layer
            server_env = app_env(workdir, **extra)
            asgi = RELAY_ASGI if spec.kind == "relay" else APP_ASGI
            servers = [
                stack.enter_context(AppServer(server_env, server=spec.server, asgi=asgi))
                for _ in range(spec.processes)
            ]
            # Bounded in-flight requests bound a saturated server's backlog; requests waiting
            # for a connection still count, since latency runs from the scheduled time.
            pools = [HttpPool("127.0.0.1", s.port, size=128) for s in servers]
            users = []
            for i in range(n_users):
                home = i % len(servers)
                # ?presence=delta: what the browser asks for after issue 9 (ignored before).
                url = servers[home].ws_url + "?presence=delta"
                users.append(User(i, seeded.ids[i], url, seeded.tokens[i], pools[home]))
            pids = [s.pid for s in servers]
            started.extend(pids)
            running = Running(spec, users, pids, redis and redis.pid, seeded.path, servers, pools)
        yield running
        for pool in running.pools:
            await pool.close()
    finally:
        # SIGTERM every server first so they shut down in parallel; the stack then waits.
        for pid in started:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGTERM)
        stack.close()
