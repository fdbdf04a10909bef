"""Django's ASGI handler with request threads used again, not started anew for every request.

Django serves each HTTP request inside an asgiref `ThreadSensitiveContext`, and asgiref gives
every such context a new one-thread executor. Django's own `request_started` and
`request_finished` receivers are sync, so every request, even to an async view, starts a thread,
and the event loop waits for it to start (`Thread.start` blocks until the new thread runs).
Profiled with REST sends at 60/s on a busy 2-core machine (`python -m bench.profile --mode
rest`), that wait was a tenth of the event loop's samples, and sends timed out behind it.

asgiref lets the caller give a context its executor; this handler lends each request a
one-thread executor from a pool and takes it back when the request is done. An upload (a body
over LARGE_BODY) still gets a thread of its own that ends with it, as in stock Django. What
Django relies on stays true: all sync code of a request runs on one thread, and a thread serves
one request at a time. Database connections behave as under a threaded WSGI server:
`request_finished` closes them on the request's thread as CONN_MAX_AGE says, and an executor
the pool does not keep closes its thread's connections before it goes.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any

from asgiref.sync import ThreadSensitiveContext
from django.core.handlers.asgi import ASGIHandler
from django.db import connections

# What counts as an upload: the size past which a body waits for a picture decode slot too.
from chatproject.image_slots import LARGE_BODY

IDLE_MAX = 16  # idle request threads kept; a burst beyond that starts threads as Django does


class ExecutorPool:
    """One-thread executors to lend. Used from the event loop's thread only."""

    def __init__(self, idle_max: int = IDLE_MAX) -> None:
        self.idle_max = idle_max
        self.idle: list[ThreadPoolExecutor] = []
        self.started = 0  # executors ever made (for tests and stats)

    def take(self) -> ThreadPoolExecutor:
        if self.idle:
            return self.idle.pop()
        return self.make()

    def make(self) -> ThreadPoolExecutor:
        self.started += 1
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="parley-request")

    def give_back(self, executor: ThreadPoolExecutor) -> None:
        if len(self.idle) < self.idle_max:
            self.idle.append(executor)
            return
        self.retire(executor)

    @staticmethod
    def retire(executor: ThreadPoolExecutor) -> None:
        executor.submit(connections.close_all)  # after whatever that thread still runs
        executor.shutdown(wait=False)


class PooledThreadsASGIHandler(ASGIHandler):
    """`django.core.handlers.asgi.ASGIHandler` whose requests borrow their thread."""

    def __init__(self, pool: ExecutorPool | None = None) -> None:
        super().__init__()
        self.pool = pool or ExecutorPool()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":  # as Django's own __call__ says it
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        # An upload's thread is not lent again: its malloc arena would keep the upload's peak
        # (bench/uploads.py: 32 avatars at once peaked at 400 MB lent, 300 MB not).
        lent = _declared_length(scope) <= LARGE_BODY
        executor = self.pool.take() if lent else self.pool.make()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            if lent:
                self.pool.give_back(executor)
            else:
                self.pool.retire(executor)

    async def read_body(self, receive: Any) -> IO[bytes]:
        """The body file Twisted already wrote, under `python -m chatproject.serve`
        (`InputQueue.take_body`); else Django's copy of the pieces `receive` hands over.

        Django's own way copies every body into a file of its own on the event loop: for
        thirty-two 20 MB uploads at once, 640 MB written again while every socket waited.
        """
        body = _body_file_of(receive)
        if body is not None:
            return body
        return await super().read_body(receive)


def _body_file_of(receive: Any) -> IO[bytes] | None:
    queue = getattr(receive, "__self__", None)  # `receive` is the queue's bound `get`
    take_body = getattr(queue, "take_body", None)
    return take_body() if take_body is not None else None


def _declared_length(scope: dict[str, Any]) -> int:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0
