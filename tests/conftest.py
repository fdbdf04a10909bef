"""Shared fixtures: users, logged-in API clients, and a same-origin JSON helper."""

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from accounts import user_cache
from accounts.models import User

PASSWORD = "correct-horse-42"


class ApiClient(Client):
    """Django's test client speaking JSON, like the seed's same-origin React client."""

    def call(self, method: str, path: str, body: Any = None, **extra: Any):
        data = json.dumps(body) if body is not None else ""
        return getattr(self, method.lower())(path, data, content_type="application/json", **extra)


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    """Rate-limit counters live in the cache and in the process, users in the user cache, direct
    conversations in a per-process map; every test starts empty.

    (Test transactions roll back, so a primary key comes back for another row in a later test.)
    """
    from chatproject.local_limits import local_windows
    from messaging.direct import direct_ids_forget
    from safety.cache import cache as block_cache

    cache.clear()
    user_cache.cache.clear()
    block_cache.clear()
    local_windows.clear()
    direct_ids_forget()


@pytest.fixture
def make_user(db) -> Callable[..., User]:  # noqa: ANN001
    counter = {"n": 0}

    def make(email: str | None = None, full_name: str | None = None, **fields: Any) -> User:
        counter["n"] += 1
        n = counter["n"]
        user = User(
            email=email or f"user{n}@example.com", full_name=full_name or f"User {n}", **fields
        )
        user.set_password(fields.pop("password", PASSWORD))
        user.save()
        return user

    return make


@pytest.fixture
def api() -> ApiClient:
    return ApiClient()


@pytest.fixture
def login_client() -> Callable[[User], ApiClient]:
    """An API client holding a valid `jwt` cookie for `user`."""
    from accounts.tokens import token_issue

    def make(user: User) -> ApiClient:
        client = ApiClient()
        client.cookies["jwt"] = token_issue(user)
        return client

    return make


@pytest.fixture
def alice(make_user) -> User:  # noqa: ANN001
    return make_user(email="alice@example.com", full_name="Alice Martin")


@pytest.fixture
def bob(make_user) -> User:  # noqa: ANN001
    return make_user(email="bob@example.com", full_name="Bob Okafor")


@pytest.fixture
def carol(make_user) -> User:  # noqa: ANN001
    return make_user(email="carol@example.com", full_name="Carol Nguyen")
