"""Daphne, with an application input queue that fits a chat server: `python -m chatproject.serve`.

Takes daphne's own arguments (`python -m chatproject.serve -b 127.0.0.1 -p 8000
chatproject.asgi:application`) and runs daphne's server with one difference, the queue it
hands each connection's application as `receive`:

- Daphne puts a whole request body into that queue at once, in 8 KB pieces, as soon as Twisted
  has it (on disk past 100 KB). Eight 20 MB uploads arriving together were 160 MB of bytes
  objects waiting in memory before Django read the first piece (bench/uploads.py, "file
  attachments"). Here, past `SPOOL_AFTER` bytes waiting, the pieces wait in a temporary file
  and are read back in order when the application asks.
- An `asyncio.Queue` is four deques and an Event, ~3.8 KB even when empty, for every open
  WebSocket, which mostly waits. This one holds a list only while messages wait.

- Its TCP connections write at once rather than on the reactor's next turn
  (chatproject/tcp_write.py).
- Twisted does not parse form and multipart bodies into `request.args`. Daphne never reads
  them (Django parses the body it is handed), and Twisted parsed them on the event loop with
  the `email` package, the whole body read into memory first: while a few 20 MB files arrived,
  every socket of the process waited (docs/PERFORMANCE.md, "File attachments").

Everything else is daphne's (pinned in requirements.txt; `ParleyServer.create_application` is
its method with the queue swapped, `tests/test_serve.py`).
"""

from __future__ import annotations

import asyncio
import tempfile
from functools import partial
from typing import IO, Any

from daphne import http_protocol
from daphne.cli import CommandLineInterface
from daphne.server import Server

from chatproject import tcp_write

SPOOL_AFTER = 256 * 1024  # bytes of request body one connection may hold in memory
REQUEST_PIECE = 256 * 1024  # bytes of request body per ASGI `http.request` message


class InputQueue:
    """What daphne puts (`put_nowait`) and the application awaits (`get`): one reader, in order."""

    __slots__ = ("_items", "_waiter", "_held", "_spool", "_spool_end")

    def __init__(self) -> None:
        self._items: list[Any] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._held = 0  # body bytes waiting in memory
        self._spool: IO[bytes] | None = None
        self._spool_end = 0

    def put_nowait(self, message: dict[str, Any]) -> None:
        body = message.get("body") if message.get("type") == "http.request" else None
        if body:
            if self._spool is not None or self._held + len(body) > SPOOL_AFTER:
                message = self._to_spool(message, body)
            else:
                self._held += len(body)
        if self._items is None:
            self._items = [message]
        else:
            self._items.append(message)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _to_spool(self, message: dict[str, Any], body: bytes) -> _Spooled:
        if self._spool is None:
            self._spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed when read back
            self._spool_end = 0
        self._spool.seek(self._spool_end)
        self._spool.write(body)
        spooled = _Spooled(self._spool_end, len(body), message)
        self._spool_end += len(body)
        return spooled

    def qsize(self) -> int:
        return len(self._items) if self._items else 0

    async def get(self) -> dict[str, Any]:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        item = self._items.pop(0)
        if not self._items:
            self._items = None
        if isinstance(item, _Spooled):
            return self._from_spool(item)
        if item.get("type") == "http.request" and item.get("body"):
            self._held -= len(item["body"])
        return item

    def _from_spool(self, item: _Spooled) -> dict[str, Any]:
        assert self._spool is not None
        self._spool.seek(item.offset)
        body = self._spool.read(item.length)
        if item.offset + item.length == self._spool_end:
            self._spool.close()  # everything spooled was read: the next body starts afresh
            self._spool = None
        return {**item.message, "body": body}


class _Spooled:
    __slots__ = ("offset", "length", "message")

    def __init__(self, offset: int, length: int, message: dict[str, Any]) -> None:
        self.offset, self.length = offset, length
        self.message = {k: v for k, v in message.items() if k != "body"}


class ParleyServer(Server):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Daphne hands a request body to the application in pieces of this size (its default,
        # 8 KB, made a 7 MB upload 850 spool writes in one reactor callback, then 850 turns of
        # the event loop for Django to read them back, while every socket waited).
        kwargs.setdefault("request_buffer_size", REQUEST_PIECE)
        super().__init__(*args, **kwargs)

    def create_application(self, protocol: Any, scope: dict[str, Any]) -> InputQueue | None:
        """daphne.server.Server.create_application (4.2.3), with an InputQueue."""
        assert "application_instance" not in self.connections[protocol]
        input_queue = InputQueue()
        scope.setdefault("asgi", {"version": "3.0"})
        application_instance = self.application(
            scope=scope,
            receive=input_queue.get,
            send=partial(self.handle_reply, protocol),
        )
        if protocol not in self.connections:
            return None
        self.connections[protocol]["application_instance"] = asyncio.ensure_future(
            application_instance,
            loop=asyncio.get_event_loop(),
        )
        return input_queue


class ParleyWebRequest(http_protocol.WebRequest):
    """Daphne's HTTP request with Twisted's own body parsing off (`parsePOSTFormSubmission`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._parsePOSTFormSubmission = False


class ParleyCommandLine(CommandLineInterface):
    server_class = ParleyServer


def install() -> None:
    """What `python -m chatproject.serve` changes in Daphne and Twisted before serving."""
    # daphne.http_protocol.HTTPFactory.buildProtocol looks the request class up by this name.
    http_protocol.WebRequest = ParleyWebRequest
    tcp_write.install()


if __name__ == "__main__":
    install()
    ParleyCommandLine.entrypoint()
