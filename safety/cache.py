"""Who is in a block with whom, kept in this process so the hot paths pay no query for it.

Every send to a person, typing frame, presence change and online list asks "is there a block
between these two?". The answer per user (whom they block, who blocks them) is cached here:
a hit is a dict lookup. The rules of every process-wide cache here
(chatproject/invalidation.py), on a Redis channel of its own:

- a block or unblock drops both people's entries at once, and again after the commit in every
  process (published on CHANNEL with REDIS_URL; each process listens on a daemon thread);
- while that subscription is down nothing is cached (every check queries) and the cache is
  cleared both when it breaks and when it comes back;
- an entry read before an invalidation is not stored after it (an epoch counter);
- entries live BLOCK_CACHE_TTL seconds at most and at most BLOCK_CACHE_SIZE are kept (least
  recently used dropped first), so memory is bounded whatever the number of users.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction

from accounts.models import User
from chatproject.ids import parse_pk
from chatproject.invalidation import InvalidatedCache

CHANNEL = "parley:block-cache:invalidate"


@dataclass(frozen=True)
class BlockSet:
    """One user's blocks, as string pks: whom they block, and who blocks them."""

    blocking: frozenset[str]
    blocked_by: frozenset[str]

    @property
    def either(self) -> frozenset[str]:
        """Everyone in a block with this user, whichever way."""
        return self.blocking | self.blocked_by


EMPTY = BlockSet(frozenset(), frozenset())


def _read(pk: Any) -> BlockSet:
    from safety.selectors import block_rows_qs

    blocking, blocked_by = set(), set()
    for blocker, blocked in block_rows_qs(user_id=pk):
        if blocker == pk:
            blocking.add(str(blocked))
        else:
            blocked_by.add(str(blocker))
    return BlockSet(frozenset(blocking), frozenset(blocked_by))


class BlockCache(InvalidatedCache):
    """One process's cache. `ttl`, `size` and `redis_url` default to the settings."""

    channel = CHANNEL
    label = "block cache"

    def __init__(
        self,
        *,
        ttl: float | None = None,
        size: int | None = None,
        redis_url: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(redis_url=redis_url, clock=clock)
        self._ttl, self._size = ttl, size
        self._entries: OrderedDict[str, tuple[float, BlockSet]] = OrderedDict()
        self.misses = 0  # reads that went to the database (tests, diagnostics)

    # --- reading ------------------------------------------------------------------------------

    def blocks_of(self, user_id: Any) -> BlockSet:
        """`user_id`'s blocks, from the cache or with one query."""
        key, hit, epoch = self._lookup(user_id)
        return hit if hit is not None else self._fill(key, epoch)

    async def ablocks_of(self, user_id: Any) -> BlockSet:
        """`blocks_of` for the event loop: a hit never leaves it, a miss reads on the reader
        thread (messaging/writer.py), like the presence contacts."""
        from messaging.writer import aread  # the realtime side's reader: a connection kept open

        key, hit, epoch = self._lookup(user_id)
        if hit is not None:
            return hit
        return await aread(self._fill, key, epoch)

    def between(self, first: Any, second: Any) -> bool:
        """Whether either of the two blocks the other."""
        return str(second) in self.blocks_of(first).either

    def _lookup(self, user_id: Any) -> tuple[str, BlockSet | None, int]:
        self._follow_redis_url()
        key, now = str(user_id), self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] > now:
                self._entries.move_to_end(key)
                return key, entry[1], self._epoch
            return key, None, self._epoch

    def _fill(self, key: str, epoch: int) -> BlockSet:
        pk = parse_pk(User, key)
        if pk is None:
            return EMPTY
        self.misses += 1
        found = _read(pk)
        ttl = self._ttl if self._ttl is not None else settings.BLOCK_CACHE_TTL
        size = self._size if self._size is not None else settings.BLOCK_CACHE_SIZE
        if ttl <= 0 or not self.live:
            return found
        with self._lock:
            if self._epoch == epoch:  # nothing was invalidated while we read
                self._entries[key] = (self._clock() + ttl, found)
                self._entries.move_to_end(key)
                while len(self._entries) > size:
                    self._entries.popitem(last=False)
        return found

    def holds(self, user_id: Any) -> bool:
        with self._lock:
            entry = self._entries.get(str(user_id))
            return entry is not None and entry[0] > self._clock()

    def _entry_key(self, key: Any) -> str:
        return str(key)


cache = BlockCache()


def block_cache_invalidate(*user_ids: Any) -> None:
    """Forget these users' blocks here at once, and in every process once the change commits."""
    for user_id in user_ids:
        cache.invalidate(user_id)

    def everywhere() -> None:
        for user_id in user_ids:
            cache.invalidate(user_id)
            cache.publish(user_id)

    transaction.on_commit(everywhere)


def blocks_of(user_id: Any) -> BlockSet:
    return cache.blocks_of(user_id)


async def ablocks_of(user_id: Any) -> BlockSet:
    return await cache.ablocks_of(user_id)


def blocked_between(first: Any, second: Any) -> bool:
    return cache.between(first, second)
