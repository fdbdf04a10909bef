"""Sending an uploaded file: `attachmentId` on the REST sends and the WebSocket's sendMessage."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from attachments.models import Attachment
from attachments.services import ATTACHMENT_UNAVAILABLE
from messaging.models import Message
from messaging.sending import EMPTY_MESSAGE
from tests.attachments.conftest import PDF, URL

pytestmark = pytest.mark.django_db
SAVEPOINTS = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


def unavailable(response) -> None:  # noqa: ANN001
    assert response.status_code == 400, response.content
    assert response.json() == {
        "message": ATTACHMENT_UNAVAILABLE,
        "errors": {"attachmentId": [ATTACHMENT_UNAVAILABLE]},
    }


def test_a_file_alone_is_a_message(uploaded, send_file, alice, bob, direct, sent_events):  # noqa: ANN001
    """No text needed: the message carries `file`, the upload points at it, and both people
    hear `newMessage` with the file."""
    file = uploaded(alice, direct, "minutes.pdf")
    with sent_events() as events:
        response = send_file(alice, direct, file["_id"])

    assert response.status_code == 201, response.content
    message = response.json()
    assert message["file"] == file and message["text"] is None and message["image"] is None
    assert Attachment.objects.get().message_id == Message.objects.get().pk
    [(users, event, data)] = events
    assert event == "newMessage" and users == sorted([str(alice.pk), str(bob.pk)])
    assert data["file"] == file


def test_text_and_a_file(uploaded, send_file, alice, direct):  # noqa: ANN001
    file = uploaded(alice, direct)
    message = send_file(alice, direct, file["_id"], text="the minutes").json()
    assert (message["text"], message["file"]["_id"]) == ("the minutes", file["_id"])


def test_a_message_without_text_image_or_file_is_still_400(login_client, alice, direct):  # noqa: ANN001
    response = login_client(alice).call("post", f"{URL}{direct}/messages", {"attachmentId": ""})
    assert response.status_code == 400 and response.json()["message"] == EMPTY_MESSAGE


def test_the_seed_send_takes_an_attachment_id(uploaded, login_client, alice, bob, direct):  # noqa: ANN001
    """`POST /api/messages/send/<userId>` accepts the optional `attachmentId` too (text and
    text-with-image sends are unchanged)."""
    file = uploaded(alice, direct)
    response = login_client(alice).call(
        "post", f"/api/messages/send/{bob.pk}", {"attachmentId": file["_id"], "clientId": "s-1"}
    )
    assert response.status_code == 201, response.content
    assert response.json()["file"] == file
    assert response.json()["receiverId"] == str(bob.pk)


def test_a_sent_file_cannot_be_sent_again(uploaded, send_file, alice, direct):  # noqa: ANN001
    """Reusing an attached id: 400, and no second message."""
    file = uploaded(alice, direct)
    assert send_file(alice, direct, file["_id"]).status_code == 201
    unavailable(send_file(alice, direct, file["_id"], text="again"))
    assert Message.objects.count() == 1


def test_someone_elses_upload_cannot_be_sent(uploaded, send_file, alice, bob, direct):  # noqa: ANN001
    """Bob naming Alice's upload: 400 (the same answer as an unknown id); nothing stored."""
    file = uploaded(alice, direct)
    unavailable(send_file(bob, direct, file["_id"]))
    unavailable(send_file(bob, direct, "999999"))
    unavailable(send_file(bob, direct, "not-an-id"))
    assert not Message.objects.exists()
    assert Attachment.objects.get().message_id is None


def test_an_upload_goes_only_to_its_conversation(
    uploaded, send_file, alice, bob, direct, make_group
):  # noqa: ANN001
    """A file uploaded to one conversation cannot be sent in another."""
    group = make_group(alice, bob)
    file = uploaded(alice, direct)
    unavailable(send_file(alice, group, file["_id"]))


def test_a_retried_send_returns_the_first_message_with_its_file(uploaded, send_file, alice, direct):  # noqa: ANN001
    """The same clientId again (the answer was lost): 200 with the first message and its
    file, not a 400 for an id already attached."""
    file = uploaded(alice, direct)
    first = send_file(alice, direct, file["_id"], clientId="retry-1")
    again = send_file(alice, direct, file["_id"], clientId="retry-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["_id"] == first.json()["_id"] and again.json()["file"] == file


def test_a_plain_text_send_never_looks_for_a_file(login_client, alice, bob, direct):  # noqa: ANN001
    """The benchmarked path: a text send reads nothing of attachments (the lookup only runs
    when attachmentId is given)."""
    client = login_client(alice)
    client.call("post", f"{URL}{direct}/messages", {"text": "warm-up"})  # user cache warm
    with CaptureQueriesContext(connection) as queries:
        response = client.call("post", f"{URL}{direct}/messages", {"text": "hello"})
        seed = client.call("post", f"/api/messages/send/{bob.pk}", {"text": "hello again"})
    assert (response.status_code, seed.status_code) == (201, 201)
    statements = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(SAVEPOINTS)]
    assert not any(Attachment._meta.db_table in sql for sql in statements)
    # Two ORM reads (the conversation and the membership) for the conversation send; the
    # seed send's statements all run on the driver's cursor (messaging/hotsql.py).
    assert len(statements) == 2, statements


@pytest.mark.django_db(transaction=True)
async def test_sending_a_file_over_the_websocket(open_socket, alice, bob, media):  # noqa: ANN001
    """`sendMessage` with `attachmentId`: `messageSent` carries the file, the other side's
    `newMessage` too; reusing it answers `messageFailed` 400."""
    from asgiref.sync import sync_to_async
    from django.core.files.uploadedfile import SimpleUploadedFile

    from attachments.services import attachment_upload
    from messaging.direct import direct_conversation_id
    from tests.messaging.test_consumer import drain, next_event, send_event

    conversation = await sync_to_async(direct_conversation_id)(alice.pk, bob.pk)
    attachment = await sync_to_async(attachment_upload)(
        uploader=alice,
        conversation_id=conversation,
        file=SimpleUploadedFile("plan.pdf", PDF),
    )
    sender, receiver = await open_socket(alice), await open_socket(bob)
    await drain(sender)
    await drain(receiver)

    data = {"conversationId": str(conversation), "attachmentId": str(attachment.pk)}
    await send_event(sender, "sendMessage", {**data, "clientId": "ws-file"})

    sent = (await next_event(sender, "messageSent"))["message"]
    assert sent["file"]["_id"] == str(attachment.pk) and sent["file"]["name"] == "plan.pdf"
    assert (await next_event(receiver, "newMessage"))["file"] == sent["file"]

    await send_event(sender, "sendMessage", {**data, "clientId": "ws-file-2"})
    failed = await next_event(sender, "messageFailed")
    assert (failed["status"], failed["message"]) == (400, ATTACHMENT_UNAVAILABLE)
