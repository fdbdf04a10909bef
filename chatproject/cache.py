"""Django's Redis cache with one client per process instead of one per request, and counters
in one round trip.

Django keeps cache objects in an `asgiref.local.Local`, which is per async context: under ASGI
every request builds a new RedisCache, connection pool and TCP connection to Redis, and the
rate limits touch the cache on every send and login (measured ~10% of a message's CPU).
redis-py clients and their pools are thread-safe, so one per configuration is shared.
"""

import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache
from django.utils.functional import cached_property

_clients: dict[tuple[str, ...], Any] = {}
_clients_lock = threading.Lock()


class SharedRedisCache(RedisCache):
    @cached_property
    def _cache(self) -> Any:
        key = (*self._servers, repr(sorted(self._options.items())))
        with _clients_lock:
            if key not in _clients:
                _clients[key] = self._class(self._servers, **self._options)
            return _clients[key]

    def incr_window(self, key: str, *, timeout: int) -> int:
        """Add one to the counter `key`, created with `timeout` if missing; one round trip.

        Django's add() + incr() take three (SET NX, EXISTS, INCR). The counter is a plain Redis
        integer, which Django's serializer reads back as an int (`get`, `get_many`).
        """
        key = self.make_and_validate_key(key)
        pipe = self._cache.get_client(key, write=True).pipeline(transaction=True)
        pipe.set(key, 0, ex=timeout, nx=True)
        pipe.incr(key)
        return pipe.execute()[1]
