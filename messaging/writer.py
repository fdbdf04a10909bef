"""The hot path's database writer: one thread, one persistent connection, group commit.

Under ASGI every sync request runs in a thread of its own, so Django opens and closes a database
connection per request (CONN_MAX_AGE would leak one per thread), and every send was a
transaction of its own. Chat writes (a message, a delivery receipt) go instead to this thread,
which keeps its connection for the life of the process and runs whatever jobs are waiting as one
transaction, each job in a savepoint of its own so one failing job (a duplicate clientId) does
not undo the others: the more that arrive at once, the fewer commits per message.

A job is a plain sync function; it must not announce anything (no `transaction.on_commit`): it
returns what happened, and the caller announces it once `run` returns, which is after the commit.

`DATABASE_WRITER_THREAD = False` (the test settings) runs jobs inline instead, in the caller's
thread and transaction, so tests that wrap each test in a transaction still see their rows.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, connection, transaction

logger = logging.getLogger(__name__)
T = TypeVar("T")

BATCH_MAX = 256  # jobs per transaction: bounds how long one commit keeps the others waiting


class WriterBusy(Exception):
    """More jobs are waiting than WRITER_QUEUE_MAX: the caller should refuse (503)."""


class _Job:
    __slots__ = ("func", "args", "future")

    def __init__(self, func: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.func = func
        self.args = args
        self.future: Future[Any] = Future()


class DatabaseWriter:
    """A daemon thread running submitted jobs in batched transactions (or, for a reader, one
    after the other without a transaction: reads on a connection that stays open)."""

    def __init__(self, max_waiting: int, *, transactional: bool = True) -> None:
        self.max_waiting = max_waiting
        self.transactional = transactional
        self._queue: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.batches = 0  # transactions committed (for tests and stats)
        self.jobs = 0

    def submit(self, func: Callable[..., T], *args: Any) -> Future[T]:
        """Queue `func(*args)`; its future resolves after the transaction holding it commits."""
        if self._queue.qsize() >= self.max_waiting:
            raise WriterBusy(f"{self.max_waiting} writes already waiting")
        job = _Job(func, args)
        self._ensure_thread()
        self._queue.put(job)
        return job.future

    async def run(self, func: Callable[..., T], *args: Any) -> T:
        """Await `func(*args)`, committed."""
        return await asyncio.wrap_future(self.submit(func, *args))

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="parley-db-writer", daemon=True
                )
                self._thread.start()

    def _loop(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < BATCH_MAX:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._run_batch(batch)

    def _run_batch(self, batch: list[_Job]) -> None:
        batch = [job for job in batch if job.future.set_running_or_notify_cancel()]
        if not self.transactional:
            for job in batch:
                self._read(job)
            return
        try:
            results = self._transaction(batch)
        except Exception as exc:  # the commit failed: a deferred constraint, disk, lock timeout
            self._recover_connection()
            if len(batch) == 1:
                logger.warning("database writer: a write failed at commit: %r", exc)
                batch[0].future.set_exception(exc)
                return
            # Nothing of the batch was kept. Deferred foreign keys are only checked at commit,
            # so one bad job fails them all: run each again alone, so only that one fails.
            logger.warning("database writer: batch of %d failed (%r); one by one", len(batch), exc)
            for job in batch:
                self._run_alone(job)
            return
        self.batches += 1
        self.jobs += len(results)
        for job, result, error in results:
            if error is None:
                job.future.set_result(result)
            else:
                job.future.set_exception(error)

    def _transaction(self, batch: list[_Job]) -> list[tuple[_Job, Any, BaseException | None]]:
        results: list[tuple[_Job, Any, BaseException | None]] = []
        with transaction.atomic():
            for job in batch:
                try:
                    with transaction.atomic():  # a savepoint: a failed job undoes only itself
                        results.append((job, job.func(*job.args), None))
                except Exception as exc:  # handed to the caller, who knows what it means
                    results.append((job, None, exc))
        return results

    def _run_alone(self, job: _Job) -> None:
        try:
            [(_, result, error)] = self._transaction([job])
        except Exception as exc:
            self._recover_connection()
            job.future.set_exception(exc)
            return
        self.batches += 1
        self.jobs += 1
        if error is None:
            job.future.set_result(result)
        else:
            job.future.set_exception(error)

    def _read(self, job: _Job) -> None:
        try:
            result = job.func(*job.args)
        except Exception as exc:
            if not connection.is_usable():
                self._recover_connection()
            job.future.set_exception(exc)
            return
        self.jobs += 1
        job.future.set_result(result)

    @staticmethod
    def _recover_connection() -> None:
        # A broken connection is replaced before the next transaction.
        close_old_connections()
        if connection.connection is not None and not connection.is_usable():
            connection.close()


_threads: dict[str, DatabaseWriter] = {}
_threads_lock = threading.Lock()


def _thread(kind: str) -> DatabaseWriter:
    worker = _threads.get(kind)
    if worker is None:
        with _threads_lock:
            worker = _threads.get(kind)
            if worker is None:
                worker = _threads[kind] = DatabaseWriter(
                    max_waiting=settings.WRITER_QUEUE_MAX, transactional=kind == "writer"
                )
    return worker


def database_writer() -> DatabaseWriter:
    """This process's writer (started on first use)."""
    return _thread("writer")


def database_reader() -> DatabaseWriter:
    """This process's reader for the realtime side (contacts, presence): its own connection,
    so reads never wait behind a commit and never hold the write lock."""
    return _thread("reader")


def _inline(func: Callable[..., T], *args: Any) -> T:
    with transaction.atomic():
        return func(*args)


def write(func: Callable[..., T], *args: Any) -> T:
    """Run a write job from sync code and wait for its commit."""
    if not settings.DATABASE_WRITER_THREAD:
        return _inline(func, *args)
    return database_writer().submit(func, *args).result()


async def aread(func: Callable[..., T], *args: Any) -> T:
    """Run a read job from async code on the reader thread."""
    if not settings.DATABASE_WRITER_THREAD:
        return await sync_to_async(func)(*args)
    return await database_reader().run(func, *args)


async def awrite(func: Callable[..., T], *args: Any) -> T:
    """Run a write job from async code; returns once it is committed."""
    if not settings.DATABASE_WRITER_THREAD:
        return await sync_to_async(_inline)(func, *args)
    return await database_writer().run(func, *args)
