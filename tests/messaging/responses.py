"""Reading the JSON API's answers in tests: the status first, then the body."""

from typing import Any

CONVERSATIONS_URL = "/api/conversations/"


def message_url(message) -> str:  # noqa: ANN001
    """Where one message is edited or deleted: `/api/conversations/<id>/messages/<id>`."""
    return f"{CONVERSATIONS_URL}{message.conversation_id}/messages/{message.pk}"


def ok(response, status: int = 200) -> Any:  # noqa: ANN001
    """The decoded body of a success with this status (the body is shown when it is not)."""
    assert response.status_code == status, response.content
    return response.json()


def error(response, status: int) -> dict:  # noqa: ANN001
    """The decoded `{message, ...}` of a refusal with this status."""
    assert response.status_code == status, response.content
    return response.json()
