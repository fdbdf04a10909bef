"""The messaging services the WebSocket consumer calls: delivery receipts, shapes, deletion."""

import pytest
from django.db import connection, transaction

from chatproject.errors import ServiceError
from messaging import receipts, selectors, sending, services
from messaging.models import Message
from tests.accounts.conftest import ISO_UTC


def delivered(viewer, other, login_client) -> dict[str, object]:  # noqa: ANN001
    """What `viewer`'s history with `other` shows: message id -> deliveredAt."""
    response = login_client(viewer).get(f"/api/messages/{other.pk}")
    return {m["_id"]: m["deliveredAt"] for m in response.json()}


def test_mark_delivered_tells_each_sender_once(
    make_user, alice, bob, make_message, sent_events, login_client
):  # noqa: ANN001
    """Everything waiting for Alice is delivered; each sender hears about their newest one."""
    carol = make_user()
    make_message(bob, alice, "b1")
    b2 = make_message(bob, alice, "b2")
    c1 = make_message(carol, alice, "c1")
    to_bob = make_message(alice, bob, "not for alice")

    with sent_events() as events:
        changed = receipts.messages_mark_delivered(receiver=alice)

    assert changed == 2  # her conversations with Bob and with Carol
    assert all(delivered(bob, alice, login_client)[str(m.pk)] for m in (b2,))
    assert delivered(carol, alice, login_client)[str(c1.pk)]
    assert delivered(alice, bob, login_client)[str(to_bob.pk)] is None
    by_user = {to[0]: (event, data) for to, event, data in events}
    assert len(events) == 2
    for sender, last in ((bob, to_bob), (carol, c1)):
        event, data = by_user[str(sender.pk)]
        assert event == "messagesDelivered"
        assert data["userId"] == str(alice.pk) and data["upTo"] == str(last.pk)
        assert ISO_UTC.match(data["at"])


def test_mark_delivered_twice_announces_once(alice, bob, make_message, sent_events):  # noqa: ANN001
    """A second tab doing the same finds nothing left and stays quiet."""
    make_message(bob, alice, "hi")
    with sent_events() as events:
        assert receipts.messages_mark_delivered(receiver=alice) == 1
        assert receipts.messages_mark_delivered(receiver=alice) == 0
    assert len(events) == 1


def test_mark_delivered_with_nothing_waiting(alice, sent_events):  # noqa: ANN001
    with sent_events() as events:
        assert receipts.messages_mark_delivered(receiver=alice) == 0
    assert events == []


def test_nothing_is_announced_when_the_transaction_rolls_back(alice, bob, sent_events):  # noqa: ANN001
    """Events leave only with the commit: a rolled-back send tells nobody."""
    if not connection.features.supports_transactions:
        pytest.skip("MongoDB: Django's atomic() commits each write as it happens")
    with sent_events() as events, pytest.raises(RuntimeError), transaction.atomic():
        sending.message_send(
            sender=alice, receiver_id=str(bob.pk), text="hi", image=None, client_id=None
        )
        raise RuntimeError("the surrounding work failed")
    assert events == []
    assert not Message.objects.exists()


def test_mark_read_service(alice, bob, make_message):  # noqa: ANN001
    """The consumer's `read` event: same rules as the REST endpoint."""
    message = make_message(bob, alice, "hi")
    assert (
        receipts.messages_mark_read(reader=alice, other_id=str(bob.pk), up_to=str(message.pk)) == 1
    )
    with pytest.raises(ServiceError) as caught:
        receipts.messages_mark_read(reader=bob, other_id=str(alice.pk), up_to="bogus")
    assert caught.value.status == 404


def test_message_public_shape(alice, bob, make_message):  # noqa: ANN001
    """Ids are strings, times ISO UTC, absent text/image/clientId/receipts/quote are null."""
    message = make_message(alice, bob, "", image="messages/abc.png", client_id="k")
    data = selectors.message_public(message, original=None, reactions=[])
    assert data["replyTo"] is None and data["reactions"] == []
    assert data["editedAt"] is None and data["deletedAt"] is None
    assert data["_id"] == str(message.pk)
    assert data["senderId"] == str(alice.pk) and data["receiverId"] == str(bob.pk)
    assert data["text"] is None
    assert data["image"] == "/media/messages/abc.png"
    assert data["clientId"] == "k"
    assert data["deliveredAt"] is None and data["readAt"] is None
    assert ISO_UTC.match(data["createdAt"])


def test_deleting_messages_removes_their_images(
    alice, bob, login_client, png_data_url, chat_media, django_capture_on_commit_callbacks
):  # noqa: ANN001
    """Deleted messages take their stored image files with them, once the delete commits."""
    client = login_client(alice)
    with_image = client.call("post", f"/api/messages/{bob.pk}", {"image": png_data_url()}).json()
    keep = client.call("post", f"/api/messages/{bob.pk}", {"image": png_data_url()}).json()
    assert len(list(chat_media.rglob("*.png"))) == 2

    with django_capture_on_commit_callbacks(execute=True):
        deleted = services.messages_delete(messages=Message.objects.filter(pk=with_image["_id"]))

    assert deleted == (1, 1)
    remaining = [p.name for p in chat_media.rglob("*.png")]
    assert remaining == [keep["image"].rsplit("/", 1)[1]]
