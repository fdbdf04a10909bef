"""channels-redis's pub/sub channel layer, made to say when its subscriber connection breaks.

Redis pub/sub keeps nothing for a subscriber that is away: whatever is published while this
process's subscriber connection is down (Redis restarting, a network cut) never reaches its
sockets, and the library reconnects and resubscribes silently. This subclass reports both moments,
the error that breaks the connection and the reconnection that follows, to listeners registered
with `add_loss_listener` (messaging/realtime.py closes this process's sockets with 4503 so their
clients reconnect and catch up over REST). A consumer's own channel stays in its process (see
`_LoopLayer.new_channel`). Everything else is the library's own behaviour.
"""

import asyncio
import logging
import uuid
from collections.abc import Callable
from typing import Any

from channels_redis.pubsub import (
    RedisPubSubChannelLayer,
    RedisPubSubLoopLayer,
    RedisSingleShardConnection,
)
from channels_redis.utils import _wrap_close, decode_hosts
from redis.exceptions import ConnectionError as RedisConnectionError

logger = logging.getLogger(__name__)

LossListener = Callable[[str], None]

RECONNECT_PAUSE = 0.5  # seconds between attempts while Redis is unreachable


class _WatchedShard(RedisSingleShardConnection):
    """One Redis connection pair (publish pool + subscriber) that reports subscriber losses."""

    def __init__(self, host: dict[str, Any], channel_layer: "_LoopLayer") -> None:
        super().__init__(host, channel_layer)
        self._watched: Any = None  # the subscriber connection our reconnect callback is on
        # False from a subscriber error until redis-py has reconnected and resubscribed.
        self.healthy = True

    def _watch(self) -> None:
        """Hear every reconnection of the subscriber connection (redis-py creates it lazily)."""
        connection = self._pubsub.connection if self._pubsub is not None else None
        if connection is not None and connection is not self._watched:
            # Called after redis-py's own callback, which resubscribes every channel first.
            connection.register_connect_callback(self._on_reconnect)
            self._watched = connection

    async def _on_reconnect(self, connection: Any) -> None:
        self.healthy = True
        self.channel_layer.report_loss("subscriber reconnected")

    async def publish(self, channel: str, message: bytes) -> None:
        try:
            await super().publish(channel, message)
        except RedisConnectionError:
            # A pooled connection that died while Redis restarted fails once; the pool then
            # connects afresh. Without this the first event after every restart is lost.
            await super().publish(channel, message)

    async def publish_many(self, channels: list[str], message: bytes) -> None:
        """PUBLISH one payload to several channels in one round trip (a pipeline)."""
        for attempt in (1, 2):
            try:
                async with self._lock:
                    self._ensure_redis()
                    async with self._redis.pipeline(transaction=False) as pipe:
                        for channel in channels:
                            pipe.publish(channel, message)
                        await pipe.execute()
                return
            except RedisConnectionError:
                if attempt == 2:  # see publish(): a dead pooled connection fails once
                    raise

    async def subscribe(self, channel: str) -> None:
        await super().subscribe(channel)
        self._watch()

    async def _do_receiving(self) -> None:
        # The library's loop, plus the report: an error here means frames may have been lost.
        while True:
            try:
                if self._pubsub is not None and self._pubsub.subscribed:
                    self._watch()
                    message = await self._pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=0.1
                    )
                    self._receive_message(message)
                else:
                    self.healthy = True  # subscribed to nothing: nothing can be missed
                    await asyncio.sleep(0.1)
            except (asyncio.CancelledError, GeneratorExit):
                raise
            except Exception as exc:  # connection refused/reset, timeouts, protocol errors
                self.healthy = False
                self.channel_layer.report_loss(f"subscriber failed: {exc!r}")
                await asyncio.sleep(RECONNECT_PAUSE)


class _SocketQueue:
    """What a consumer's channel needs of a queue: `put_nowait` and `await get()`, one reader.

    An `asyncio.Queue` is four deques and an Event, ~3.8 KB even when empty; one per open
    socket was a tenth of a socket's memory. This holds an item list only while items wait and
    a future only while the consumer waits (`tests/messaging/test_layer_queue.py`).
    """

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: list[Any] | None = None
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        if self._items is None:
            self._items = [item]
        else:
            self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def qsize(self) -> int:
        return len(self._items) if self._items else 0

    async def get(self) -> Any:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        item = self._items.pop(0)
        if not self._items:
            self._items = None
        return item


class _LoopLayer(RedisPubSubLoopLayer):
    def __init__(self, hosts: Any = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(hosts, *args, **kwargs)
        self._shards = [_WatchedShard(host, self) for host in decode_hosts(hosts)]

    async def new_channel(self, prefix: str = "specific.") -> str:
        """A consumer's own channel, in this process only.

        Parley sends to groups, never to another process's consumer, so a socket's channel needs
        no Redis subscription of its own: that saves a SUBSCRIBE and an UNSUBSCRIBE per socket,
        and a socket can open (and be told why it must close) while Redis is unreachable.
        """
        channel = f"{self.prefix}{prefix}{uuid.uuid4().hex}"
        self.channels[channel] = _SocketQueue()
        return channel

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        queue = self.channels.get(channel)
        if queue is None:
            await super().send(channel, message)
        else:  # serialised like a message that went through Redis, so nothing differs
            queue.put_nowait(self.channel_layer.serialize(message))

    def report_loss(self, reason: str) -> None:
        self.channel_layer.report_loss(reason)

    async def group_send_many(self, groups: list[str], message: dict[str, Any]) -> None:
        payload = self.channel_layer.serialize(message)  # once, whatever the number of groups
        by_shard: dict[int, list[str]] = {}
        for group in groups:
            channel = self._get_group_channel_name(group)
            by_shard.setdefault(id(self._get_shard(channel)), []).append(channel)
        shards = {id(shard): shard for shard in self._shards}
        for shard_id, channels in by_shard.items():
            await shards[shard_id].publish_many(channels, payload)

    async def group_has_subscribers(self, group: str) -> bool:
        channel = self._get_group_channel_name(group)
        if channel in self.groups:
            return True
        shard = self._get_shard(channel)
        shard._ensure_redis()
        [(_, count)] = await shard._redis.pubsub_numsub(channel)
        return count > 0

    def subscription_healthy(self) -> bool:
        return all(shard.healthy for shard in self._shards)


class WatchedRedisPubSubChannelLayer(RedisPubSubChannelLayer):
    """`RedisPubSubChannelLayer` that calls its loss listeners when a subscription may have
    missed messages. Listeners run in the event loop of the layer that lost its connection."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.loss_listeners: list[LossListener] = []

    def _get_layer(self) -> RedisPubSubLoopLayer:
        loop = asyncio.get_running_loop()
        layer = self._layers.get(loop)
        if layer is None:
            layer = self._layers[loop] = _LoopLayer(*self._args, **self._kwargs, channel_layer=self)
            _wrap_close(self, loop)  # as the library does: flush when the loop closes
        return layer

    async def group_send_many(self, groups: list[str], message: dict[str, Any]) -> None:
        """`group_send` to several groups: serialised once, one round trip to Redis."""
        await self._get_layer().group_send_many(groups, message)

    async def group_has_subscribers(self, group: str) -> bool:
        """Whether any process has a socket in `group` (one PUBSUB NUMSUB)."""
        return await self._get_layer().group_has_subscribers(group)

    def subscription_healthy(self) -> bool:
        """False while this loop's subscriber connection is broken and not yet resubscribed:
        a socket subscribed now would not hear anything."""
        return self._get_layer().subscription_healthy()

    def add_loss_listener(self, listener: LossListener) -> None:
        if listener not in self.loss_listeners:
            self.loss_listeners.append(listener)

    def report_loss(self, reason: str) -> None:
        logger.warning("channel layer: subscription lost (%s)", reason)
        for listener in list(self.loss_listeners):
            try:
                listener(reason)
            except Exception:  # one broken listener must not stop the others
                logger.exception("channel layer loss listener failed")
