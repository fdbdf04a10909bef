from unittest import mock

from chatproject.ratelimit import rate_limit_hit, rate_limit_peek


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
        broken.get.side_effect = ConnectionError("redis down")
        assert rate_limit_hit("t:b", limit=0, window=60) is None
        assert rate_limit_peek("t:b", limit=0, window=60) is None
