"""Editing one's own message: PATCH /api/conversations/<cid>/messages/<mid>, the "edited" mark,
`messageUpdated` to every member, the history operators keep, and who may not edit what."""

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async

from messaging.editing import (
    MESSAGE_DELETED,
    NOT_YOUR_MESSAGE,
    READ_ONLY,
    SYSTEM_LINE,
    TOO_MANY_EDITS,
)
from messaging.models import Message, MessageEdit
from messaging.selectors import CONVERSATION_NOT_FOUND, MESSAGE_NOT_FOUND
from messaging.sending import EMPTY_MESSAGE, TEXT_TOO_LONG
from tests.messaging.responses import CONVERSATIONS_URL, error, ok
from tests.messaging.responses import message_url as url
from tests.messaging.test_consumer import drain, events_within, next_event

URL = CONVERSATIONS_URL
XSS = '<script>alert(1)</script><img src=x onerror="alert(2)">'


def everyone(*users) -> list[str]:  # noqa: ANN002
    return sorted(str(u.pk) for u in users)


# --- Editing ------------------------------------------------------------------------------------


def test_the_sender_edits_and_every_member_hears_the_whole_message(
    alice, bob, carol, team, group_post, login_client, sent_events
):  # noqa: ANN001
    """200 with the new text and `editedAt`; every member hears `messageUpdated` carrying the
    same Message JSON, and the history page shows it too."""
    message = group_post(bob, team, "helo team")

    with sent_events() as events:
        edited = ok(login_client(bob).call("patch", url(message), {"text": "hello team"}))

    assert (edited["_id"], edited["seq"], edited["text"]) == (
        str(message.pk),
        message.seq,
        "hello team",
    )
    assert edited["editedAt"] and edited["deletedAt"] is None and edited["kind"] == "text"
    assert [(ids, event) for ids, event, _ in events] == [
        (everyone(alice, bob, carol), "messageUpdated")
    ]
    # As in `newMessage`, a text message's frame leaves out `kind` and `event`.
    frame = {key: value for key, value in edited.items() if key not in ("kind", "event")}
    assert events[0][2] == {"message": frame}
    page = ok(login_client(carol).get(f"{URL}{team.pk}/messages"))
    assert (page[-1]["text"], page[-1]["editedAt"]) == ("hello team", edited["editedAt"])
    assert page[0]["editedAt"] is None  # the untouched system line


def test_each_edit_keeps_the_text_before_it_for_operators(bob, team, group_post, login_client):  # noqa: ANN001
    """One history row per edit: the text as it was, who changed it and when."""
    message = group_post(bob, team, "one")
    client = login_client(bob)

    ok(client.call("patch", url(message), {"text": "two"}))
    ok(client.call("patch", url(message), {"text": "three"}))

    history = MessageEdit.objects.filter(message=message).order_by("edited_at", "id")
    assert [(h.text, h.edited_by_id) for h in history] == [("one", bob.pk), ("two", bob.pk)]
    message.refresh_from_db()
    assert message.text == "three" and message.edited_at == history.last().edited_at


def test_the_same_text_again_changes_nothing(bob, team, group_post, login_client, sent_events):  # noqa: ANN001
    """No "edited" mark, no history row, no event for a save that changed nothing."""
    message = group_post(bob, team, "same")

    with sent_events() as events:
        answer = ok(login_client(bob).call("patch", url(message), {"text": "same"}))

    assert answer["editedAt"] is None and events == []
    assert not MessageEdit.objects.exists()


def test_a_direct_message_edit_shows_in_the_seed_api_and_the_sidebars(
    alice, bob, make_message, login_client
):  # noqa: ANN001
    """The seed history, the seed users list and the conversations sidebar all show the new
    text with `editedAt`."""
    message = make_message(alice, bob, "frist")

    ok(login_client(alice).call("patch", url(message), {"text": "first"}))

    client = login_client(bob)
    [row] = ok(client.get(f"/api/messages/{alice.pk}"))
    assert row["text"] == "first" and row["editedAt"]
    [contact] = ok(client.get("/api/messages/users"))
    assert contact["lastMessage"]["text"] == "first" and contact["lastMessage"]["editedAt"]
    [conversation] = ok(client.get(URL))
    assert conversation["lastMessage"]["text"] == "first"
    assert conversation["lastMessage"]["editedAt"] == row["editedAt"]


@pytest.mark.parametrize(
    ("body", "sentence"),
    [
        ({"text": "   "}, EMPTY_MESSAGE),
        ({}, EMPTY_MESSAGE),
        ({"text": "x" * 5001}, TEXT_TOO_LONG),
    ],
)
def test_the_new_text_follows_the_rules_of_a_send(
    body, sentence, bob, team, group_post, login_client
):  # noqa: ANN001
    """Empty or too long: 400 with the send's own sentence; the message stays as it was."""
    message = group_post(bob, team, "keep me")

    assert error(login_client(bob).call("patch", url(message), body), 400)["message"] == sentence

    message.refresh_from_db()
    assert message.text == "keep me" and message.edited_at is None


def test_a_picture_may_lose_its_caption_but_not_become_empty(
    bob, team, login_client, png_data_url, chat_media
):  # noqa: ANN001
    """An image message edited to no text keeps its picture; a text message cannot."""
    client = login_client(bob)
    body = {"image": png_data_url(), "text": "look"}
    picture = ok(client.call("post", f"{URL}{team.pk}/messages", body), 201)
    text_only = ok(client.call("post", f"{URL}{team.pk}/messages", {"text": "words"}), 201)

    bare = ok(client.call("patch", f"{URL}{team.pk}/messages/{picture['_id']}", {"text": ""}))
    emptied = client.call("patch", f"{URL}{team.pk}/messages/{text_only['_id']}", {"text": ""})

    assert bare["text"] is None and bare["image"] == picture["image"] and bare["editedAt"]
    assert error(emptied, 400)["message"] == EMPTY_MESSAGE


def test_html_in_an_edit_comes_back_as_data(
    alice, bob, team, group_post, login_client, sent_events
):  # noqa: ANN001
    """Markup is text: answered and announced exactly as typed, in JSON, never as HTML."""
    message = group_post(bob, team, "plain")

    with sent_events() as events:
        response = login_client(bob).call("patch", url(message), {"text": XSS})

    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert ok(response)["text"] == XSS
    assert events[0][2]["message"]["text"] == XSS
    page = ok(login_client(alice).get(f"{URL}{team.pk}/messages"))
    assert page[-1]["text"] == XSS


# --- Who may not ------------------------------------------------------------------------------


def test_someone_elses_message_is_403(alice, bob, team, group_post, login_client):  # noqa: ANN001
    """Another member's message cannot be edited, even by the group's admin."""
    message = group_post(bob, team, "mine")

    response = login_client(alice).call("patch", url(message), {"text": "yours now"})

    assert error(response, 403) == {"message": NOT_YOUR_MESSAGE}
    message.refresh_from_db()
    assert message.text == "mine"


def test_a_system_line_cannot_be_edited(alice, team, login_client):  # noqa: ANN001
    """ "Alice created the group" is the record, even for Alice."""
    line = Message.objects.get(conversation=team, seq=1)

    response = login_client(alice).call("patch", url(line), {"text": "rewritten"})

    assert error(response, 403) == {"message": SYSTEM_LINE}


def test_a_message_you_cannot_see_is_404(
    alice, bob, team, group_post, make_message, make_user, login_client
):  # noqa: ANN001
    """Not in the conversation, another conversation's message, a malformed id, a message from
    before you joined: 404, as for a message that does not exist."""
    early = group_post(bob, team, "before dan")
    dan = make_user()
    ok(login_client(alice).call("post", f"{URL}{team.pk}/members", {"userIds": [str(dan.pk)]}))
    elsewhere = make_message(alice, bob, "direct")
    body = {"text": "x"}

    stranger = login_client(make_user()).call("patch", url(early), body)
    assert error(stranger, 404) == {"message": CONVERSATION_NOT_FOUND}
    for path in (
        f"{URL}{team.pk}/messages/{elsewhere.pk}",
        f"{URL}{team.pk}/messages/nope",
        url(early),
    ):
        response = login_client(dan if path == url(early) else alice).call("patch", path, body)
        assert error(response, 404) == {"message": MESSAGE_NOT_FOUND}


def test_a_member_who_left_is_read_only(bob, team, group_post, login_client):  # noqa: ANN001
    """Someone who left keeps their messages as they were: 403."""
    message = group_post(bob, team, "bye")
    client = login_client(bob)
    ok(client.call("post", f"{URL}{team.pk}/leave"))

    assert error(client.call("patch", url(message), {"text": "edited"}), 403) == {
        "message": READ_ONLY
    }


def test_a_deleted_message_cannot_be_edited(bob, team, group_post, login_client):  # noqa: ANN001
    """400: a tombstone gets no new text."""
    message = group_post(bob, team, "gone soon")
    client = login_client(bob)
    ok(client.delete(url(message)))

    assert error(client.call("patch", url(message), {"text": "back"}), 400) == {
        "message": MESSAGE_DELETED
    }


def test_editing_too_fast_is_429(bob, team, group_post, login_client, settings):  # noqa: ANN001
    """Edits are limited like sends (MESSAGE_RATE_PER_USER per window), with Retry-After."""
    settings.MESSAGE_RATE_PER_USER = 2
    message = group_post(bob, team, "v0")
    client = login_client(bob)
    for n in (1, 2):
        ok(client.call("patch", url(message), {"text": f"v{n}"}))

    response = client.call("patch", url(message), {"text": "v3"})

    assert error(response, 429) == {"message": TOO_MANY_EDITS}
    assert int(response["Retry-After"]) >= 1
    message.refresh_from_db()
    assert message.text == "v2"


# --- Live, on every socket ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_an_edit_reaches_every_socket_of_every_member(
    open_socket, login_client, alice, bob, carol, make_group, group_post
):  # noqa: ANN001
    """Bob edits over REST: his other tab, and every tab of Alice and Carol, get
    `messageUpdated`; in a direct conversation, both people's tabs do."""
    team = await database_sync_to_async(make_group)(alice, bob, carol)
    message = await database_sync_to_async(group_post)(bob, team, "typo")
    sockets = [await open_socket(u) for u in (alice, alice, bob, bob, carol)]
    for socket in sockets:
        await drain(socket)

    response = await sync_to_async(login_client(bob).call)("patch", url(message), {"text": "fixed"})

    assert response.status_code == 200, response.content
    for socket in sockets:
        updated = await next_event(socket, "messageUpdated")
        assert (updated["message"]["_id"], updated["message"]["text"]) == (str(message.pk), "fixed")

    sent = await sync_to_async(login_client(alice).call)(
        "post", f"/api/messages/send/{bob.pk}", {"text": "direct typo"}
    )
    sent = sent.json()
    for socket in sockets[:4]:
        await drain(socket)
    path = f"{URL}{sent['conversationId']}/messages/{sent['_id']}"
    response = await sync_to_async(login_client(alice).call)("patch", path, {"text": "direct"})
    assert response.status_code == 200, response.content
    for socket in sockets[:4]:
        assert (await next_event(socket, "messageUpdated"))["message"]["text"] == "direct"
    assert "messageUpdated" not in await events_within(sockets[4])  # Carol is not in it
