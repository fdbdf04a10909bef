"""Daphne, with an application input queue that fits a chat server: `python -m chatproject.serve`.

Takes daphne's own arguments (`python -m chatproject.serve -b 127.0.0.1 -p 8000
chatproject.asgi:application`) and runs daphne's server with one difference, the queue it
hands each connection's application as `receive`:

- Daphne puts a whole request body into that queue at once, in pieces, as soon as Twisted has
  it (on disk past 100 KB): one reactor callback that copied a 20 MB upload, while every socket
  of the process waited, into 160 MB of bytes objects for eight uploads. Here the queue reads
  the body from Twisted's own file a piece at a time when the application asks, one piece per
  turn of the event loop (bench/uploads.py: chat latency while files arrive).
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
import io
from functools import partial
from typing import IO, Any

from daphne import http_protocol
from daphne.cli import CommandLineInterface
from daphne.server import Server

from chatproject import tcp_write

REQUEST_PIECE = 256 * 1024  # bytes of request body per ASGI `http.request` message


class InputQueue:
    """What daphne puts (`put_nowait`) and the application awaits (`get`): one reader, in order.

    An HTTP request's body is not put: the queue reads it from Twisted's own copy (in a
    temporary file past 100 KB) a piece at a time, as the application asks (`read_body_from`).
    """

    __slots__ = ("_items", "_waiter", "_body", "_body_end", "_piece")

    def __init__(self) -> None:
        self._items: list[Any] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._body: IO[bytes] | None = None  # the request body still to hand over
        self._body_end = 0
        self._piece = REQUEST_PIECE

    def read_body_from(self, body: IO[bytes], piece: int = REQUEST_PIECE) -> None:
        """Hand the application `body` (positioned at its start) in pieces of `piece` bytes."""
        self._body, self._piece = body, piece
        self._body_end = body.seek(0, 2)
        body.seek(0)

    def take_body(self) -> IO[bytes] | None:
        """The whole request body as a file at its start, if none of it was handed over yet:
        the application can read it where Twisted wrote it instead of copying it again."""
        body = self._body
        if body is None or body.tell():
            return None
        self._body = None
        return body

    def put_nowait(self, message: dict[str, Any]) -> None:
        if self._body is not None and message.get("type") == "http.request":
            return  # daphne's copy of the body, emptied (ParleyServer.create_application)
        if self._items is None:
            self._items = [message]
        else:
            self._items.append(message)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def qsize(self) -> int:
        return (len(self._items) if self._items else 0) + (self._body is not None)

    async def get(self) -> dict[str, Any]:
        body = self._body
        if body is not None:
            if body.tell():
                # Each piece after the first on a later turn of the event loop: Django reads a
                # body in one loop, and a 20 MB upload must not hold every socket for its 80.
                await asyncio.sleep(0)
            piece = body.read(self._piece)
            more = body.tell() < self._body_end
            if not more:
                self._body = None
                body.close()
            return {"type": "http.request", "body": piece, "more_body": more}
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        item = self._items.pop(0)
        if not self._items:
            self._items = None
        return item


class ParleyServer(Server):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The input queue hands a request body to the application in pieces of this size
        # (Daphne's default, 8 KB, made a 7 MB upload 850 turns of the event loop).
        kwargs.setdefault("request_buffer_size", REQUEST_PIECE)
        super().__init__(*args, **kwargs)

    def create_application(self, protocol: Any, scope: dict[str, Any]) -> InputQueue | None:
        """daphne.server.Server.create_application (4.2.3), with an InputQueue."""
        assert "application_instance" not in self.connections[protocol]
        input_queue = InputQueue()
        if scope["type"] == "http":
            # Daphne then reads the empty file in one go; the queue reads the real one lazily.
            input_queue.read_body_from(protocol.content, self.request_buffer_size)
            protocol.content = io.BytesIO()
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
