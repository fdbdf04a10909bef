"""Presence in Redis, as several server processes share it (a real redis-server, no Daphne).

Two `RedisStore` objects stand for two processes; time is passed explicitly, so "a process
died 40 seconds ago" needs no waiting.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import pytest
import redis.exceptions
from channels.db import database_sync_to_async

from messaging import presence, realtime
from messaging.presence import RedisStore, presence_online_ids
from tests.servers import RedisServer

pytestmark = pytest.mark.slow  # starts a redis-server (a few milliseconds, but a real process)

TTL = 30.0
T0 = 1_900_000_000.0  # a fixed "now"


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture
async def stores(redis_server, settings) -> AsyncIterator[tuple[RedisStore, RedisStore]]:  # noqa: ANN001
    """Two processes' views of one empty Redis."""
    settings.PRESENCE_TTL = TTL
    one, two = RedisStore(redis_server.url), RedisStore(redis_server.url)
    await one.client.flushdb()
    yield one, two
    await one.aclose()
    await two.aclose()


async def test_sockets_are_counted_per_user_across_processes(stores):
    """Online from the first socket anywhere to the last socket anywhere; versions only grow."""
    one, two = stores
    opened = await one.open("7", "p1-tab", T0)
    assert opened.changed and (await two.online_list(T0))[0] == ["7"]
    second = await two.open("7", "p2-tab", T0)
    assert not second.changed and await one.online_among(["7", "8"], T0) == {"7"}

    first_closed = await one.close("7", "p1-tab", T0 + 1)
    assert not first_closed.changed and (await one.online_list(T0 + 1))[0] == ["7"]
    last_closed = await two.close("7", "p2-tab", T0 + 2)
    assert last_closed.changed and (await one.online_list(T0 + 2))[0] == []
    assert opened.version < last_closed.version
    assert (await one.online_list(T0 + 2))[1] == last_closed.version


async def test_a_dead_process_lapses_and_exactly_one_sweeper_reports_it(stores):
    """Entries nobody refreshes expire after the TTL; the sweep takes those users offline once."""
    one, two = stores
    await one.open("1", "dead-process-tab", T0)  # process one dies right after this
    await two.open("2", "live-tab", T0)
    assert one.online_ids(T0 + TTL - 1) == {"1", "2"}

    await two.refresh([("2", "live-tab")], T0 + TTL / 2)
    assert two.online_ids(T0 + TTL + 1) == {"2"}  # already hidden before any sweep

    gone, change = await two.sweep(T0 + TTL + 1)
    assert (gone, change.changed) == (["1"], True)
    assert (await two.online_list(T0 + TTL + 1))[0] == ["2"]
    again, later = await one.sweep(T0 + TTL + 2)
    assert (again, later.changed) == ([], False)


async def test_a_user_with_a_live_tab_elsewhere_survives_the_sweep(stores):
    one, two = stores
    await one.open("1", "dead-process-tab", T0)
    await two.open("1", "live-tab", T0 + 10)
    await two.refresh([("1", "live-tab")], T0 + TTL)

    gone, _ = await two.sweep(T0 + TTL + 1)
    assert gone == [] and await two.online_among(["1"], T0 + TTL + 1) == {"1"}
    closed = await two.close("1", "live-tab", T0 + TTL + 2)  # the dead tab no longer counts
    assert closed.changed and await two.online_among(["1"], T0 + TTL + 2) == set()


async def test_concurrent_closes_of_the_last_two_tabs_report_offline_once(stores):
    one, two = stores
    await one.open("1", "a", T0)
    await two.open("1", "b", T0)
    results = await asyncio.gather(one.close("1", "a", T0 + 1), two.close("1", "b", T0 + 1))
    assert sorted(result.changed for result in results) == [False, True]


async def test_refresh_puts_back_what_redis_lost(stores):
    """After a Redis restart (data gone) the next heartbeat restores the live sockets."""
    one, _ = stores
    await one.open("1", "tab", T0)
    await one.client.flushdb()
    assert one.online_ids(T0) == set()

    change = await one.refresh([("1", "tab")], T0 + 5)
    assert change.changed and (await one.online_list(T0 + 5))[0] == ["1"]


@pytest.mark.django_db(transaction=True)
async def test_heartbeat_heals_presence_after_a_process_dies(
    redis_server, settings, monkeypatch, open_socket, alice, bob
):
    """Alice's process died; Bob's heartbeat takes her offline, tells Bob, stores lastSeen."""
    settings.REDIS_URL, settings.PRESENCE_TTL = redis_server.url, TTL
    clock = {"now": T0}
    monkeypatch.setattr(presence, "_now", lambda: clock["now"])
    dead = RedisStore(redis_server.url)
    await dead.client.flushdb()
    await dead.open(str(alice.pk), "dead-process-tab", T0)

    b = await open_socket(bob)
    assert (await b.receive_json_from(timeout=3))["event"] == "ready"
    first = await b.receive_json_from(timeout=3)
    assert sorted(first["data"]) == sorted([str(alice.pk), str(bob.pk)])
    assert presence_online_ids() == {str(alice.pk), str(bob.pk)}

    clock["now"] = T0 + TTL + 1
    tracker = presence._tracker()
    await tracker.beat()
    assert await b.receive_json_from(timeout=3) == {
        "event": "getOnlineUsers",
        "data": [str(bob.pk)],
    }
    assert presence_online_ids() == {str(bob.pk)}
    await database_sync_to_async(alice.refresh_from_db)()
    assert alice.last_seen is not None

    await b.disconnect()
    await tracker.store.aclose()
    await dead.aclose()


@pytest.mark.django_db(transaction=True)
async def test_a_redis_restart_makes_sockets_reconnect_and_catch_up(
    redis_server, settings, open_socket, bob
):
    """Events published while Redis was away are lost: the heartbeat closes with 4503."""
    settings.REDIS_URL = redis_server.url
    b = await open_socket(bob)
    assert (await b.receive_json_from(timeout=3))["event"] == "ready"
    assert (await b.receive_json_from(timeout=3))["event"] == "getOnlineUsers"
    tracker = presence._tracker()

    redis_server.restart()
    started = time.monotonic()
    while True:  # the first command after a restart may meet the dead connection
        try:
            await tracker.beat()
            break
        except redis.exceptions.ConnectionError:
            assert time.monotonic() - started < 5
            await asyncio.sleep(0.1)

    output = await b.receive_output(timeout=3)
    while output["type"] != "websocket.close":
        output = await b.receive_output(timeout=3)
    assert output["code"] == realtime.CLOSE_RECONNECT
    assert presence_online_ids() == {str(bob.pk)}  # the live socket was put back
    await b.disconnect()
    await tracker.store.aclose()
