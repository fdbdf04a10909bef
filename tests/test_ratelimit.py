from collections.abc import Callable, Iterator
from unittest import mock

import pytest
from redis import Redis
from redis.connection import AbstractConnection

from chatproject.ratelimit import rate_limit_hit, rate_limit_peek
from tests.conftest import PASSWORD, ApiClient
from tests.servers import RedisServer


def test_limit_counts_then_refuses_with_seconds_to_wait():
    """The hit after the limit is refused with how long to wait."""
    assert rate_limit_hit("t:a", limit=2, window=60) is None
    assert rate_limit_hit("t:a", limit=2, window=60) is None
    wait = rate_limit_hit("t:a", limit=2, window=60)
    assert wait is not None and 1 <= wait <= 60


def test_cache_outage_lets_requests_through():
    """When the cache (Redis) is down, limits let requests through instead of failing them."""
    with mock.patch("chatproject.ratelimit.cache") as broken:
        broken.add.side_effect = ConnectionError("redis down")
        broken.incr_window.side_effect = ConnectionError("redis down")
        broken.get.side_effect = ConnectionError("redis down")
        assert rate_limit_hit("t:b", limit=0, window=60) is None
        assert rate_limit_peek("t:b", limit=0, window=60) is None


# --- with a real Redis (the shared cache of several processes) ----------------------------------
@pytest.fixture
def redis_cache(settings) -> Iterator[RedisServer]:  # noqa: ANN001 - pytest-django fixture
    with RedisServer() as server:
        settings.CACHES = {
            "default": {"BACKEND": "chatproject.cache.SharedRedisCache", "LOCATION": server.url}
        }
        yield server


@pytest.fixture
def round_trips(monkeypatch) -> Callable[[], int]:  # noqa: ANN001
    """How many times a request went to Redis (a pipeline is one) since the test started."""
    sent = {"n": 0}
    send = AbstractConnection.send_packed_command

    def counted(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        sent["n"] += 1
        return send(self, *args, **kwargs)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counted)
    return lambda: sent["n"]


@pytest.mark.slow
def test_limits_count_and_expire_the_same_on_redis(redis_cache):
    """On Redis the window counts the same, and its key expires with the window."""
    assert rate_limit_hit("t:r", limit=2, window=60) is None
    assert rate_limit_hit("t:r", limit=2, window=60) is None
    assert rate_limit_peek("t:r", limit=2, window=60) is not None
    assert 1 <= rate_limit_hit("t:r", limit=2, window=60) <= 60
    client = Redis.from_url(redis_cache.url)
    (key,) = client.keys("*rl:*")
    assert 0 < client.ttl(key) <= 61
    assert int(client.get(key)) == 3


@pytest.mark.slow
def test_a_hit_is_one_round_trip_to_redis(redis_cache, round_trips):
    """Counting a hit costs one Redis round trip (it was three: SET NX, EXISTS, INCR)."""
    rate_limit_hit("t:warm", limit=5, window=60)  # connects
    before = round_trips()
    rate_limit_hit("t:one", limit=5, window=60)
    rate_limit_hit("t:one", limit=5, window=60)
    assert round_trips() - before == 2


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.parametrize("password,at_most", [(PASSWORD, 3), ("wrong-pass", 4)])
def test_a_login_costs_at_most_one_round_trip_per_counter(
    redis_cache, round_trips, alice, password, at_most
):
    """A login touches three counters, each once at most (success 3, failure 4 round trips)."""
    login = {"email": alice.email, "password": password}
    ApiClient().call("post", "/api/auth/login", {"email": "warm@example.com", "password": "x"})
    before = round_trips()
    response = ApiClient().call("post", "/api/auth/login", login)
    assert response.status_code in (200, 400)
    assert round_trips() - before <= at_most
