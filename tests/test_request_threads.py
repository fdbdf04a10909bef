"""chatproject/request_threads.py: HTTP requests borrow a thread from a pool instead of starting
one each, and the rules Django's sync code relies on still hold."""

import asyncio
import threading

import pytest
from django.core.signals import request_started
from django.db import connection
from django.http import HttpResponse
from django.urls import path

from chatproject.request_threads import ExecutorPool, PooledThreadsASGIHandler

pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db(transaction=True)]

seen: list[tuple[str, int]] = []
gate = threading.Barrier(2, timeout=5)


def _sync_view(request):  # noqa: ANN001, ANN202
    seen.append(("view", threading.get_ident()))
    if request.GET.get("wait"):
        gate.wait()  # both requests inside their views at once: each has its own thread
    connection.ensure_connection()
    return HttpResponse("ok")


urlpatterns = [path("sync", _sync_view)]


def _on_started(**kwargs) -> None:  # noqa: ANN003
    seen.append(("started", threading.get_ident()))


async def _get(handler: PooledThreadsASGIHandler, query: str = "", length: int = 0) -> int:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/sync",
        "query_string": query.encode(),
        "headers": [(b"host", b"testserver")]
        + ([(b"content-length", str(length).encode())] if length else []),
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 5000),
        "scheme": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
    }
    messages = [{"type": "http.request", "body": b"", "more_body": False}]
    done = asyncio.Event()

    async def receive() -> dict:
        if messages:
            return messages.pop(0)
        await done.wait()
        return {"type": "http.disconnect"}

    status = []

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])
        if message["type"] == "http.response.body" and not message.get("more_body"):
            done.set()

    await handler(scope, receive, send)
    return status[0]


@pytest.fixture
def watched():
    seen.clear()
    request_started.connect(_on_started)
    yield seen
    request_started.disconnect(_on_started)


async def test_requests_one_after_another_use_one_thread_not_a_new_one_each(watched):
    handler = PooledThreadsASGIHandler(ExecutorPool(idle_max=4))

    for _ in range(5):
        assert await _get(handler) == 200

    assert handler.pool.started == 1
    assert len({ident for _, ident in watched}) == 1
    assert threading.get_ident() not in {ident for _, ident in watched}  # never the loop's


async def test_requests_at_the_same_time_each_run_their_sync_code_on_a_thread_of_their_own(
    watched,
):
    handler = PooledThreadsASGIHandler(ExecutorPool(idle_max=4))

    # Would deadlock (the barrier times out, 500) if the two views shared a thread.
    assert await asyncio.gather(_get(handler, "wait=1"), _get(handler, "wait=1")) == [200, 200]

    views = [ident for what, ident in watched if what == "view"]
    assert len(set(views)) == 2
    for ident in views:  # each request's signal receiver ran on its own request's thread
        assert ("started", ident) in watched


async def test_after_a_burst_the_pool_keeps_only_idle_max_threads():
    handler = PooledThreadsASGIHandler(ExecutorPool(idle_max=1))

    assert await asyncio.gather(_get(handler, "wait=1"), _get(handler, "wait=1")) == [200, 200]

    assert handler.pool.started == 2
    assert len(handler.pool.idle) == 1


async def test_an_upload_gets_a_thread_of_its_own_that_is_not_lent_again(watched):
    """Its malloc arena would keep the upload's peak in a thread that lives on."""
    from chatproject.request_threads import LARGE_BODY

    handler = PooledThreadsASGIHandler(ExecutorPool(idle_max=4))
    assert await _get(handler) == 200  # a small request: its thread goes back to the pool
    assert len(handler.pool.idle) == 1

    for _ in range(2):  # the declared size decides, whatever the body turns out to be
        assert await _get(handler, length=LARGE_BODY + 1) == 200

    assert handler.pool.started == 3
    assert len(handler.pool.idle) == 1  # neither upload's thread was kept


async def test_a_body_twisted_wrote_is_parsed_where_it_lies_not_copied():
    """Under chatproject.serve the body Twisted spooled is the file Django reads: no second
    copy of every upload on the event loop. Any other server's pieces are copied as Django
    does."""
    import io
    import tempfile

    from chatproject.serve import InputQueue

    handler = PooledThreadsASGIHandler()
    spooled = tempfile.TemporaryFile()  # noqa: SIM115 - the request closes it
    spooled.write(b"x" * 300_000)
    queue = InputQueue()
    queue.read_body_from(spooled)
    body = await handler.read_body(queue.get)
    assert body is spooled and body.tell() == 0

    started = InputQueue()  # a body the application began to read comes in pieces
    started.read_body_from(io.BytesIO(b"y" * 600_000))
    first = await started.get()
    assert started.take_body() is None and first["more_body"]

    pieces = iter(
        [
            {"type": "http.request", "body": b"ab", "more_body": True},
            {"type": "http.request", "body": b"c"},
        ]
    )

    async def receive() -> dict:
        return next(pieces)

    copied = await handler.read_body(receive)
    assert copied.read() == b"abc"
