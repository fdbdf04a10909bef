from chatproject.cache import SharedRedisCache


def test_every_cache_handle_in_a_process_shares_one_redis_client():
    """Requests get their own cache handle; they must not each open a Redis connection."""
    url = "redis://127.0.0.1:1/0"
    first, second = SharedRedisCache(url, {}), SharedRedisCache(url, {})
    assert first is not second
    assert first._cache is second._cache
    assert SharedRedisCache("redis://127.0.0.1:1/1", {})._cache is not first._cache
