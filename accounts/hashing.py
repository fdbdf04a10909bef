"""Password hashing on a bounded, process-wide pool of PASSWORD_HASH_WORKERS threads.

bcrypt costs about 0.2 s of a core per hash, and under ASGI every sync request runs in its own
thread: twenty logins at once would hash on every core at once and starve the chat on the event
loop. Every hash and check in the app goes through Django's hashers (login API and page, sign-up,
password change, the admin's backend and forms, the dummy hash for an unknown email), so the
hashers below hand their work to this pool: at most PASSWORD_HASH_WORKERS cores hash at once,
callers wait their turn (bcrypt releases the GIL, so the loop runs meanwhile), and when more
than PASSWORD_HASH_QUEUE_MAX are already waiting the next one is refused with 503 and
Retry-After instead of queueing for minutes.
"""

import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.hashers import BCryptSHA256PasswordHasher, PBKDF2PasswordHasher

from chatproject.errors import ServiceError

T = TypeVar("T")

PASSWORD_HASHING_BUSY = "Too many logins at once, please try again in a few seconds"
BUSY_RETRY_AFTER = 5  # seconds; a full line of 64 bcrypt hashes on one core takes about 13

_on_pool = threading.local()  # `.active` while a pool thread runs a hash


class PasswordHashingBusy(ServiceError):
    def __init__(self) -> None:
        super().__init__(PASSWORD_HASHING_BUSY, status=503, retry_after=BUSY_RETRY_AFTER)


class PasswordPool:
    """`workers` threads hashing; at most `queue_max` callers waiting for them."""

    def __init__(self, *, workers: int, queue_max: int) -> None:
        self.workers = max(1, workers)
        self.queue_max = max(0, queue_max)
        self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="password-hash")
        self._lock = threading.Lock()
        self._pending = 0  # submitted and not finished
        self._running = 0

    @property
    def running(self) -> int:
        return self._running

    @property
    def waiting(self) -> int:
        with self._lock:
            return self._pending - self._running

    def run(self, func: Callable[[], T]) -> T:
        """`func()` on the pool, waited for; raises PasswordHashingBusy when the line is full."""
        if getattr(_on_pool, "active", False):
            return func()  # already on the pool (a check encodes): waiting for itself would hang
        with self._lock:
            if self._pending + 1 - self.workers > self.queue_max:
                raise PasswordHashingBusy()
            self._pending += 1
        try:
            future = self._executor.submit(self._call, func)
        except BaseException:
            with self._lock:
                self._pending -= 1
            raise
        return future.result()

    def _call(self, func: Callable[[], T]) -> T:
        with self._lock:
            self._running += 1
        _on_pool.active = True
        try:
            return func()
        finally:
            _on_pool.active = False
            with self._lock:
                self._running -= 1
                self._pending -= 1

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True)


password_pool = PasswordPool(
    workers=settings.PASSWORD_HASH_WORKERS, queue_max=settings.PASSWORD_HASH_QUEUE_MAX
)


class PooledHasherMixin:
    """Run a Django hasher's encode and verify on `password_pool`."""

    def encode(self, password: str, salt: str, *args: Any, **kwargs: Any) -> str:
        return password_pool.run(functools.partial(super().encode, password, salt, *args, **kwargs))

    def verify(self, password: str, encoded: str) -> bool:
        return password_pool.run(functools.partial(super().verify, password, encoded))


class PooledBCryptSHA256PasswordHasher(PooledHasherMixin, BCryptSHA256PasswordHasher):
    """Django's bcrypt_sha256 (same stored format), hashed on the pool."""


class PooledPBKDF2PasswordHasher(PooledHasherMixin, PBKDF2PasswordHasher):
    """Django's pbkdf2_sha256 (same stored format, for older hashes), hashed on the pool."""
