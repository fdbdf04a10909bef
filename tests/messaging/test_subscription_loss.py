"""A socket learns at once that its process's Redis subscription broke (real redis-server).

Redis pub/sub keeps nothing for a subscriber that is away, so whatever was published while the
subscription was down is gone for that process's sockets. They must be closed with
CLOSE_RECONNECT right away (their clients then reconnect and catch up), not at the next presence
heartbeat, which here is left at its 10 s default so it cannot be what closes them.
"""

import asyncio
import time
from collections.abc import Iterator

import pytest
from channels.layers import channel_layers
from redis import Redis

from messaging import realtime
from tests.messaging.test_consumer import close_code, drain, next_event, rest_send
from tests.servers import RedisServer

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

AT_ONCE = 2.0  # seconds; the presence heartbeat is 10 s


@pytest.fixture
def redis(settings) -> Iterator[RedisServer]:  # noqa: ANN001 - pytest-django fixture
    with RedisServer() as server:
        settings.REDIS_URL = server.url
        settings.PRESENCE_HEARTBEAT = 10.0
        settings.CACHES = {
            "default": {"BACKEND": "chatproject.cache.SharedRedisCache", "LOCATION": server.url}
        }
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "messaging.layer.WatchedRedisPubSubChannelLayer",
                "CONFIG": {"hosts": [server.url]},
            }
        }
        channel_layers.backends.clear()
        yield server
        channel_layers.backends.clear()


async def test_a_killed_subscriber_connection_closes_every_socket_at_once(
    redis, open_socket, alice, bob
):
    """Redis drops the subscriber connection (CLIENT KILL): both sockets get 4503 at once."""
    sockets = [await open_socket(alice), await open_socket(bob)]
    for socket in sockets:
        await next_event(socket, "ready")

    started = time.monotonic()
    killed = await asyncio.to_thread(
        lambda: Redis.from_url(redis.url).client_kill_filter(_type="pubsub")
    )
    assert killed >= 1

    for socket in sockets:
        assert await close_code(socket, timeout=AT_ONCE) == realtime.CLOSE_RECONNECT
    assert time.monotonic() - started < AT_ONCE


async def test_redis_going_away_closes_sockets_at_once_and_they_come_back_after(
    redis, open_socket, alice, bob, login_client
):
    """Down: open sockets get 4503 at once, new ones 4503 too (not 1011). Back: all works."""
    socket = await open_socket(bob)
    await next_event(socket, "ready")

    started = time.monotonic()
    await asyncio.to_thread(redis.stop)
    assert await close_code(socket, timeout=AT_ONCE) == realtime.CLOSE_RECONNECT
    assert time.monotonic() - started < AT_ONCE + 1  # stop() itself waits for the exit

    while_down = await open_socket(bob)
    assert await close_code(while_down, timeout=10) == realtime.CLOSE_RECONNECT

    await asyncio.to_thread(redis.start)
    # Like a client: retry until the process is subscribed again (then it says `ready`).
    deadline = time.monotonic() + 10
    while True:
        again = await open_socket(bob)
        first = await again.receive_output(timeout=5)
        if first["type"] == "websocket.send" and '"ready"' in first["text"]:
            break
        assert first.get("code") == realtime.CLOSE_RECONNECT, first
        assert time.monotonic() < deadline, "never subscribed again"
    await drain(again)
    sent = await rest_send(login_client(alice), bob, "after the outage")
    assert (await next_event(again, "newMessage"))["_id"] == sent["_id"]
