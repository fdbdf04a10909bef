"""Fixtures for the search tests: conversations arranged through the API, a search helper."""

from collections.abc import Callable
from typing import Any

import pytest

from accounts.models import User
from tests.conftest import ApiClient
from tests.messaging.conftest import chat_media, make_message, png_data_url  # noqa: F401

SEARCH = "/api/search/messages"


@pytest.fixture
def clients(login_client) -> Callable[[User], ApiClient]:  # noqa: ANN001
    made: dict[Any, ApiClient] = {}

    def get(user: User) -> ApiClient:
        if user.pk not in made:
            made[user.pk] = login_client(user)
        return made[user.pk]

    return get


@pytest.fixture
def direct(clients) -> Callable[[User, User], str]:  # noqa: ANN001
    """The id of the direct conversation of two people (started by the first)."""

    def start(a: User, b: User) -> str:
        response = clients(a).call("post", "/api/conversations/", {"userId": str(b.pk)})
        assert response.status_code in (200, 201), response.content
        return response.json()["_id"]

    return start


@pytest.fixture
def group(clients) -> Callable[..., str]:  # noqa: ANN001
    def create(creator: User, *members: User, title: str = "Team") -> str:
        body = {"title": title, "memberIds": [str(m.pk) for m in members]}
        response = clients(creator).call("post", "/api/conversations/", body)
        assert response.status_code == 201, response.content
        return response.json()["_id"]

    return create


@pytest.fixture
def say(clients) -> Callable[..., dict]:  # noqa: ANN001
    """Send `text` to a conversation as `user` through the API; the Message JSON."""

    def send(user: User, conversation_id: str, text: str, **body: Any) -> dict:
        response = clients(user).call(
            "post", f"/api/conversations/{conversation_id}/messages", {"text": text, **body}
        )
        assert response.status_code == 201, response.content
        return response.json()

    return send


@pytest.fixture
def search(clients) -> Callable[..., Any]:  # noqa: ANN001
    """`search(user, "words", **params)`: the response of the search endpoint."""

    def run(user: User, q: str, **params: Any) -> Any:
        return clients(user).get(SEARCH, {"q": q, **params})

    return run


@pytest.fixture
def found(search) -> Callable[..., list[str]]:  # noqa: ANN001
    """`found(user, "words", **params)`: the texts found, newest first (asserting a 200)."""

    def run(user: User, q: str, **params: Any) -> list[str]:
        response = search(user, q, **params)
        assert response.status_code == 200, response.content
        return [r["message"]["text"] for r in response.json()["results"]]

    return run
