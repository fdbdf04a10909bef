"""A minimal asyncio HTTP/1.1 keep-alive client pool for the load generator.

Hand-written on purpose: the generator must stay far from CPU-bound, and the requests are
always the same small JSON calls to one loopback host.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any


class HttpError(Exception):
    """The connection broke or the response could not be parsed."""


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def request(self, head: bytes, body: bytes) -> tuple[int, bytes, bool]:
        self.writer.write(head + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise HttpError("connection closed")
        status = int(status_line.split(b" ", 2)[1])
        length, chunked, close = 0, False, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and b"close" in value.lower():
                close = True
        if chunked:
            parts = []
            while True:
                size = int((await self.reader.readline()).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readline()
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readline()
            data = b"".join(parts)
        else:
            data = await self.reader.readexactly(length) if length else b""
        return status, data, close

    def close(self) -> None:
        self.writer.close()


class HttpPool:
    """Up to `size` keep-alive connections to one host; extra requests queue for a free one."""

    def __init__(self, host: str, port: int, size: int = 256) -> None:
        self.host, self.port = host, port
        self.origin = f"http://{host}:{port}"
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(size)
        self.opened = 0

    async def _take(self, fresh: bool = False) -> _Connection:
        if self._idle and not fresh:
            return self._idle.pop()
        reader, writer = await asyncio.open_connection(self.host, self.port)
        self.opened += 1
        return _Connection(reader, writer)

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        cookie: str | None = None,
        content_type: str = "application/json",
    ) -> tuple[int, Any]:
        """One request, JSON by default (`body` a value, or already encoded bytes of
        `content_type`); returns (status, decoded JSON or raw bytes)."""
        if isinstance(body, bytes):  # JSON the caller encoded once (large uploads)
            payload = body
        else:
            payload = json.dumps(body).encode() if body is not None else b""
        head = [
            f"{method} {path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            f"Origin: {self.origin}",
            "Accept: application/json",
            f"Content-Length: {len(payload)}",
        ]
        if body is not None:
            head.append(f"Content-Type: {content_type}")
        if cookie:
            head.append(f"Cookie: jwt={cookie}")
        raw_head = ("\r\n".join(head) + "\r\n\r\n").encode()
        async with self._slots:
            for attempt in (1, 2):
                # The retry opens a new connection: the other idle ones may be stale too.
                reused = bool(self._idle) and attempt == 1
                conn = await self._take(fresh=attempt == 2)
                try:
                    status, data, close = await conn.request(raw_head, payload)
                    break
                except (HttpError, OSError, asyncio.IncompleteReadError) as exc:
                    conn.close()
                    if attempt == 2 or not reused:
                        raise HttpError(str(exc)) from exc
                    # The server closed an idle keep-alive connection: retry once on a new one.
                except (ValueError, IndexError) as exc:
                    conn.close()
                    raise HttpError(str(exc)) from exc
                except BaseException:  # cancelled mid-request: the connection is unusable
                    conn.close()
                    raise
            if close:
                conn.close()
            else:
                self._idle.append(conn)
        try:
            return status, json.loads(data) if data else None
        except ValueError:
            return status, data

    async def close(self) -> None:
        for conn in self._idle:
            conn.close()
        self._idle.clear()
