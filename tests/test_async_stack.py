"""The async request path: every middleware and the API's auth run on the event loop.

Django runs a sync-only middleware, or a sync hook of an async-capable one, in a thread
(`sync_to_async`): a hop per hook, per request, which an async view exists to avoid. These
tests count the hops of the middleware chain and the view (`BaseHandler.get_response_async`,
the part the app controls) for an async endpoint with a warm user cache.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager

import asgiref.sync
import pytest
from asgiref.sync import sync_to_async
from django.core.handlers.base import BaseHandler
from django.test import AsyncClient, AsyncRequestFactory

from accounts.auth import INVALID_TOKEN
from accounts.tokens import token_issue
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.urls("tests.async_urls"), pytest.mark.django_db(transaction=True)]

WHOAMI = "/api/async-test/whoami"


@contextmanager
def thread_hops() -> Iterator[list[str]]:
    """Every sync_to_async / async_to_sync call made inside the block, by function name."""
    hops: list[str] = []
    to_async, to_sync = asgiref.sync.SyncToAsync.__call__, asgiref.sync.AsyncToSync.__call__

    async def counted_to_async(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        hops.append(f"sync_to_async({getattr(self.func, '__qualname__', self.func)})")
        return await to_async(self, *args, **kwargs)

    def counted_to_sync(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        hops.append(f"async_to_sync({getattr(self.awaitable, '__qualname__', self.awaitable)})")
        return to_sync(self, *args, **kwargs)

    asgiref.sync.SyncToAsync.__call__ = counted_to_async
    asgiref.sync.AsyncToSync.__call__ = counted_to_sync
    try:
        yield hops
    finally:
        asgiref.sync.SyncToAsync.__call__ = to_async
        asgiref.sync.AsyncToSync.__call__ = to_sync


async def _through_the_stack(path: str, token: str, method: str = "get", **extra: str):  # noqa: ANN202
    """One request through settings.MIDDLEWARE and the URLconf, as Daphne's handler runs it."""
    handler = BaseHandler()
    handler.load_middleware(is_async=True)
    factory = AsyncRequestFactory()
    factory.cookies["jwt"] = token
    request = getattr(factory, method)(path, **extra)
    return await handler.get_response_async(request)


async def test_an_async_endpoint_runs_without_a_thread_hop(alice):
    """Warm cache: the full MIDDLEWARE, the auth and the view make no sync_to_async call."""
    token = await sync_to_async(token_issue)(alice)
    first = await _through_the_stack(WHOAMI, token)  # warms the user cache
    assert first.status_code == 200
    with thread_hops() as hops:
        response = await _through_the_stack(WHOAMI, token)
    assert response.status_code == 200
    assert json.loads(response.content) == {"id": str(alice.pk), "fullName": "Alice Martin"}
    assert hops == []


async def test_an_async_write_runs_without_a_thread_hop(alice):
    """A same-origin POST (Origin check, CSRF exemption, body) stays on the loop too."""
    token = await sync_to_async(token_issue)(alice)
    await _through_the_stack(WHOAMI, token)
    with thread_hops() as hops:
        response = await _through_the_stack(
            "/api/async-test/echo", token, "post", headers={"origin": "http://testserver"}
        )
    assert response.status_code == 200, response.content
    assert hops == []


@pytest.mark.parametrize("path", [WHOAMI, "/api/async-test/whoami-sync"], ids=["async", "sync"])
async def test_cookie_auth_serves_sync_and_async_routes(alice, path):
    """The same `cookie_auth` lets the user in on both kinds of route and refuses a bad token."""
    client = AsyncClient()
    client.cookies["jwt"] = await sync_to_async(token_issue)(alice)
    response = await client.get(path)
    assert response.status_code == 200
    assert response.json()["fullName"] == "Alice Martin"
    client.cookies["jwt"] = "not-a-token"
    refused = await client.get(path)
    assert refused.status_code == 401


async def test_the_real_api_refuses_a_bad_token_under_asgi(db):
    """Through AsyncClient (middleware in async mode) the API's own 401 body is unchanged."""
    client = AsyncClient()
    client.cookies["jwt"] = "not-a-token"
    response = await client.get("/api/auth/check")
    assert response.status_code == 401
    assert response.json() == {"message": INVALID_TOKEN}


async def test_pages_static_files_and_forms_work_in_async_mode(alice):
    """Sessions, messages, CSRF and static files, with the middleware in async mode."""
    client = AsyncClient(enforce_csrf_checks=True)
    static = await client.get("/static/css/app.css")
    assert static.status_code == 200
    page = await client.get("/login/")
    assert page.status_code == 200
    csrf = page.cookies["csrftoken"].value
    logged_in = await client.post(
        "/login/",
        {"email": alice.email, "password": PASSWORD, "csrfmiddlewaretoken": csrf},
    )
    assert logged_in.status_code == 302
    assert logged_in.cookies["jwt"].value
    logout = await client.post("/logout/", {"csrfmiddlewaretoken": csrf})
    assert logout.status_code == 302
    login_page = await client.get(logout["Location"])
    assert "You have been logged out." in login_page.content.decode()
    forged = await client.post("/login/", {"email": alice.email, "password": PASSWORD})
    assert forged.status_code == 403  # no CSRF token


async def test_the_admin_login_saves_its_session_in_async_mode(make_user):
    """The admin's session (a database write in a response hook) still works under ASGI."""
    await sync_to_async(make_user)(email="op@example.com", is_staff=True, is_superuser=True)
    client = AsyncClient()
    response = await client.post(
        "/admin/login/?next=/admin/", {"username": "op@example.com", "password": PASSWORD}
    )
    assert response.status_code == 302, response.content[:500]
    assert "sessionid" in response.cookies
    assert (await client.get("/admin/")).status_code == 200
