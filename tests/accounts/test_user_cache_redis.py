"""The user cache across processes (real redis-server): one process revokes, the others refuse.

"Process A" is this test process's own cache (`accounts.user_cache.cache`, following
REDIS_URL); "process B" is a second `UserCache` with its own subscriber connection, standing in
for another server process. B answers token checks by being swapped in as the cache.
"""

import time
from collections.abc import Callable, Iterator

import pytest
from redis import Redis

from accounts import services, user_cache
from accounts.models import User
from accounts.tokens import token_issue, token_user
from accounts.user_cache import UserCache
from tests.conftest import PASSWORD
from tests.servers import RedisServer

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

DEADLINE = 5.0  # seconds; far below USER_CACHE_TTL, so only an invalidation can explain it


def eventually(condition: Callable[[], bool], what: str, timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(0.01)


@pytest.fixture
def redis(settings) -> Iterator[RedisServer]:  # noqa: ANN001 - pytest-django fixture
    with RedisServer() as server:
        settings.REDIS_URL = server.url
        settings.USER_CACHE_TTL = 600
        yield server
        settings.REDIS_URL = ""
        user_cache.cache.close()  # stops listening to the server that is going away


@pytest.fixture
def process_b(redis) -> Iterator[UserCache]:  # noqa: ANN001
    cache = UserCache(ttl=600, redis_url=redis.url)
    yield cache
    cache.close()


@pytest.fixture
def as_process(monkeypatch) -> Callable[[UserCache], Callable[[str], User | None]]:  # noqa: ANN001
    """`as_process(cache)(token)`: token_user answered by that process's cache."""

    def bind(cache: UserCache) -> Callable[[str], User | None]:
        def check(token: str) -> User | None:
            with monkeypatch.context() as patch:
                patch.setattr(user_cache, "cache", cache)
                return token_user(token)

        return check

    return bind


def _warm(check: Callable[[str], User | None], cache: UserCache, token: str, pk: object) -> None:
    """Check until `cache` is live (subscribed) and holds the user, as a busy process would."""
    assert check(token) is not None  # the first use starts listening
    eventually(lambda: cache.live, "process B subscribed")
    assert check(token) is not None
    assert cache.holds(pk), "the token check did not cache the user"


@pytest.mark.parametrize("revoke", ["logout", "password", "deactivate"])
def test_a_revocation_in_one_process_refuses_the_token_in_another(
    redis, process_b, as_process, alice, django_assert_num_queries, revoke
):
    """A logs out / changes the password / is deactivated: B refuses the old token at once."""
    token = token_issue(alice)
    check_b = as_process(process_b)
    _warm(check_b, process_b, token, alice.pk)
    with django_assert_num_queries(0):
        assert check_b(token) is not None  # B answers from its cache

    if revoke == "logout":
        services.user_logout(user=alice)
    elif revoke == "password":
        services.user_change_password(
            user=alice, current_password=PASSWORD, new_password="new-pass-123", ip="1.2.3.4"
        )
    else:
        services.user_set_active(user=alice, active=False)

    eventually(lambda: check_b(token) is None, f"B refuses the token after {revoke}")


def test_a_killed_subscriber_connection_clears_the_cache_until_it_is_back(
    redis, process_b, as_process, alice, django_assert_num_queries
):
    """CLIENT KILL TYPE pubsub: B forgets everything at once and caches again once resubscribed."""
    token = token_issue(alice)
    check_b = as_process(process_b)
    _warm(check_b, process_b, token, alice.pk)

    killed = Redis.from_url(redis.url).client_kill_filter(_type="pubsub")
    assert killed >= 1
    eventually(lambda: not process_b.holds(alice.pk), "B's cache cleared")
    eventually(lambda: process_b.live, "B subscribed again")
    _warm(check_b, process_b, token, alice.pk)


def test_nothing_is_cached_while_redis_is_away(redis, process_b, as_process, alice):
    """Redis down: B reads every check from the database (it could miss invalidations)."""
    token = token_issue(alice)
    check_b = as_process(process_b)
    _warm(check_b, process_b, token, alice.pk)

    redis.stop()
    eventually(lambda: not process_b.live, "B noticed Redis is gone")
    assert not process_b.holds(alice.pk)
    assert check_b(token) is not None
    assert not process_b.holds(alice.pk), "cached while unable to hear invalidations"

    redis.start()
    eventually(lambda: process_b.live, "B reconnected after Redis came back", timeout=15)
    _warm(check_b, process_b, token, alice.pk)
