"""POST /api/messages/<id>/read: read receipts up to a message."""

import pytest

from messaging.api import MARKED_READ
from messaging.models import Message
from messaging.receipts import UP_TO_REQUIRED
from messaging.selectors import MESSAGE_NOT_FOUND, USER_NOT_FOUND
from tests.accounts.conftest import ISO_UTC


def read(client, other, up_to: object):  # noqa: ANN001
    return client.call("post", f"/api/messages/{other.pk}/read", {"upTo": up_to})


def marks(client, other) -> dict[str, tuple]:  # noqa: ANN001
    """What a person's history shows: message id -> (deliveredAt, readAt)."""
    response = client.get(f"/api/messages/{other.pk}")
    assert response.status_code == 200
    return {m["_id"]: (m["deliveredAt"], m["readAt"]) for m in response.json()}


@pytest.fixture
def three_from_bob(alice, bob, make_message) -> list[Message]:  # noqa: ANN001
    return [make_message(bob, alice, f"b{n}") for n in range(3)]


def test_read_marks_up_to_and_tells_the_sender(
    alice, bob, three_from_bob, login_client, sent_events
):  # noqa: ANN001
    """Messages up to `upTo` become read (and delivered); Bob hears `messagesRead`."""
    first, second, third = three_from_bob
    with sent_events() as events:
        response = read(login_client(alice), bob, str(second.pk))

    assert response.status_code == 200
    assert response.json() == {"message": MARKED_READ, "updated": 2}
    shown = marks(login_client(bob), alice)
    for message in (first, second):
        delivered_at, read_at = shown[str(message.pk)]
        assert read_at is not None and delivered_at is not None
    assert shown[str(third.pk)] == (None, None)
    [(to, event, data)] = events
    assert (to, event) == ([str(bob.pk)], "messagesRead")
    assert data["userId"] == str(alice.pk) and data["upTo"] == str(second.pk)
    assert ISO_UTC.match(data["at"])


def test_reading_again_changes_and_announces_nothing(
    alice, bob, three_from_bob, login_client, sent_events
):  # noqa: ANN001
    client = login_client(alice)
    read(client, bob, str(three_from_bob[2].pk))
    with sent_events() as events:
        response = read(client, bob, str(three_from_bob[2].pk))
    assert response.json()["updated"] == 0
    assert events == []


def test_an_earlier_delivery_time_is_kept(alice, bob, make_message, login_client):  # noqa: ANN001
    """Reading does not rewrite when the message reached the reader's device."""
    from datetime import timedelta

    from django.utils import timezone

    earlier = timezone.now() - timedelta(minutes=5)
    message = make_message(bob, alice, "hi", delivered_at=earlier)

    read(login_client(alice), bob, str(message.pk))

    delivered_at, read_at = marks(login_client(bob), alice)[str(message.pk)]
    assert delivered_at.startswith(earlier.strftime("%Y-%m-%dT%H:%M"))
    assert read_at > delivered_at


def test_only_messages_to_the_reader_are_marked(alice, bob, make_message, login_client):  # noqa: ANN001
    """`upTo` may be the reader's own message; their own messages stay unread by the other."""
    from_bob = make_message(bob, alice, "question")
    mine = make_message(alice, bob, "answer")

    response = read(login_client(alice), bob, str(mine.pk))

    assert response.json()["updated"] == 1
    assert marks(login_client(bob), alice)[str(from_bob.pk)][1] is not None
    assert marks(login_client(alice), bob)[str(mine.pk)][1] is None  # Bob hasn't read it


@pytest.mark.parametrize("up_to", ["nope", "-5", "99999999999999999999999"])
def test_malformed_up_to_is_404(up_to, alice, bob, three_from_bob, login_client):  # noqa: ANN001
    response = read(login_client(alice), bob, up_to)
    assert response.status_code == 404
    assert response.json()["message"] == MESSAGE_NOT_FOUND


def test_missing_up_to_is_400(alice, bob, login_client):  # noqa: ANN001
    response = read(login_client(alice), bob, None)
    assert response.status_code == 400
    assert response.json()["message"] == UP_TO_REQUIRED


def test_unknown_user_is_404(alice, three_from_bob, login_client):  # noqa: ANN001
    response = login_client(alice).call(
        "post", "/api/messages/nope/read", {"upTo": str(three_from_bob[0].pk)}
    )
    assert response.status_code == 404
    assert response.json()["message"] == USER_NOT_FOUND


def test_another_pairs_message_id_is_404(
    make_user, alice, bob, three_from_bob, login_client, sent_events
):  # noqa: ANN001
    """Carol cannot use an id from Alice and Bob's conversation; nothing changes."""
    carol = make_user()
    make_message_id = str(three_from_bob[2].pk)
    client = login_client(carol)
    with sent_events() as events:
        for other in (alice, bob):
            response = read(client, other, make_message_id)
            assert response.status_code == 404
            assert response.json()["message"] == MESSAGE_NOT_FOUND
    assert events == []
    assert all(read_at is None for _, read_at in marks(login_client(bob), alice).values())


def test_read_needs_login(api, bob, three_from_bob):  # noqa: ANN001
    assert read(api, bob, str(three_from_bob[0].pk)).status_code == 401
