"""At most IMAGE_DECODE_CONCURRENCY image decodes at once in this process.

Decoding is where an upload costs memory (up to the decode budget, tens of megabytes) and
CPU; a burst of uploads queues here instead of multiplying that cost. Under ASGI every
synchronous request runs in a thread of its own, so a thread semaphore is what bounds them; the
event loop never waits on it. A request that gets no slot within IMAGE_DECODE_WAIT seconds gives
up with 503 and Retry-After rather than piling up behind the queue.
"""

import logging
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from chatproject.errors import ServiceError

logger = logging.getLogger(__name__)

DECODE_BUSY = "Too many pictures are being processed right now, please try again in a moment"


class _Slots:
    """One semaphore per process, rebuilt if the setting changes (tests, reconfiguration)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._size = 0
        self._semaphore = threading.BoundedSemaphore(1)

    def semaphore(self) -> threading.BoundedSemaphore:
        size = max(1, settings.IMAGE_DECODE_CONCURRENCY)
        with self._lock:
            if size != self._size:
                # Holders of the old semaphore release it, not this one: no slot is miscounted.
                self._size, self._semaphore = size, threading.BoundedSemaphore(size)
            return self._semaphore


_slots = _Slots()


@contextmanager
def decode_slot() -> Iterator[None]:
    """Hold one of this process's decode slots for the block; 503 when none frees in time."""
    semaphore = _slots.semaphore()
    wait = settings.IMAGE_DECODE_WAIT
    if not semaphore.acquire(timeout=wait):
        logger.warning("no image decode slot free within %ss: upload refused with 503", wait)
        # A queue that did not move for `wait` seconds will not be empty much sooner.
        raise ServiceError(DECODE_BUSY, status=503, retry_after=max(1, math.ceil(wait)))
    try:
        yield
    finally:
        semaphore.release()
