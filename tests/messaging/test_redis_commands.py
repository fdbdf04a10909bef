"""What one chat message costs Redis (real redis-server), counted by Redis itself.

The hot path is meant to be: one PUBLISH per event and nothing else. No rate-limit counter
(send limits are in-process), no presence lookup, no user fetch. A regression here is
invisible in unit tests and multiplies with traffic, so it is pinned by command counts.
"""

import asyncio
from collections.abc import Iterator

import pytest
from channels.layers import channel_layers
from redis import Redis

from tests.messaging.test_consumer import drain, next_event
from tests.messaging.test_ws_send import send
from tests.servers import RedisServer

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def redis(settings) -> Iterator[RedisServer]:  # noqa: ANN001 - pytest-django fixture
    with RedisServer() as server:
        settings.REDIS_URL = server.url
        settings.PRESENCE_HEARTBEAT = 30.0  # no heartbeat inside the counted window
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


def command_counts(url: str) -> dict[str, int]:
    stats = Redis.from_url(url).info("commandstats")
    return {
        name.removeprefix("cmdstat_"): values["calls"]
        for name, values in stats.items()
        if name not in {"cmdstat_info", "cmdstat_hello", "cmdstat_config|resetstat"}  # ours
    }


def reset_counts(url: str) -> None:
    Redis.from_url(url).config_resetstat()


async def test_a_message_between_two_online_people_costs_only_publishes(
    redis, open_socket, alice, bob
):
    """Sender and receiver online: the send, its delivery to the receiver and the delivery
    receipt back to the sender are PUBLISHes, a handful at most; no counters, no reads."""
    sender, receiver = await open_socket(alice), await open_socket(bob)
    for socket in (sender, receiver):
        await next_event(socket, "ready")
    # The first message between two people introduces them to each other's presence; the
    # steady state is what every later message costs.
    await send(sender, bob, "warm-up", client_id="w")
    await next_event(sender, "messageSent")
    await next_event(receiver, "newMessage")
    await next_event(sender, "messagesDelivered")
    await drain(sender)
    await drain(receiver)

    await asyncio.to_thread(reset_counts, redis.url)
    for number in range(5):
        await send(sender, bob, f"counted {number}", client_id=f"c{number}")
        await next_event(sender, "messageSent")
        await next_event(receiver, "newMessage")
    await next_event(sender, "messagesDelivered")
    counts = await asyncio.to_thread(command_counts, redis.url)

    assert set(counts) <= {"publish"}, counts
    # Per message: newMessage to the receiver and to the sender's other tabs (one pipelined
    # round trip); delivery receipts at most one per message (coalesced per flush).
    assert 2 * 5 <= counts.get("publish", 0) <= 2 * 5 + 5, counts
