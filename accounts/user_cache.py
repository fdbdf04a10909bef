"""Users by primary key, kept in this process for USER_CACHE_TTL seconds, for token checks.

Every authenticated request and socket needs its user's row (active? is the token's version
still current?); reading it per request was 10% of a message's cost (issue 9). A hit builds a
real `User` from the cached values with no query; the password hash is never cached (it stays
deferred, so reading it costs a query).

Revocation must still apply at once, so a cached row must never outlive a change to it:

The rules every process-wide cache here follows are in chatproject/invalidation.py; for users:

- every change invalidates: `post_save`/`post_delete` of User, and `user_cache_invalidate()`
  for the `.update()` paths (token version, is_active) in `accounts.services`; at once, and
  again after the transaction commits (a reader may have refilled the entry in between);
- with REDIS_URL, the after-commit invalidation reaches every process (chatproject/invalidation.py).
"""

import time
from collections.abc import Callable
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.models import User
from chatproject.ids import parse_pk
from chatproject.invalidation import InvalidatedCache

CHANNEL = "parley:user-cache:invalidate"
CACHED_FIELDS = tuple(f.attname for f in User._meta.concrete_fields if f.attname != "password")
PRUNE_SECONDS = 60.0

Entry = tuple[float, str, tuple[Any, ...]]  # (expires at, database alias, CACHED_FIELDS values)


class UserCache(InvalidatedCache):
    """One process's cache. `ttl` and `redis_url` default to the settings, read at each use."""

    channel = CHANNEL
    label = "user cache"

    def __init__(
        self,
        *,
        ttl: float | None = None,
        redis_url: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(redis_url=redis_url, clock=clock)
        self._ttl = ttl
        self._entries: dict[Any, Entry] = {}
        self._pruned_at = clock()

    # --- reading ------------------------------------------------------------------------------

    def user(self, pk: Any) -> User | None:
        """The user with this pk (active or not), from the cache or with one query."""
        hit, epoch = self._lookup(pk)
        return hit if epoch is None else self._fill(pk, epoch)

    async def auser(self, pk: Any) -> User | None:
        """`user()` for the event loop: a hit never leaves it, a miss queries in a thread."""
        hit, epoch = self._lookup(pk)
        return hit if epoch is None else await database_sync_to_async(self._fill)(pk, epoch)

    def holds(self, pk: Any) -> bool:
        """Whether a fresh entry for `pk` is cached (for tests and diagnostics)."""
        with self._lock:
            entry = self._entries.get(pk)
            return entry is not None and entry[0] > self._clock()

    def _lookup(self, pk: Any) -> tuple[User | None, int | None]:
        """(the cached user, None) on a hit; (None, epoch to fill with) on a miss."""
        self._follow_redis_url()
        now = self._clock()
        with self._lock:
            entry = self._entries.get(pk)
            if entry is not None and entry[0] > now:
                return User.from_db(entry[1], CACHED_FIELDS, entry[2]), None
            return None, self._epoch

    def _fill(self, pk: Any, epoch: int) -> User | None:
        user = self._read(pk)
        ttl = self._ttl if self._ttl is not None else settings.USER_CACHE_TTL
        if user is None or ttl <= 0 or not self.live:
            return user
        values = tuple(getattr(user, name) for name in CACHED_FIELDS)
        now = self._clock()
        with self._lock:
            if self._epoch == epoch:  # nothing was invalidated while we read
                self._entries[pk] = (now + ttl, user._state.db, values)
            if now - self._pruned_at > PRUNE_SECONDS:
                self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
                self._pruned_at = now
        return user

    def _read(self, pk: Any) -> User | None:
        return User.objects.filter(pk=pk).first()

    def _decode(self, text: str) -> Any:
        return parse_pk(User, text)


cache = UserCache()


def user_cache_invalidate(*, user_id: Any) -> None:
    """Forget a user's cached row here at once, and in every process once the change commits."""
    cache.invalidate(user_id)

    def everywhere() -> None:
        cache.invalidate(user_id)
        cache.publish(user_id)

    transaction.on_commit(everywhere)


@receiver(post_save, sender=User, dispatch_uid="user_cache_saved")
@receiver(post_delete, sender=User, dispatch_uid="user_cache_deleted")
def _user_changed(sender: type[User], instance: User, **kwargs: Any) -> None:
    user_cache_invalidate(user_id=instance.pk)
