"""POST /api/messages/<id> and /send/<id>: text and images, idempotent by clientId, limited."""

import re

import pytest
from django.db import OperationalError

from chatproject.images import NOT_AN_IMAGE, TOO_LARGE
from messaging import selectors, sending
from messaging.models import Message
from messaging.selectors import USER_NOT_FOUND
from messaging.sending import (
    CLIENT_ID_INVALID,
    EMPTY_MESSAGE,
    NOT_YOURSELF,
    SERVER_BUSY,
    TEXT_TOO_LONG,
    TOO_MANY_MESSAGES,
)
from tests.accounts.conftest import ISO_UTC
from tests.messaging.test_api_history import MESSAGE_KEYS


@pytest.fixture(params=["/api/messages/{}", "/api/messages/send/{}"], ids=["id", "send-id"])
def send_url(request) -> str:  # noqa: ANN001
    """Both paths the old app served."""
    return request.param


def post(client, path: str, user, body: dict):  # noqa: ANN001
    return client.call("post", path.format(user.pk), body)


def test_send_text_returns_the_message(send_url, alice, bob, login_client):  # noqa: ANN001
    """201 with the contract's Message shape; it is stored."""
    response = post(login_client(alice), send_url, bob, {"text": "Hello Bob"})

    assert response.status_code == 201
    data = response.json()
    assert set(data) == MESSAGE_KEYS | {"prevId"}
    assert data["senderId"] == str(alice.pk) and data["receiverId"] == str(bob.pk)
    assert data["text"] == "Hello Bob"
    assert data["image"] is None and data["clientId"] is None
    assert data["deliveredAt"] is None and data["readAt"] is None
    assert ISO_UTC.match(data["createdAt"]) and ISO_UTC.match(data["updatedAt"])
    stored = Message.objects.get()
    assert str(stored.pk) == data["_id"] and stored.text == "Hello Bob"


@pytest.mark.parametrize("body", [{}, {"text": ""}, {"text": "   \n"}, {"text": None, "image": ""}])
def test_text_or_image_is_required(body, alice, bob, login_client):  # noqa: ANN001
    response = post(login_client(alice), "/api/messages/{}", bob, body)
    assert response.status_code == 400
    assert response.json()["message"] == EMPTY_MESSAGE
    assert not Message.objects.exists()


def test_text_limit_is_5000_characters(alice, bob, login_client):  # noqa: ANN001
    client = login_client(alice)
    assert post(client, "/api/messages/{}", bob, {"text": "x" * 5000}).status_code == 201
    response = post(client, "/api/messages/{}", bob, {"text": "x" * 5001})
    assert response.status_code == 400
    assert response.json()["message"] == TEXT_TOO_LONG
    assert Message.objects.count() == 1


def test_non_string_text_is_400(alice, bob, login_client):  # noqa: ANN001
    response = post(login_client(alice), "/api/messages/{}", bob, {"text": 42})
    assert response.status_code == 400
    assert not Message.objects.exists()


def test_image_is_checked_stored_and_served(alice, bob, login_client, png_data_url, chat_media):  # noqa: ANN001
    """An image message stores a re-encoded file under messages/ and returns its URL."""
    response = post(
        login_client(alice), "/api/messages/{}", bob, {"image": png_data_url(), "text": ""}
    )

    assert response.status_code == 201
    data = response.json()
    assert data["text"] is None
    assert re.match(r"^/media/messages/[0-9a-f]{32}\.png$", data["image"])
    assert (chat_media / data["image"].removeprefix("/media/")).is_file()


def test_not_an_image_is_400_and_nothing_is_kept(alice, bob, login_client, chat_media):  # noqa: ANN001
    response = post(
        login_client(alice),
        "/api/messages/{}",
        bob,
        {"image": "data:image/png;base64,bm90IGFuIGltYWdl"},
    )
    assert response.status_code == 400
    assert response.json()["message"] == NOT_AN_IMAGE
    assert not Message.objects.exists()
    assert not any(chat_media.rglob("*.*"))


def test_too_large_image_is_413(alice, bob, login_client, png_data_url, chat_media, settings):  # noqa: ANN001
    settings.IMAGE_MAX_BYTES = 100
    response = post(
        login_client(alice), "/api/messages/{}", bob, {"image": png_data_url(size=(300, 300))}
    )
    assert response.status_code == 413
    assert response.json()["message"] == TOO_LARGE
    assert not Message.objects.exists()


def test_unknown_malformed_or_inactive_receiver_is_404(make_user, alice, login_client):  # noqa: ANN001
    inactive = make_user(is_active=False)
    gone = make_user()
    gone_id = gone.pk
    gone.delete()
    client = login_client(alice)
    for receiver_id in ("nope", gone_id, inactive.pk):
        response = client.call("post", f"/api/messages/{receiver_id}", {"text": "hi"})
        assert response.status_code == 404
        assert response.json()["message"] == USER_NOT_FOUND
    assert not Message.objects.exists()


def test_cannot_message_yourself(send_url, alice, login_client):  # noqa: ANN001
    response = post(login_client(alice), send_url, alice, {"text": "note to self"})
    assert response.status_code == 400
    assert response.json()["message"] == NOT_YOURSELF


def test_same_client_id_twice_gives_the_first_message(alice, bob, login_client):  # noqa: ANN001
    """A retried send answers 200 with the original message; nothing is duplicated."""
    client = login_client(alice)
    first = post(client, "/api/messages/{}", bob, {"text": "once", "clientId": "c-1"})
    again = post(client, "/api/messages/send/{}", bob, {"text": "once", "clientId": "c-1"})

    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == first.json()
    assert again.json()["clientId"] == "c-1"
    assert Message.objects.count() == 1


def test_client_ids_are_per_sender(alice, bob, login_client):  # noqa: ANN001
    """Two people may happen to pick the same clientId."""
    a = post(login_client(alice), "/api/messages/{}", bob, {"text": "a", "clientId": "same"})
    b = post(login_client(bob), "/api/messages/{}", alice, {"text": "b", "clientId": "same"})
    assert a.status_code == b.status_code == 201
    assert Message.objects.count() == 2


def test_many_messages_without_client_id(alice, bob, login_client):  # noqa: ANN001
    """Messages without a clientId never collide with each other."""
    client = login_client(alice)
    for _ in range(3):
        assert post(client, "/api/messages/{}", bob, {"text": "x"}).status_code == 201
    assert Message.objects.filter(client_id__isnull=True).count() == 3


def test_too_long_client_id_is_400(alice, bob, login_client):  # noqa: ANN001
    response = post(
        login_client(alice), "/api/messages/{}", bob, {"text": "x", "clientId": "c" * 65}
    )
    assert response.status_code == 400
    assert response.json()["message"] == CLIENT_ID_INVALID


def test_concurrent_retry_with_same_client_id_gives_the_first(
    alice, bob, login_client, make_message, monkeypatch, png_data_url, chat_media
):  # noqa: ANN001
    """If the other retry is stored between our check and our insert, we answer with it."""
    real = selectors.message_by_client_id_qs
    checks = []

    def other_request_wins_the_race(**kwargs: object):  # noqa: ANN202
        checks.append(kwargs)
        if len(checks) == 1:
            make_message(alice, bob, "the first one", client_id="c-race")
            return Message.objects.none()  # our check ran just before it landed
        return real(**kwargs)

    monkeypatch.setattr(selectors, "message_by_client_id_qs", other_request_wins_the_race)
    response = post(
        login_client(alice),
        "/api/messages/{}",
        bob,
        {"text": "retry", "image": png_data_url(), "clientId": "c-race"},
    )

    assert response.status_code == 200
    assert response.json()["text"] == "the first one"
    assert Message.objects.count() == 1
    assert not any(chat_media.rglob("*.png")), "the losing request's image is removed"


def test_a_failed_save_leaves_no_image_behind(
    alice, bob, login_client, png_data_url, chat_media, monkeypatch
):  # noqa: ANN001
    """Any failure between storing the image and committing the row (here the database refusing
    the write) deletes the stored image again: 503 with retry advice, no message, no file."""
    from messaging import hotsql

    def failing_insert(message: Message) -> bool:
        raise OperationalError("database is locked")

    monkeypatch.setattr(hotsql, "message_insert", failing_insert)
    response = post(login_client(alice), "/api/messages/{}", bob, {"image": png_data_url()})
    assert response.status_code == 503
    assert response.json()["message"] == SERVER_BUSY and response["Retry-After"]
    assert Message.objects.count() == 0
    assert not any(path.is_file() for path in chat_media.rglob("*"))


def test_sending_is_rate_limited_per_sender(alice, bob, make_user, login_client, settings):  # noqa: ANN001
    """Past the limit: 429 with Retry-After, nothing stored; other senders are unaffected."""
    settings.MESSAGE_RATE_PER_USER = 3
    settings.MESSAGE_RATE_WINDOW = 60
    client = login_client(alice)
    for n in range(3):
        assert (
            post(client, "/api/messages/{}", bob, {"text": f"{n}", "clientId": f"k{n}"}).status_code
            == 201
        )

    response = post(client, "/api/messages/{}", bob, {"text": "one too many"})
    assert response.status_code == 429
    assert response.json()["message"] == TOO_MANY_MESSAGES
    assert 1 <= int(response["Retry-After"]) <= 60
    assert Message.objects.count() == 3
    # A retry of something already sent is not a new message and still answers.
    assert post(client, "/api/messages/{}", bob, {"text": "0", "clientId": "k0"}).status_code == 200
    assert post(login_client(bob), "/api/messages/{}", alice, {"text": "hi"}).status_code == 201


def test_a_new_message_reaches_both_people(alice, bob, login_client, sent_events):  # noqa: ANN001
    """After the commit, `newMessage` goes to the sender's and the receiver's sockets."""
    with sent_events() as events:
        response = post(login_client(alice), "/api/messages/{}", bob, {"text": "ping"})

    assert events == [(sorted([str(alice.pk), str(bob.pk)]), "newMessage", response.json())]


def test_a_retry_announces_nothing(alice, bob, login_client, sent_events):  # noqa: ANN001
    client = login_client(alice)
    post(client, "/api/messages/{}", bob, {"text": "ping", "clientId": "c"})
    with sent_events() as events:
        assert (
            post(client, "/api/messages/{}", bob, {"text": "ping", "clientId": "c"}).status_code
            == 200
        )
    assert events == []


def test_a_refused_message_announces_nothing(alice, bob, login_client, sent_events):  # noqa: ANN001
    with sent_events() as events:
        post(login_client(alice), "/api/messages/{}", bob, {"text": "x" * 5001})
    assert events == []


def test_sending_needs_login(api, bob):  # noqa: ANN001
    assert api.call("post", f"/api/messages/{bob.pk}", {"text": "hi"}).status_code == 401
    assert not Message.objects.exists()


def test_service_returns_created_flag(alice, bob):  # noqa: ANN001
    """message_send: created first, the same message (not created) for the same clientId."""
    first_sent = sending.message_send(
        sender=alice, receiver_id=str(bob.pk), text="hi", image=None, client_id="z"
    )
    again_sent = sending.message_send(
        sender=alice, receiver_id=str(bob.pk), text="hi", image=None, client_id="z"
    )
    assert first_sent.created is True and again_sent.created is False
    assert again_sent.message.pk == first_sent.message.pk
