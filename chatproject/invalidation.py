"""A cache kept in each process whose entries every process forgets together, through Redis.

The user cache (accounts/user_cache.py) and the block cache (safety/cache.py) share these rules:

- an invalidation drops the entry here at once; with REDIS_URL it is also published on the
  cache's channel, and every process listens on a daemon thread (`Subscriber`) and drops it;
- a process caches only while that subscription is up (`live`): when it breaks the whole cache
  is cleared at once and nothing is stored until it is subscribed again (whatever was published
  meanwhile is lost), and it is cleared again when it comes back; reconnection backs off;
- an entry read before an invalidation is not stored after it: `_epoch` is bumped by every
  invalidation, and a fill stores only if the epoch it started with is still current.

Subclasses hold `_entries` (any mapping), read and fill them under `_lock`, and say how an
invalidation's key looks in `_entries` (`_entry_key`) and on the wire (`_decode`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, MutableMapping
from typing import Any

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry

logger = logging.getLogger(__name__)

BACKOFF_MIN, BACKOFF_MAX = 0.1, 5.0  # seconds between reconnection attempts
POLL_SECONDS = 1.0  # the subscriber checks this often whether it should stop
HEALTH_CHECK_SECONDS = 15  # an idle subscriber connection pings Redis this often


class InvalidatedCache:
    """The shared part: forgetting, publishing, following REDIS_URL, the subscription."""

    channel: str  # the Redis channel invalidations travel on
    label: str  # for thread names and log lines

    def __init__(
        self, *, redis_url: str | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._redis_url = redis_url
        self._clock = clock
        self._entries: MutableMapping[Any, Any] = {}
        self._lock = threading.Lock()
        self._epoch = 0  # bumped by every invalidation: a read that spans one is not stored
        self._subscriber: Subscriber | None = None
        self._subscriber_lock = threading.Lock()
        self._publishers: dict[str, redis.Redis] = {}

    def _entry_key(self, key: Any) -> Any:
        return key

    def _decode(self, text: str) -> Any:
        """The key a published invalidation names, or None to ignore it."""
        return text

    @property
    def live(self) -> bool:
        """Whether this process may cache: no Redis, or subscribed to the invalidations."""
        url = self._url()
        if not url:
            return True
        subscriber = self._subscriber
        return subscriber is not None and subscriber.url == url and subscriber.live

    def invalidate(self, key: Any) -> None:
        """Forget one entry in this process."""
        with self._lock:
            self._entries.pop(self._entry_key(key), None)
            self._epoch += 1

    def clear(self) -> None:
        """Forget every entry in this process."""
        with self._lock:
            self._entries.clear()
            self._epoch += 1

    def publish(self, key: Any) -> None:
        """Tell every process (this one included) to forget `key`; nothing to do without Redis."""
        url = self._url()
        if not url:
            return
        publisher = self._publishers.get(url)
        if publisher is None:
            publisher = self._publishers.setdefault(url, redis.Redis.from_url(url))
        try:
            publisher.publish(self.channel, str(key))
        except redis.RedisError as exc:
            # Redis is unreachable, so are the other processes' subscribers: they have cleared
            # their caches and cache nothing until they are back.
            logger.warning("%s: could not publish an invalidation: %s", self.label, exc)

    def close(self) -> None:
        """Stop listening and forget everything (the next use starts listening again)."""
        with self._subscriber_lock:
            if self._subscriber is not None:
                self._subscriber.stop()
                self._subscriber = None
        self.clear()

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
                self._subscriber = Subscriber(
                    url, cache=self, channel=self.channel, label=self.label
                )
                self._subscriber.start()

    def _on_message(self, data: bytes) -> None:
        key = self._decode(data.decode(errors="replace"))
        if key is not None:
            self.invalidate(key)

    def _on_live(self, live: bool) -> None:
        # Both ways clear: going down, invalidations may be missed from now on; coming back,
        # an entry read while down may predate an invalidation that was published meanwhile.
        self.clear()


class Subscriber(threading.Thread):
    """Listens to `channel` with redis-py's blocking PubSub, on its own thread, reconnecting.
    `cache` gets `_on_message(data)` and `_on_live(live)`."""

    def __init__(self, url: str, *, cache: Any, channel: str, label: str) -> None:
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
