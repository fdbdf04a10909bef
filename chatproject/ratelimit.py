"""Fixed-window counters in Django's cache (locmem by default, Redis when REDIS_URL is set)."""

import functools
import hashlib
import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache

logger = logging.getLogger(__name__)
T = TypeVar("T")


def _fail_open(func: Callable[..., T]) -> Callable[..., T | None]:
    """A cache outage (Redis restarting) must not turn every send or login into a 500.

    Limits are a guard, not a gate: while the cache is unreachable requests go through
    uncounted, and the outage is logged.
    """

    @functools.wraps(func)
    def wrapper(*args: object, **kwargs: object) -> T | None:
        try:
            return func(*args, **kwargs)
        except Exception as exc:  # any cache backend error: connection refused, timeout...
            logger.warning("rate limit cache unavailable, not limiting: %s", exc)
            return None

    return wrapper


def _window(window: int) -> tuple[int, int]:
    """(now, start of the current window), in whole seconds."""
    now = int(time.time())
    return now, now - now % window


def _cache_key(key: str, window_start: int) -> str:
    # Keys carry user input (a login email can be any length or byte): hashing keeps
    # them short and valid for every cache backend.
    return f"rl:{hashlib.sha256(key.encode()).hexdigest()[:40]}:{window_start}"


@_fail_open
def rate_limit_hit(key: str, *, limit: int, window: int) -> int | None:
    """Count a hit; seconds to wait when `key` is over `limit` in this window, else None."""
    now, window_start = _window(window)
    cache_key = _cache_key(key, window_start)
    incr_window = getattr(cache, "incr_window", None)  # Redis: one round trip
    if incr_window is not None:
        count = incr_window(cache_key, timeout=window + 1)
    else:
        cache.add(cache_key, 0, timeout=window + 1)
        try:
            count = cache.incr(cache_key)
        except ValueError:  # expired between add and incr
            cache.set(cache_key, 1, timeout=window + 1)
            count = 1
    if count > limit:
        return max(1, window_start + window - now)
    return None


@_fail_open
def rate_limit_peek(key: str, *, limit: int, window: int) -> int | None:
    """Like rate_limit_hit without counting: seconds to wait if `key` is already over `limit`."""
    now, window_start = _window(window)
    if (cache.get(_cache_key(key, window_start)) or 0) >= limit:
        return max(1, window_start + window - now)
    return None


@_fail_open
def rate_limit_peek_many(limits: dict[str, int], *, window: int) -> int | None:
    """`rate_limit_peek` for several keys (key -> limit) in one cache read: the wait, if any."""
    now, window_start = _window(window)
    cache_keys = {_cache_key(key, window_start): limit for key, limit in limits.items()}
    counts = cache.get_many(list(cache_keys))
    if any((counts.get(cache_key) or 0) >= limit for cache_key, limit in cache_keys.items()):
        return max(1, window_start + window - now)
    return None


@_fail_open
def rate_limit_reset(key: str, *, window: int) -> None:
    """Forget the hits counted for `key` in the current window."""
    _, window_start = _window(window)
    cache.delete(_cache_key(key, window_start))
