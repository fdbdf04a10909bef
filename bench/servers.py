"""Server processes under benchmark, built on the test suite's launchers (tests/servers.py)."""

from __future__ import annotations

import resource
import socket
import sys
from pathlib import Path

from tests.servers import (
    START_TIMEOUT,
    VENV_BIN,
    DaphneServer,
    RedisServer,
    _Process,
    _wait_for,
    daphne_env,
    free_port,
)

__all__ = ["AppServer", "FloorServer", "RedisServer", "app_env", "free_port", "raise_fd_limit"]

APP_ASGI = "bench.asgi:application"  # the product app; candidate fixes only when asked
RELAY_ASGI = "bench.relay_asgi:application"  # system C: the app's socket path, no database


def raise_fd_limit(wanted: int = 65536) -> int:
    """Raise RLIMIT_NOFILE as far as allowed; children inherit it. Returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _accepts(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


def app_env(workdir: str | Path, **extra: str) -> dict[str, str]:
    """The test suite's production-mode environment with the bench settings module."""
    # Per-user send limits stay on (their cost is measured) but high enough for the load.
    env = daphne_env(
        workdir, DJANGO_SETTINGS_MODULE="bench.settings", MESSAGE_RATE_PER_USER="100000"
    )
    env.update(extra)
    return env


class FloorServer(_Process):
    """`python -m bench.floor`: system A, or B when given a Redis URL."""

    name = "floor"

    def __init__(self, redis_url: str | None = None, log_dir: str | None = None) -> None:
        super().__init__(None, log_dir)
        self.redis_url = redis_url
        self.start()

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/"

    def start(self) -> None:
        args = [sys.executable, "-m", "bench.floor", "--port", str(self.port)]
        if self.redis_url:
            args += ["--redis", self.redis_url]
        self._spawn(args)
        _wait_for(lambda: _accepts(self.port), timeout=START_TIMEOUT, what="floor", process=self)


class AppServer(DaphneServer):
    """The app (or the bench relay app) under Daphne or Uvicorn, ready on construction."""

    def __init__(
        self,
        env: dict[str, str],
        *,
        server: str = "daphne",
        asgi: str = APP_ASGI,
        migrate: bool = False,
        log_dir: str | None = None,
    ) -> None:
        self.server, self.asgi = server, asgi
        self.name = server
        super().__init__(env, migrate=migrate, log_dir=log_dir)

    def start(self) -> None:
        port = str(self.port)
        if self.server == "uvicorn":
            args = [str(VENV_BIN / "uvicorn"), self.asgi, "--host", "127.0.0.1", "--port", port]
            args += ["--lifespan", "off", "--log-level", "warning", "--no-access-log"]
            # Named, not "auto": a missing uvloop/httptools must fail, not fall back silently.
            args += ["--loop", "uvloop", "--http", "httptools", "--ws", "websockets-sansio"]
        else:
            # Daphne as the product runs it (chatproject/serve.py: its input queue swapped).
            args = [str(VENV_BIN / "python"), "-m", "chatproject.serve"]
            args += ["-b", "127.0.0.1", "-p", port, self.asgi]
            args += ["-v", "0"]
        self._spawn(args, env=self.env)
        _wait_for(self.answers_http, timeout=START_TIMEOUT, what=self.server, process=self)
