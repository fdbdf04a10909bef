"""System N: install the Node peer's packages (once per machine) and run it.

`node_install()` runs `npm ci` in bench/node_peer (from the committed package-lock.json) when
node_modules is missing or older than the lock. better-sqlite3 has no prebuilt binary that can
be downloaded here, so npm compiles it against the local Node headers (about 3 minutes on 2
cores); the installed tree is kept in ~/.cache/parley-bench/ keyed by the lock's hash, so a
fresh clone on the same machine (CI) copies it instead of compiling again. Where node or npm
is missing, or the install fails, N is skipped and the report says why.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
from pathlib import Path

from tests.servers import START_TIMEOUT, _Process, _wait_for

NODE_DIR = Path(__file__).resolve().parent / "node_peer"
MODULES = NODE_DIR / "node_modules"
STAMP_NAME = ".parley-lock-sha256"  # inside node_modules: the lock it was installed from
INSTALL_TIMEOUT = 1200.0
NODE_HEADERS = Path("/usr/include/node/node.h")  # Debian/NodeSource ship them with nodejs


def _lock_hash() -> str:
    return hashlib.sha256((NODE_DIR / "package-lock.json").read_bytes()).hexdigest()


def _installed(modules: Path, digest: str) -> bool:
    stamp = modules / STAMP_NAME
    return stamp.exists() and stamp.read_text().strip() == digest


def _cache_dir(digest: str) -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "parley-bench" / f"node_peer-{digest[:16]}" / "node_modules"


def _loads() -> str | None:
    """None when the installed packages load in this node, else why not."""
    check = "require('better-sqlite3'); require('socket.io'); require('jsonwebtoken')"
    result = subprocess.run(
        ["node", "-e", check], cwd=NODE_DIR, capture_output=True, text=True, timeout=60
    )
    return None if result.returncode == 0 else result.stderr.strip()[-500:]


def node_install() -> str | None:
    """Make bench/node_peer/node_modules match the lock; None when N can run, else a note."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "system N skipped: node and npm are not installed on this machine"
    digest = _lock_hash()
    cached = _cache_dir(digest)
    if not _installed(MODULES, digest):
        if _installed(cached, digest):
            shutil.rmtree(MODULES, ignore_errors=True)
            shutil.copytree(cached, MODULES, symlinks=True)
        else:
            env = dict(os.environ)
            if NODE_HEADERS.exists():
                env["npm_config_nodedir"] = str(NODE_HEADERS.parent.parent.parent)
            try:
                result = subprocess.run(
                    ["npm", "ci", "--omit=dev", "--no-audit", "--no-fund"],
                    cwd=NODE_DIR,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=INSTALL_TIMEOUT,
                )
            except subprocess.TimeoutExpired:
                return f"system N skipped: npm ci took over {INSTALL_TIMEOUT:.0f} s"
            if result.returncode:
                tail = (result.stderr or result.stdout).strip()[-500:]
                return f"system N skipped: npm ci failed ({result.returncode}): {tail}"
            (MODULES / STAMP_NAME).write_text(digest)
    if not _installed(cached, digest):
        shutil.rmtree(cached, ignore_errors=True)
        shutil.copytree(MODULES, cached, symlinks=True)
    problem = _loads()
    return f"system N skipped: its packages do not load: {problem}" if problem else None


def _accepts(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


class NodeServer(_Process):
    """`node bench/node_peer/server.js` on 127.0.0.1, ready on construction."""

    name = "node"

    def __init__(self, sqlite_path: Path, jwt_secret: str, log_dir: str | None = None) -> None:
        super().__init__(None, log_dir)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),
            "PORT": str(self.port),
            "SQLITE_PATH": str(sqlite_path),
            "JWT_SECRET": jwt_secret,
            "NODE_ENV": "production",
        }
        self.start()

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/socket.io/?EIO=4&transport=websocket"

    def start(self) -> None:
        self._spawn(["node", str(NODE_DIR / "server.js")], env=self.env)
        _wait_for(lambda: _accepts(self.port), timeout=START_TIMEOUT, what="node", process=self)
