"""Real servers for slow tests: a private `redis-server` and Daphne processes on free ports.

How to use (everything is a context manager and cleans up after itself, even on failure)::

    from tests.servers import DaphneServer, HttpSession, RedisServer, daphne_env, ws_connect

    with RedisServer() as redis, tempfile.TemporaryDirectory() as tmp:
        env = daphne_env(tmp, REDIS_URL=redis.url)      # shared SQLite file + media in `tmp`
        with DaphneServer(env, migrate=True) as one, DaphneServer(env) as two:
            ann = HttpSession(one.url)                   # keeps the `jwt` cookie, sends Origin
            ann.signup("Ann", "ann@example.com", "secret123")
            async with ws_connect(two, ann) as ws:       # websockets client, cookie + Origin
                frame = json.loads(await ws.recv())
            two.kill()                                   # SIGKILL, like a crashed process
            redis.restart()                              # same port, data gone (no persistence)

- `free_port()` -> an unused TCP port on 127.0.0.1.
- `RedisServer(port=None)`: `.url`, `.port`, `.stop()`, `.restart()`, `.log_path`. No
  persistence (`--save "" --appendonly no`), bound to 127.0.0.1, never the system 6379.
- `daphne_env(workdir, **extra)` -> the environment a production-mode process needs (secrets,
  no SSL redirect, plain static storage, insecure cookie over http, SQLite and media in
  `workdir`, generous sign-up/login/send rate limits); `extra` overrides or adds (REDIS_URL...).
- `DaphneServer(env=None, port=None, migrate=False)`: `.url`, `.ws_url`, `.origin`, `.port`,
  `.pid`, `.stop()` (SIGTERM then SIGKILL), `.kill()` (SIGKILL), `.start()` again, `.logs()`
  (its stdout/stderr, kept in `.log_path` for debugging). `migrate=True` runs
  `manage.py migrate` first; start only one migrating process per database.
- `HttpSession(base_url)`: a tiny JSON client over one keep-alive connection with a cookie
  store: `.call(method, path, body)` -> `(status, json)`, `.signup()`, `.login()`, `.jwt`,
  `.ws_headers()`.
- `ws_connect(server, session, **kwargs)`: a `websockets` client connection to `server.ws_url`
  carrying the session's cookie and that server's own `Origin` (the session may be another's).

Processes run in their own process group and are killed at interpreter exit if a test forgot.
Logs go to a temporary directory removed at exit (pass `log_dir=` to keep them somewhere, or set
KEEP_SERVER_LOGS=1); on a start failure the exception carries the last of the log.
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any, Self

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
REDIS_BINARY = shutil.which("redis-server") or "/usr/bin/redis-server"
START_TIMEOUT = 30.0  # seconds; a cold Daphne import on a loaded 2-core box takes a few
STOP_TIMEOUT = 10.0

KEEP_LOGS = os.environ.get("KEEP_SERVER_LOGS") == "1"  # keep log dirs after the run

_live: set[_Process] = set()  # strong refs: a forgotten server is still killed at exit


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(check: Any, *, timeout: float, what: str, process: _Process) -> None:
    """Poll `check()` until it is true; fail early with the logs when the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen is not None and process.popen.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.popen.returncode}:\n{process.logs()}")
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{what} did not answer within {timeout:.0f}s:\n{process.logs()}")


class _Process:
    """A child process in its own process group, logging to a file."""

    name = "process"

    def __init__(self, port: int | None, log_dir: str | None) -> None:
        self.port = port or free_port()
        self.popen: subprocess.Popen[bytes] | None = None
        self._own_log_dir = log_dir is None
        self.log_dir = Path(log_dir or tempfile.mkdtemp(prefix=f"parley-{self.name}-"))
        self.log_path = self.log_dir / f"{self.name}-{self.port}.log"
        _live.add(self)

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def logs(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-20_000:]
        except FileNotFoundError:
            return ""

    def _spawn(self, args: list[str], env: dict[str, str] | None = None) -> None:
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(
                args,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: a kill reaches any children too
            )

    def _signal(self, sig: int) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to clean up (a crash, an OOM kill)."""
        self._signal(signal.SIGKILL)
        if self.popen is not None:
            self.popen.wait()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it hasn't exited within STOP_TIMEOUT."""
        self._signal(signal.SIGTERM)
        if self.popen is not None:
            try:
                self.popen.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class RedisServer(_Process):
    """A throw-away redis-server on 127.0.0.1 with no persistence."""

    name = "redis"

    def __init__(self, port: int | None = None, log_dir: str | None = None) -> None:
        super().__init__(port, log_dir)
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def ping(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")

    def start(self) -> None:
        args = [REDIS_BINARY, "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", ""]
        self._spawn(args)
        _wait_for(self.ping, timeout=START_TIMEOUT, what="redis-server", process=self)

    def restart(self) -> None:
        """Stop and start again on the same port: every key and subscription is gone."""
        self.stop()
        self.start()


def daphne_env(workdir: str | os.PathLike[str], **extra: str) -> dict[str, str]:
    """The environment for a production-mode (DEBUG off) app process whose files live in workdir.

    Built from scratch rather than inherited, so the test run's own settings module,
    REDIS_URL or MONGO_URI can't leak into the server.
    """
    workdir = Path(workdir)
    (workdir / "media").mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(workdir)),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "chatproject.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "slow-test-secret-key-not-for-production-0123456789abcdef",
        "JWT_SECRET": "slow-test-jwt-secret-not-for-production-0123456789",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_HSTS_SECONDS": "0",
        "STATIC_MANIFEST": "0",
        "JWT_COOKIE_SECURE": "0",
        "SQLITE_PATH": str(workdir / "db.sqlite3"),
        "MEDIA_ROOT": str(workdir / "media"),
        # Tests sign up many people from one address; the limits themselves are tested elsewhere.
        "SIGNUP_RATE_PER_IP": "100000",
        "LOGIN_RATE_PER_IP": "100000",
        "MESSAGE_RATE_PER_USER": "100000",
        "LOG_LEVEL": "WARNING",
    }
    env.update({key: str(value) for key, value in extra.items()})
    return env


class DaphneServer(_Process):
    """`python -m chatproject.serve chatproject.asgi:application` (daphne) on 127.0.0.1, started
    and ready on construction."""

    name = "daphne"

    def __init__(
        self,
        env: dict[str, str] | None = None,
        port: int | None = None,
        *,
        migrate: bool = False,
        log_dir: str | None = None,
    ) -> None:
        super().__init__(port, log_dir)
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        env = dict(env or {})
        if "SQLITE_PATH" not in env or "MEDIA_ROOT" not in env:
            # No shared files given: this server gets its own, removed when it stops.
            self._tmp = tempfile.TemporaryDirectory(prefix="parley-daphne-")
            env = daphne_env(self._tmp.name, **env)
            migrate = True
        self.env = env
        if migrate:
            self.migrate()
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def origin(self) -> str:
        return self.url

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/"

    def migrate(self) -> None:
        result = subprocess.run(
            [str(VENV_BIN / "python"), "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode:
            raise RuntimeError(f"migrate failed:\n{result.stdout}\n{result.stderr}")

    def answers_http(self) -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            conn.request("GET", "/api/auth/check")
            return conn.getresponse().status < 500
        finally:
            conn.close()

    def start(self) -> None:
        # The product's launcher: daphne with Parley's input queue (chatproject/serve.py).
        serve = [str(VENV_BIN / "python"), "-m", "chatproject.serve"]
        self._spawn(
            [*serve, "-b", "127.0.0.1", "-p", str(self.port), "chatproject.asgi:application"],
            env=self.env,
        )
        _wait_for(self.answers_http, timeout=START_TIMEOUT, what="daphne", process=self)

    def __exit__(self, *exc: object) -> None:
        self.stop()
        if self._tmp is not None:  # files it made for itself (no SQLITE_PATH/MEDIA_ROOT given)
            self._tmp.cleanup()
            self._tmp = None


class HttpSession:
    """A same-origin JSON client: one keep-alive connection, a cookie store, Origin on writes."""

    def __init__(self, base_url: str, timeout: float = 15.0) -> None:
        self.base_url = base_url.rstrip("/")
        host_port = self.base_url.split("://", 1)[1]
        self.host, _, port = host_port.partition(":")
        self.port = int(port or 80)
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self._conn: http.client.HTTPConnection | None = None

    @property
    def jwt(self) -> str | None:
        return self.cookies.get("jwt")

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _headers(self, method: str) -> dict[str, str]:
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if method != "GET":
            headers["Origin"] = self.base_url
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return headers

    def _remember_cookies(self, response: http.client.HTTPResponse) -> None:
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """Send one request; returns (status, decoded JSON or None)."""
        method = method.upper()
        payload = json.dumps(body).encode() if body is not None else None
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(method, path, body=payload, headers=self._headers(method))
                response = conn.getresponse()
                raw = response.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # The server closed an idle keep-alive connection: reconnect once.
                self.close()
                if attempt == 2:
                    raise
        self._remember_cookies(response)
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = raw.decode(errors="replace")
        return response.status, data

    def signup(self, full_name: str, email: str, password: str) -> dict:
        status, data = self.call(
            "POST",
            "/api/auth/signup",
            {"fullName": full_name, "email": email, "password": password},
        )
        if status != 201:
            raise AssertionError(f"signup failed: {status} {data}")
        return data

    def login(self, email: str, password: str) -> dict:
        status, data = self.call("POST", "/api/auth/login", {"email": email, "password": password})
        if status != 200:
            raise AssertionError(f"login failed: {status} {data}")
        return data

    def ws_headers(self) -> dict[str, str]:
        """Headers a browser on this site would send with its WebSocket handshake."""
        headers = {"Origin": self.base_url}
        if self.jwt:
            headers["Cookie"] = f"jwt={self.jwt}"
        return headers


def ws_connect(server: DaphneServer, session: HttpSession, **kwargs: Any) -> Any:
    """A `websockets` client connection (use with `async with`) as that session's browser."""
    from websockets.asyncio.client import connect

    headers = session.ws_headers()
    headers.pop("Origin")
    kwargs.setdefault("open_timeout", 10)
    # proxy=None: never route loopback through a proxy from the environment. The Origin is the
    # server's own: processes on other ports stand for one site behind one proxy, and the origin
    # check compares the port too.
    return connect(
        server.ws_url,
        origin=server.origin,
        additional_headers=headers,
        proxy=None,
        **kwargs,
    )


@atexit.register
def _kill_leftovers() -> None:
    for process in list(_live):
        process.kill()
        if process._own_log_dir and not KEEP_LOGS:
            shutil.rmtree(process.log_dir, ignore_errors=True)
