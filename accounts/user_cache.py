"""Users by primary key, kept in this process for USER_CACHE_TTL seconds, for token checks.

Every authenticated request and socket needs its user's row (active? is the token's version
still current?); reading it per request was 10% of a message's cost (issue 9). A hit builds a
real `User` from the cached values with no query; the password hash is never cached (it stays
deferred, so reading it costs a query).

Revocation must still apply at once, so a cached row must never outlive a change to it:

- every change invalidates: `post_save`/`post_delete` of User, and `user_cache_invalidate()`
  for the `.update()` paths (token version, is_active) in `accounts.services`; at once, and
  again after the transaction commits (a reader may have refilled the entry in between);
- with REDIS_URL, the after-commit invalidation is published on a Redis channel, and every
  process listens on a daemon thread and drops its entry;
- a process caches only while that subscription is up: when it breaks, the whole cache is
  cleared at once and nothing is stored until it is subscribed again (whatever was published
  meanwhile is lost), reconnecting with back-off;
- a row read before an invalidation is not stored after it (an epoch counter).
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from redis.backoff import NoBackoff
from redis.retry import Retry

from accounts.models import User
from chatproject.ids import parse_pk

logger = logging.getLogger(__name__)

CHANNEL = "parley:user-cache:invalidate"
CACHED_FIELDS = tuple(f.attname for f in User._meta.concrete_fields if f.attname != "password")
BACKOFF_MIN, BACKOFF_MAX = 0.1, 5.0  # seconds between reconnection attempts
POLL_SECONDS = 1.0  # the subscriber checks this often whether it should stop
HEALTH_CHECK_SECONDS = 15  # an idle subscriber connection pings Redis this often
PRUNE_SECONDS = 60.0

Entry = tuple[float, str, tuple[Any, ...]]  # (expires at, database alias, CACHED_FIELDS values)


class UserCache:
    """One process's cache. `ttl` and `redis_url` default to the settings, read at each use."""

    def __init__(
        self,
        *,
        ttl: float | None = None,
        redis_url: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._redis_url = redis_url
        self._clock = clock
        self._entries: dict[Any, Entry] = {}
        self._lock = threading.Lock()
        self._epoch = 0  # bumped by every invalidation: a read that spans one is not stored
        self._pruned_at = clock()
        self._subscriber: _Subscriber | None = None
        self._subscriber_lock = threading.Lock()
        self._publishers: dict[str, redis.Redis] = {}

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

    @property
    def live(self) -> bool:
        """Whether this process may cache: no Redis, or subscribed to the invalidations."""
        url = self._url()
        if not url:
            return True
        subscriber = self._subscriber
        return subscriber is not None and subscriber.url == url and subscriber.live

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

    # --- forgetting ---------------------------------------------------------------------------

    def invalidate(self, pk: Any) -> None:
        """Forget one user in this process."""
        with self._lock:
            self._entries.pop(pk, None)
            self._epoch += 1

    def clear(self) -> None:
        """Forget every user in this process."""
        with self._lock:
            self._entries.clear()
            self._epoch += 1

    def publish(self, pk: Any) -> None:
        """Tell every process (this one included) to forget `pk`; nothing to do without Redis."""
        url = self._url()
        if not url:
            return
        publisher = self._publishers.get(url)
        if publisher is None:
            publisher = self._publishers.setdefault(url, redis.Redis.from_url(url))
        try:
            publisher.publish(CHANNEL, str(pk))
        except redis.RedisError as exc:
            # Redis is unreachable, so are the other processes' subscribers: they have cleared
            # their caches and cache nothing until they are back.
            logger.warning("user cache: could not publish an invalidation: %s", exc)

    def close(self) -> None:
        """Stop listening and forget everything (the next use starts listening again)."""
        with self._subscriber_lock:
            if self._subscriber is not None:
                self._subscriber.stop()
                self._subscriber = None
        self.clear()

    # --- the subscription ---------------------------------------------------------------------

    def _url(self) -> str:
        return self._redis_url if self._redis_url is not None else settings.REDIS_URL

    def _follow_redis_url(self) -> None:
        """Listen to the Redis of the current settings (none without REDIS_URL)."""
        url = self._url()
        subscriber = self._subscriber
        if (subscriber.url if subscriber else "") == url:
            return
        with self._subscriber_lock:
            if self._subscriber is not None:
                self._subscriber.stop()
                self._subscriber = None
            self.clear()
            if url:
                self._subscriber = _Subscriber(url, cache=self)
                self._subscriber.start()

    def _on_message(self, data: bytes) -> None:
        pk = parse_pk(User, data.decode(errors="replace"))
        if pk is not None:
            self.invalidate(pk)

    def _on_live(self, live: bool) -> None:
        # Both ways clear: going down, invalidations may be missed from now on; coming back,
        # a row read while down may predate an invalidation that was published meanwhile.
        self.clear()


class _Subscriber(threading.Thread):
    """Listens to `channel` with redis-py's blocking PubSub, on its own thread, reconnecting.
    `cache` gets `_on_message(data)` and `_on_live(live)` (the block cache reuses it)."""

    def __init__(
        self, url: str, *, cache: Any, channel: str = CHANNEL, label: str = "user cache"
    ) -> None:
        super().__init__(name=f"{label.replace(' ', '-')}-subscriber", daemon=True)
        self.url = url
        self.channel = channel
        self.label = label
        self.live = False
        self._cache = cache
        self._stopping = threading.Event()
        self._delay = BACKOFF_MIN

    def stop(self) -> None:
        self._stopping.set()
        self._set_live(False)

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._listen()
            except Exception as exc:  # connection refused or reset, timeout, protocol error
                if not self._stopping.is_set():
                    logger.warning("%s: subscriber failed: %r", self.label, exc)
            finally:
                self._set_live(False)
            if self._stopping.wait(self._delay):
                return
            self._delay = min(self._delay * 2, BACKOFF_MAX)

    def _listen(self) -> None:
        # No retries: redis-py would otherwise reconnect and resubscribe silently, and whatever
        # was published in between would be lost without anyone noticing.
        client = redis.Redis.from_url(
            self.url,
            retry=Retry(NoBackoff(), 0),
            socket_connect_timeout=5,
            socket_keepalive=True,
            health_check_interval=HEALTH_CHECK_SECONDS,
        )
        pubsub = client.pubsub()
        try:
            pubsub.subscribe(self.channel)
            # Any later (re)connection of this connection is a gap in what we heard.
            pubsub.connection.register_connect_callback(self._on_reconnect)
            while not self._stopping.is_set():
                message = pubsub.get_message(timeout=POLL_SECONDS)
                if message is None:
                    continue
                if message["type"] == "subscribe":
                    self._delay = BACKOFF_MIN
                    self._set_live(True)
                elif message["type"] == "message":
                    self._cache._on_message(message["data"])
        finally:
            pubsub.close()
            client.close()

    def _on_reconnect(self, connection: object) -> None:
        self._set_live(False)  # live again once the resubscription is confirmed

    def _set_live(self, live: bool) -> None:
        if live == self.live:
            return
        if not live:
            self.live = False  # first: nothing may be stored from here on
            self._cache._on_live(False)
            if not self._stopping.is_set():
                logger.warning(
                    "%s: invalidations channel lost; caching nothing meanwhile", self.label
                )
        else:
            self._cache._on_live(True)  # first: drop anything read while we were deaf
            self.live = True


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
