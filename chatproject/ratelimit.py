"""Fixed-window counters in Django's cache (locmem by default, Redis when REDIS_URL is set)."""

import time

from django.core.cache import cache


def rate_limit_hit(key: str, *, limit: int, window: int) -> int | None:
    """Count a hit; seconds to wait when `key` is over `limit` in this window, else None."""
    now = int(time.time())
    window_start = now - now % window
    cache_key = f"rl:{key}:{window_start}"
    cache.add(cache_key, 0, timeout=window + 1)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=window + 1)
        count = 1
    if count > limit:
        return max(1, window_start + window - now)
    return None


def rate_limit_peek(key: str, *, limit: int, window: int) -> int | None:
    """Like rate_limit_hit without counting: seconds to wait if `key` is already over `limit`."""
    now = int(time.time())
    window_start = now - now % window
    if (cache.get(f"rl:{key}:{window_start}") or 0) >= limit:
        return max(1, window_start + window - now)
    return None


def rate_limit_reset(key: str, *, window: int) -> None:
    now = int(time.time())
    cache.delete(f"rl:{key}:{now - now % window}")
