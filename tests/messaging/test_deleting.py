"""Deleting a message for everyone: DELETE /api/conversations/<cid>/messages/<mid>, the
tombstone everywhere (seed endpoints included), `messageDeleted`, the image file removed."""

import logging

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async

from messaging.editing import NOT_YOUR_MESSAGE, READ_ONLY, SYSTEM_LINE
from messaging.models import Message, MessageEdit, Reaction
from messaging.selectors import MESSAGE_NOT_FOUND
from tests.messaging.responses import CONVERSATIONS_URL, error, ok
from tests.messaging.responses import message_url as url
from tests.messaging.test_consumer import drain, next_event

URL = CONVERSATIONS_URL


def test_the_sender_deletes_and_every_member_hears_it(
    alice, bob, carol, team, group_post, login_client, sent_events
):  # noqa: ANN001
    """200 with the tombstone (no text, no picture, no quote, no reactions); every member hears
    `messageDeleted {conversationId, _id, seq, deletedAt}`; the row keeps its place."""
    message = group_post(bob, team, "oops, wrong group")
    after = group_post(alice, team, "next")

    with sent_events() as events:
        tomb = ok(login_client(bob).delete(url(message)))

    assert (tomb["_id"], tomb["seq"], tomb["senderId"]) == (str(message.pk), 2, str(bob.pk))
    assert tomb["deletedAt"] and tomb["text"] is None and tomb["image"] is None
    assert tomb["replyTo"] is None and tomb["reactions"] == []
    [(ids, event, data)] = events
    assert event == "messageDeleted" and ids == sorted(str(u.pk) for u in (alice, bob, carol))
    assert data == {
        "conversationId": str(team.pk),
        "_id": str(message.pk),
        "seq": 2,
        "deletedAt": tomb["deletedAt"],
    }
    page = ok(login_client(carol).get(f"{URL}{team.pk}/messages"))
    assert [m["seq"] for m in page] == [1, 2, 3]  # no gap: clients' gap detection holds
    assert page[1] == tomb and page[2]["_id"] == str(after.pk)
    assert "wrong group" not in str(page)
    message.refresh_from_db()
    assert (message.text, message.deleted_by_id) == ("", bob.pk)


def test_the_seed_endpoints_never_return_the_deleted_text(alice, bob, make_message, login_client):  # noqa: ANN001
    """History, the users list and the sidebar show the tombstone, never the old text."""
    message = make_message(alice, bob, "the secret plan")

    ok(login_client(alice).delete(url(message)))

    client = login_client(bob)
    history = client.get(f"/api/messages/{alice.pk}")
    users = client.get("/api/messages/users")
    sidebar = client.get(URL)
    for response in (history, users, sidebar):
        assert b"secret plan" not in response.content
    [row] = ok(history)
    assert row["deletedAt"] and row["text"] is None
    assert ok(users)[0]["lastMessage"]["deletedAt"] == row["deletedAt"]
    assert ok(sidebar)[0]["lastMessage"]["deletedAt"] == row["deletedAt"]


def test_deleting_removes_the_picture_from_storage(
    bob, team, login_client, png_data_url, chat_media, django_capture_on_commit_callbacks
):  # noqa: ANN001
    """The stored image file goes once the deletion commits."""
    client = login_client(bob)
    sent = ok(client.call("post", f"{URL}{team.pk}/messages", {"image": png_data_url()}), 201)
    assert list((chat_media / "messages").iterdir())

    with django_capture_on_commit_callbacks(execute=True):
        tomb = ok(client.delete(f"{URL}{team.pk}/messages/{sent['_id']}"))

    assert tomb["image"] is None
    assert list((chat_media / "messages").iterdir()) == []
    assert Message.objects.get(pk=sent["_id"]).image == ""


def test_a_storage_failure_is_logged_not_a_500(
    bob,
    team,
    login_client,
    png_data_url,
    chat_media,
    monkeypatch,
    caplog,
    django_capture_on_commit_callbacks,
):  # noqa: ANN001
    """The message is deleted all the same; the file that would not go is logged."""
    from django.core.files.storage import default_storage

    client = login_client(bob)
    sent = ok(client.call("post", f"{URL}{team.pk}/messages", {"image": png_data_url()}), 201)

    def broken(name: str) -> None:
        raise OSError("storage away")

    monkeypatch.setattr(default_storage, "delete", broken)
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        tomb = ok(client.delete(f"{URL}{team.pk}/messages/{sent['_id']}"))

    assert tomb["deletedAt"]
    assert "could not delete stored image" in caplog.text


def test_deleting_takes_its_reactions_and_its_edit_history(bob, team, group_post, login_client):  # noqa: ANN001
    """Nothing of what it said stays behind: reactions and earlier texts go with it."""
    message = group_post(bob, team, "first")
    client = login_client(bob)
    ok(client.call("patch", url(message), {"text": "second"}))
    ok(client.call("post", f"{url(message)}/reactions", {"emoji": "👍"}))

    ok(client.delete(url(message)))

    assert not Reaction.objects.filter(message=message).exists()
    assert not MessageEdit.objects.filter(message=message).exists()


def test_deleting_twice_answers_the_tombstone_and_announces_once(
    bob, team, group_post, login_client, sent_events
):  # noqa: ANN001
    """A retried delete is 200 with the same tombstone, and nobody hears it again."""
    message = group_post(bob, team, "twice")
    client = login_client(bob)
    first = ok(client.delete(url(message)))

    with sent_events() as events:
        again = ok(client.delete(url(message)))

    assert again == first and events == []


def test_the_sidebar_shows_the_tombstone_as_the_last_message(
    bob, carol, team, group_post, login_client
):  # noqa: ANN001
    """The conversation's newest message deleted: the sidebar row shows it deleted."""
    message = group_post(bob, team, "last words")

    ok(login_client(bob).delete(url(message)))

    [row] = ok(login_client(carol).get(URL))
    assert row["lastMessage"]["_id"] == str(message.pk)
    assert row["lastMessage"]["deletedAt"] and row["lastMessage"]["text"] is None


# --- Who may not ------------------------------------------------------------------------------


def test_someone_elses_message_is_403(alice, bob, team, group_post, login_client):  # noqa: ANN001
    """Only operators (in /admin) delete other people's messages."""
    message = group_post(bob, team, "mine")

    assert error(login_client(alice).delete(url(message)), 403) == {"message": NOT_YOUR_MESSAGE}
    assert Message.objects.get(pk=message.pk).deleted_at is None


def test_a_system_line_cannot_be_deleted(alice, team, login_client):  # noqa: ANN001
    line = Message.objects.get(conversation=team, seq=1)
    assert error(login_client(alice).delete(url(line)), 403) == {"message": SYSTEM_LINE}


def test_a_member_who_left_cannot_delete(bob, team, group_post, login_client):  # noqa: ANN001
    message = group_post(bob, team, "still here")
    client = login_client(bob)
    ok(client.call("post", f"{URL}{team.pk}/leave"))

    assert error(client.delete(url(message)), 403) == {"message": READ_ONLY}


def test_a_message_of_another_conversation_is_404(alice, bob, team, make_message, login_client):  # noqa: ANN001
    elsewhere = make_message(alice, bob, "direct")
    response = login_client(alice).delete(f"{URL}{team.pk}/messages/{elsewhere.pk}")
    assert error(response, 404) == {"message": MESSAGE_NOT_FOUND}
    assert Message.objects.get(pk=elsewhere.pk).deleted_at is None


# --- Live, on every socket ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_a_deletion_reaches_every_socket_of_every_member(
    open_socket, login_client, alice, bob, carol, make_group, group_post
):  # noqa: ANN001
    """Every tab of every member gets `messageDeleted`."""
    team = await database_sync_to_async(make_group)(alice, bob, carol)
    message = await database_sync_to_async(group_post)(carol, team, "regret")
    sockets = [await open_socket(u) for u in (alice, bob, carol, carol)]
    for socket in sockets:
        await drain(socket)

    response = await sync_to_async(login_client(carol).delete)(url(message))

    assert response.status_code == 200, response.content
    for socket in sockets:
        gone = await next_event(socket, "messageDeleted")
        assert (gone["_id"], gone["seq"], gone["conversationId"]) == (
            str(message.pk),
            message.seq,
            str(team.pk),
        )
