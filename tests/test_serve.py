"""`python -m chatproject.serve`: daphne with Parley's input queue (chatproject/serve.py)."""

import asyncio
import inspect
import io
import sys
import tempfile

import daphne.server
import pytest

from chatproject.serve import REQUEST_PIECE, InputQueue, ParleyServer


async def test_a_large_body_is_read_from_twisteds_file_a_piece_per_turn_of_the_loop():
    """20 MB read lazily, in order, each piece after the first on a later turn of the loop (a
    socket's frame gets through between them); then what came after the body."""
    data = bytes(range(251)) * (20 * 1024 * 1024 // 251)
    file = tempfile.TemporaryFile()  # noqa: SIM115 - the queue closes it, as the test checks
    file.write(data)
    queue = InputQueue()
    queue.read_body_from(file)
    queue.put_nowait({"type": "http.request", "body": b"", "more_body": False})  # daphne's
    queue.put_nowait({"type": "http.disconnect"})

    turns = 0

    async def count_turns() -> None:
        nonlocal turns
        while True:
            await asyncio.sleep(0)
            turns += 1

    counter = asyncio.create_task(count_turns())
    got = [await queue.get()]
    while got[-1]["more_body"]:
        got.append(await queue.get())
    counter.cancel()
    assert b"".join(m["body"] for m in got) == data
    assert len(got) == -(-len(data) // REQUEST_PIECE)
    assert turns >= len(got) - 2  # the counter starts a turn late and counts on its next
    assert await queue.get() == {"type": "http.disconnect"}
    assert file.closed  # handed over whole: the temporary file is gone


async def test_a_small_body_comes_at_once_and_a_waiting_reader_wakes():
    """A JSON request's body costs no extra turn of the loop; a socket's reader waiting for its
    next frame wakes up."""
    queue = InputQueue()
    queue.read_body_from(io.BytesIO(b'{"text": "hi"}'))
    reading = queue.get()
    with pytest.raises(StopIteration) as done:  # no await inside: answered without yielding
        reading.send(None)
    body = {"type": "http.request", "body": b'{"text": "hi"}', "more_body": False}
    assert done.value.value == body

    waiting = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait({"type": "websocket.receive", "text": "x"})
    assert (await asyncio.wait_for(waiting, 1))["text"] == "x"


def test_an_idle_queue_is_small():
    """One per open socket: tens of bytes idle, not an asyncio.Queue's ~3.8 KB."""
    assert sys.getsizeof(InputQueue()) < 120


def test_the_server_is_daphnes_with_only_the_queue_swapped():
    """create_application copies daphne 4.2.3's; a daphne upgrade that changes it fails here,
    so the copy is looked at again."""
    theirs = inspect.getsource(daphne.server.Server.create_application)
    ours = inspect.getsource(ParleyServer.create_application)
    assert "input_queue = asyncio.Queue()" in theirs
    strip = [line.strip() for line in theirs.splitlines() if line.strip()]
    kept = [
        line
        for line in strip
        if not line.startswith(("#", '"""', "Creates", "for one", "and it", "return you"))
    ]
    for line in kept:
        if line != "input_queue = asyncio.Queue()" and not line.startswith("def "):
            assert line in ours, line


def test_twisted_leaves_upload_bodies_to_django():
    """A multipart POST is not parsed by Twisted on the event loop (the whole file read into
    memory, then the email package): Daphne only hands the body on, and Django parses it."""
    from io import BytesIO
    from unittest import mock

    from daphne import http_protocol
    from twisted.internet import tcp
    from twisted.web import http
    from twisted.web.test.requesthelper import DummyChannel

    from chatproject import serve

    with (
        mock.patch.object(http_protocol, "WebRequest", http_protocol.WebRequest),
        mock.patch.object(tcp.Connection, "write", tcp.Connection.write),
    ):
        serve.install()
        assert http_protocol.WebRequest is serve.ParleyWebRequest  # what Daphne's factory builds

    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\n" + b"x" * 100_000 + b"\r\n--b--\r\n"
    )

    def received(request_class: type) -> dict:
        with mock.patch.object(http_protocol.WebRequest, "__init__", http.Request.__init__):
            request = request_class(DummyChannel())
        request.content = BytesIO(body)
        request.content.seek(0, 2)
        request.requestHeaders.setRawHeaders(b"content-type", [b"multipart/form-data; boundary=b"])
        with mock.patch.object(request_class, "process") as process:
            request.requestReceived(b"POST", b"/api/x", b"HTTP/1.1")
        assert process.called
        return request.args

    assert received(http_protocol.WebRequest) == {b"file": [b"x" * 100_000]}  # Twisted's way
    assert received(serve.ParleyWebRequest) == {}


def test_bodies_reach_the_application_in_big_pieces_unless_told_otherwise():
    """Daphne's 8 KB made a 7 MB upload 850 messages (850 turns of the event loop); 256 KB
    pieces make it 28."""
    from chatproject.serve import REQUEST_PIECE

    assert (
        ParleyServer(
            application=None, endpoints=["tcp:port=0:interface=127.0.0.1"]
        ).request_buffer_size
        == REQUEST_PIECE
    )
    assert REQUEST_PIECE >= 256 * 1024
    explicit = ParleyServer(
        application=None, endpoints=["tcp:port=0:interface=127.0.0.1"], request_buffer_size=4096
    )
    assert explicit.request_buffer_size == 4096


async def test_the_application_gets_the_body_in_the_servers_pieces_and_daphne_none():
    """create_application hands the queue Twisted's body file and the server's piece size;
    Daphne's own read of the body (into the queue) then finds nothing."""
    pieces: list[dict] = []

    async def app(scope: dict, receive, send) -> None:  # noqa: ANN001
        pieces.append(await receive())
        while pieces[-1]["more_body"]:
            pieces.append(await receive())

    server = ParleyServer(
        application=app, endpoints=["tcp:port=0:interface=127.0.0.1"], request_buffer_size=4096
    )
    body = io.BytesIO(b"x" * 10_000)
    protocol = type("Request", (), {"content": body})()
    server.connections = {protocol: {}}  # what Server.run and protocol_connected set up
    queue = server.create_application(protocol, {"type": "http"})
    assert protocol.content.read() == b""  # what Daphne then puts is empty, and dropped
    queue.put_nowait({"type": "http.request", "body": b"", "more_body": False})
    await server.connections[protocol]["application_instance"]
    assert [len(p["body"]) for p in pieces] == [4096, 4096, 1808]
