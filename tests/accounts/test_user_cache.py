"""The user cache behind token checks: no query on a hit, and revocation still honoured at once."""

import pytest
from asgiref.sync import sync_to_async

from accounts import services, user_cache
from accounts.auth import INVALID_TOKEN
from accounts.models import User
from accounts.tokens import atoken_user, token_issue, token_user
from accounts.user_cache import UserCache
from tests.conftest import PASSWORD, ApiClient

CHECK = "/api/auth/check"


def _check(token: str) -> tuple[int, dict]:
    client = ApiClient()
    client.cookies["jwt"] = token
    response = client.call("get", CHECK)
    return response.status_code, response.json()


def test_a_cached_token_check_makes_no_query(alice, django_assert_num_queries):
    """The second check of a token answers from the cache: a real User, no database round trip."""
    token = token_issue(alice)
    with django_assert_num_queries(1):
        assert token_user(token) == alice
    with django_assert_num_queries(0):
        user = token_user(token)
    assert isinstance(user, User) and user.pk == alice.pk
    assert (user.full_name, user.email, user.theme) == ("Alice Martin", alice.email, "light")
    assert user.is_authenticated and not user._state.adding


def test_a_cached_api_request_makes_no_query(alice, django_assert_num_queries):
    """GET /api/auth/check with a warm cache runs no query at all, and still shows the user."""
    token = token_issue(alice)
    assert _check(token)[0] == 200
    with django_assert_num_queries(0):
        status, body = _check(token)
    assert status == 200 and body["fullName"] == "Alice Martin"


def test_the_password_hash_is_not_cached(alice, django_assert_num_queries):
    """The hash stays in the database: reading it off a cached user costs a query."""
    token = token_issue(alice)
    token_user(token)
    user = token_user(token)
    assert "password" not in user.__dict__
    with django_assert_num_queries(1):
        assert user.check_password(PASSWORD)


def test_logout_refuses_the_cached_token_at_once(alice):
    """A token checked (and cached) a moment ago is refused right after logout."""
    token = token_issue(alice)
    assert _check(token)[0] == 200
    services.user_logout(user=alice)
    assert _check(token) == (401, {"message": INVALID_TOKEN})


def test_a_password_change_refuses_the_cached_token_at_once(alice):
    """Old tokens stop at once after a password change; the fresh one works."""
    token = token_issue(alice)
    assert _check(token)[0] == 200
    user = services.user_change_password(
        user=alice, current_password=PASSWORD, new_password="another-pass-1", ip="1.2.3.4"
    )
    assert _check(token)[0] == 401
    assert _check(token_issue(user))[0] == 200


def test_deactivation_and_reactivation_apply_at_once(alice):
    """Deactivated: every token refused at once. Reactivated: a new login token works at once."""
    token = token_issue(alice)
    assert _check(token)[0] == 200
    services.user_set_active(user=alice, active=False)
    assert _check(token)[0] == 401
    services.user_set_active(user=alice, active=True)
    alice.refresh_from_db()
    fresh = token_issue(alice)
    assert _check(fresh)[0] == 200
    assert _check(token)[0] == 401  # deactivation revoked it for good


def test_is_active_is_checked_on_a_cached_user(alice):
    """A cached row that says inactive refuses the token, without asking the database."""
    token = token_issue(alice)
    assert token_user(token) is not None
    User.objects.filter(pk=alice.pk).update(is_active=False)  # behind the services' back
    user_cache.user_cache_invalidate(user_id=alice.pk)
    assert token_user(token) is None
    assert token_user(token) is None  # and the inactive row is cached as such


@pytest.mark.parametrize("change", ["profile", "theme", "save"])
def test_profile_theme_and_admin_edits_show_at_once(alice, change):
    """What a cached user looks like follows every save at once (services and admin alike)."""
    token = token_issue(alice)
    assert _check(token)[1]["fullName"] == "Alice Martin"
    if change == "profile":
        services.user_update_profile(user=alice, full_name="Alice Renamed")
        expected = ("Alice Renamed", "light")
    elif change == "theme":
        services.user_set_theme(user=alice, theme="dark")
        expected = ("Alice Martin", "dark")
    else:  # what the admin's change form does
        row = User.objects.get(pk=alice.pk)
        row.full_name = "Edited By Admin"
        row.save()
        expected = ("Edited By Admin", "light")
    user = token_user(token)
    assert (user.full_name, user.theme) == expected


def test_a_fill_racing_a_logout_is_not_cached(alice, monkeypatch):
    """A row read just before a logout landed must not be cached after the logout invalidated it.

    The read happens, then (before the reader stores it) the logout commits and invalidates:
    storing the old row then would keep the revoked token valid for USER_CACHE_TTL.
    """
    token = token_issue(alice)
    read = UserCache._read

    def read_then_logout(self, pk):  # noqa: ANN001, ANN202
        row = read(self, pk)
        monkeypatch.setattr(UserCache, "_read", read)  # only the first read races
        services.user_logout(user=User.objects.get(pk=alice.pk))
        return row

    monkeypatch.setattr(UserCache, "_read", read_then_logout)
    token_user(token)  # read before the logout landed: this one answer may still be yes
    assert token_user(token) is None


def test_entries_expire_after_the_ttl(alice, django_assert_num_queries):
    """After USER_CACHE_TTL seconds an entry is read again from the database."""
    now = {"t": 1000.0}
    cache = UserCache(ttl=60, redis_url="", clock=lambda: now["t"])
    with django_assert_num_queries(1):
        cache.user(alice.pk)
    with django_assert_num_queries(0):
        assert cache.user(alice.pk).pk == alice.pk
    now["t"] += 61
    with django_assert_num_queries(1):
        cache.user(alice.pk)


def test_a_zero_ttl_turns_the_cache_off(alice, settings, django_assert_num_queries):
    """USER_CACHE_TTL=0: every token check reads the database, as before the cache."""
    settings.USER_CACHE_TTL = 0
    token = token_issue(alice)
    token_user(token)
    with django_assert_num_queries(1):
        assert token_user(token) == alice


@pytest.mark.django_db(transaction=True)
async def test_async_check_answers_a_hit_on_the_loop(alice, monkeypatch):
    """`atoken_user` on a warm cache neither queries nor leaves the event loop."""
    import asgiref.sync

    token = await sync_to_async(token_issue)(alice)
    assert (await atoken_user(token)).pk == alice.pk  # miss: one query, in a thread
    hops = []
    original = asgiref.sync.SyncToAsync.__call__

    async def counted(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        hops.append(self.func)
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(asgiref.sync.SyncToAsync, "__call__", counted)
    user = await atoken_user(token)
    assert user.full_name == "Alice Martin"
    assert hops == []
    await sync_to_async(services.user_logout)(user=alice)
    assert await atoken_user(token) is None
