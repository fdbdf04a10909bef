"""At most IMAGE_DECODE_CONCURRENCY image decodes (and a few file uploads) at once per process.

Decoding is where an upload costs memory (up to the decode budget, tens of megabytes) and
CPU; a burst of uploads queues here instead of multiplying that cost. Under ASGI every
synchronous request runs in a thread of its own, so a thread semaphore is what bounds them; the
event loop never waits on it. A request that gets no slot within IMAGE_DECODE_WAIT seconds gives
up with 503 and Retry-After rather than piling up behind the queue. When the last request
holding or waiting for a slot leaves, the memory the burst freed goes back to the OS.

Large file attachments take a slot too, from a pool of their own
(ATTACHMENT_UPLOAD_CONCURRENCY), held while Django parses the body and the file is checked and
stored: that is Python work on the GIL, and thirty-two at once left chat a thirty-third of it.

A large upload takes its slot before its body is read (`DecodeSlotMiddleware`): waiting with
a parsed body, it would hold the base64 text twice (~14 MB for a 5 MB picture), and a burst of
32 of them would cost more than the decodes themselves. The decode then uses that slot and gives
it back as soon as the picture is decoded, before the upload to storage.
"""

import asyncio
import logging
import math
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from chatproject.errors import ServiceError
from chatproject.memory import memory_trim

logger = logging.getLogger(__name__)

DECODE_BUSY = "Too many pictures are being processed right now, please try again in a moment"
FILES_BUSY = "Too many files are being uploaded right now, please try again in a moment"
# Only image uploads are this big: a 5,000-character message is at most ~30 KB of JSON.
LARGE_BODY = 256 * 1024
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH"})
# File attachments are streamed to disk and never decoded: they take a file slot, not a
# picture's (a burst of them must not make picture uploads wait, nor be refused as "too many
# pictures").
NO_PICTURE_UPLOADS = re.compile(r"^/api/conversations/[^/]+/attachments/?$")


class _Slots:
    """One semaphore per process, rebuilt if the setting changes (tests, reconfiguration).

    It also counts the requests holding or waiting for a slot: when the last one leaves, the
    burst is over and the memory it freed is handed back to the OS.
    """

    def __init__(self, size_setting: str, busy: str) -> None:
        self._size_setting = size_setting
        self._busy = busy
        self._lock = threading.Lock()
        self._size = 0
        self._semaphore = threading.BoundedSemaphore(1)
        self._users = 0

    def acquire(self) -> threading.BoundedSemaphore:
        """A held slot (its semaphore, to release); 503 when none frees in time."""
        with self._lock:
            size = max(1, getattr(settings, self._size_setting))
            if size != self._size:
                # Holders of the old semaphore release it, not this one: no slot is miscounted.
                self._size, self._semaphore = size, threading.BoundedSemaphore(size)
            semaphore = self._semaphore
            self._users += 1
        wait = settings.IMAGE_DECODE_WAIT
        if not semaphore.acquire(timeout=wait):
            self._leave()
            logger.warning("no %s slot free within %ss: upload refused", self._size_setting, wait)
            # A queue that did not move for `wait` seconds will not be empty much sooner.
            raise ServiceError(self._busy, status=503, retry_after=max(1, math.ceil(wait)))
        return semaphore

    def release(self, semaphore: threading.BoundedSemaphore) -> None:
        semaphore.release()
        self._leave()

    def _leave(self) -> None:
        with self._lock:
            self._users -= 1
            last = self._users == 0
        if last:
            memory_trim()


@dataclass
class _Reservation:
    """A slot a request took before its body was read, for its decode to use."""

    semaphore: threading.BoundedSemaphore
    used: bool = False  # handed to a decode, which gives it back


_slots = _Slots("IMAGE_DECODE_CONCURRENCY", DECODE_BUSY)
# A file upload holds one of these while Django parses its body and it is checked and stored.
# Parsing is Python work on the GIL: thirty-two at once left chat requests a thirty-third of it
# (3 s p99 in bench/uploads.py). Pictures have their own slots and never wait for these.
_file_slots = _Slots("ATTACHMENT_UPLOAD_CONCURRENCY", FILES_BUSY)
# Threads that wait for a slot for an async request. Not the event loop's default executor: a
# burst of waiting uploads there would hold up static files and file downloads for seconds.
_waiting = ThreadPoolExecutor(max_workers=64, thread_name_prefix="parley-upload-wait")
_reserved: ContextVar[_Reservation | None] = ContextVar("reserved_decode_slot", default=None)


@contextmanager
def decode_slot() -> Iterator[None]:
    """Hold one of this process's decode slots for the block; 503 when none frees in time.

    The slot is the one the request reserved before its body was read, if it did.
    """
    reservation = _reserved.get()
    if reservation is not None and not reservation.used:
        reservation.used = True
        semaphore = reservation.semaphore
    else:
        semaphore = _slots.acquire()
    try:
        yield
    finally:
        _slots.release(semaphore)


@contextmanager
def decode_slot_reserved() -> Iterator[None]:
    """Take a decode slot now for a decode later in the block (released then, or at the end)."""
    reservation = _Reservation(_slots.acquire())
    token = _reserved.set(reservation)
    try:
        yield
    finally:
        _reserved.reset(token)
        if not reservation.used:  # no picture was decoded: a name change, a refusal...
            _slots.release(reservation.semaphore)


class DecodeSlotMiddleware:
    """Large uploads wait for a slot before their body is read (see the module doc): a picture
    decode slot, or a file upload slot for attachments.

    Sync and async: under ASGI every other request passes on the event loop untouched (a
    sync-only middleware would send every request, chat sends included, through a thread);
    a large upload waits for its slot in a thread, so the loop never blocks on the semaphore.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self.is_async:
            return self.__acall__(request)
        slots = _upload_kind(request)
        if slots is None:
            return self.get_response(request)
        with ExitStack() as stack:
            try:
                if slots is _file_slots:
                    stack.callback(_file_slots.release, _file_slots.acquire())
                else:
                    stack.enter_context(decode_slot_reserved())
            except ServiceError as busy:
                return _busy(request, busy)
            try:
                return self.get_response(request)
            finally:
                _drop_body(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        slots = _upload_kind(request)
        if slots is None:
            return await self.get_response(request)
        try:
            semaphore = await asyncio.get_running_loop().run_in_executor(_waiting, slots.acquire)
        except ServiceError as busy:
            return _busy(request, busy)
        if slots is _file_slots:
            try:
                return await self.get_response(request)
            finally:
                _file_slots.release(semaphore)
                _drop_body(request)
        reservation = _Reservation(semaphore)
        token = _reserved.set(reservation)  # the view's threads inherit this context
        try:
            return await self.get_response(request)
        finally:
            _reserved.reset(token)
            if not reservation.used:
                _slots.release(reservation.semaphore)
            _drop_body(request)


def _upload_kind(request: HttpRequest) -> _Slots | None:
    """The slots a large upload waits for: a file's, or a picture's; None for the rest."""
    if request.method not in WRITE_METHODS or _content_length(request) <= LARGE_BODY:
        return None
    return _file_slots if NO_PICTURE_UPLOADS.match(request.path) else _slots


def _drop_body(request: HttpRequest) -> None:
    # Django's messages framework ties each request into a reference cycle, so the request and
    # the body it cached live until the garbage collector's next full pass, long after the
    # response: a burst would keep every body.
    request.__dict__.pop("_body", None)


def _busy(request: HttpRequest, error: ServiceError) -> HttpResponse:
    """503 without reading the body: JSON for the API, plain text for a form post."""
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"message": error.message}, status=503)
    else:
        response = HttpResponse(error.message, status=503, content_type="text/plain")
    response["Retry-After"] = str(error.retry_after)
    return response


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0
