"""Fixed-window counters kept in this process, for limits that need no agreement between processes.

A chat send or a WebSocket frame is counted here, not in Redis: a round trip per message cost
more than the rest of the check (issue 9's profile: 3 Redis commands were 5% of a send). The
price is that with N server processes a user whose requests are spread over all of them can
reach N times the limit; the limits here are spam brakes, not security boundaries. Credential
checks (accounts/limits.py) stay in the shared cache, where exactness matters.
"""

import threading
import time


class LocalWindows:
    """Counters per (key, window start); thread-safe (request threads and the event loop)."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()
        self._pruned_at = 0.0

    def hit(self, key: str, *, limit: int, window: int, now: float | None = None) -> int | None:
        """Count one; seconds to wait when `key` is over `limit` in this window, else None."""
        now = time.time() if now is None else now
        start = int(now) - int(now) % window
        with self._lock:
            if now - self._pruned_at > 60:
                self._prune(now)
            count = self._counts.get((key, start), 0) + 1
            self._counts[(key, start)] = count
        if count > limit:
            return max(1, start + window - int(now))
        return None

    def refund(self, key: str, *, window: int, now: float | None = None) -> None:
        """Take back one hit (it turned out not to be a new message: a retry)."""
        now = time.time() if now is None else now
        start = int(now) - int(now) % window
        with self._lock:
            count = self._counts.get((key, start), 0)
            if count > 1:
                self._counts[(key, start)] = count - 1
            else:
                self._counts.pop((key, start), None)

    def _prune(self, now: float) -> None:
        # Windows are at most an hour here; anything older than that is finished.
        self._counts = {k: v for k, v in self._counts.items() if k[1] > now - 3600}
        self._pruned_at = now

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()


local_windows = LocalWindows()
