"""/api/conversations/<id>/messages, /read and /messages/<mid>/receipts: reading, sending and
"seen by" in direct conversations and groups."""

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.models import Conversation, Message, ReceiptMark
from messaging.receipts import UP_TO_REQUIRED, cursor_move
from messaging.selectors import (
    BAD_LIMIT,
    BEFORE_AND_AFTER,
    CONVERSATION_NOT_FOUND,
    MESSAGE_NOT_FOUND,
    USER_NOT_FOUND,
)
from messaging.sending import EMPTY_MESSAGE, TEXT_TOO_LONG, TOO_MANY_MESSAGES
from tests.messaging.responses import error, ok

URL = "/api/conversations/"
MESSAGE_KEYS = {
    "_id",
    "conversationId",
    "seq",
    "senderId",
    "receiverId",
    "text",
    "image",
    "file",
    "createdAt",
    "updatedAt",
    "clientId",
    "deliveredAt",
    "readAt",
    "kind",
    "event",
    "editedAt",
    "deletedAt",
    "replyTo",
    "reactions",
}


def texts(page: list[dict]) -> list[str]:
    return [m["text"] if m["kind"] == "text" else f"[{m['event']['type']}]" for m in page]


# --- History ------------------------------------------------------------------------------------


def test_history_is_oldest_first_with_system_lines(alice, bob, team, group_post, login_client):  # noqa: ANN001
    """Text and system lines in order, each with conversationId, seq, kind and event."""
    group_post(bob, team, "one")
    group_post(alice, team, "two")

    page = ok(login_client(bob).get(f"{URL}{team.pk}/messages"))

    assert texts(page) == ["[created]", "one", "two"]
    assert all(set(m) == MESSAGE_KEYS for m in page)
    assert [m["seq"] for m in page] == [1, 2, 3]
    assert {m["conversationId"] for m in page} == {str(team.pk)}
    assert page[0]["event"] == {"type": "created", "actor": str(alice.pk), "title": "Team"}
    assert page[1]["kind"] == "text" and page[1]["event"] is None
    assert page[1]["receiverId"] is None  # groups have no receiver


def test_history_pages_back_and_catches_up(alice, bob, team, group_post, login_client):  # noqa: ANN001
    """`limit`, `before` and `after` work as on the seed's history."""
    posted = [group_post(bob, team, f"m{n}") for n in range(6)]
    client = login_client(alice)
    base = f"{URL}{team.pk}/messages"

    newest = ok(client.get(f"{base}?limit=2"))
    assert texts(newest) == ["m4", "m5"]
    assert texts(ok(client.get(f"{base}?limit=2&before={newest[0]['_id']}"))) == ["m2", "m3"]
    assert texts(ok(client.get(f"{base}?limit=3&after={posted[0].pk}"))) == ["m1", "m2", "m3"]
    both = f"{base}?before={posted[3].pk}&after={posted[0].pk}"
    assert error(client.get(both), 400)["message"] == BEFORE_AND_AFTER
    assert error(client.get(f"{base}?limit=0"), 400)["errors"] == {"limit": [BAD_LIMIT]}


def test_a_cursor_from_another_conversation_is_404(alice, bob, team, make_message, login_client):  # noqa: ANN001
    """A message of another conversation names nothing here."""
    elsewhere = make_message(alice, bob, "direct")

    response = login_client(alice).get(f"{URL}{team.pk}/messages?after={elsewhere.pk}")

    assert error(response, 404) == {"message": MESSAGE_NOT_FOUND}


def test_someone_added_reads_from_when_they_were_added(
    alice, bob, team, group_post, make_user, login_client
):  # noqa: ANN001
    """What was said before they joined is not theirs; a cursor in it is 404."""
    early = group_post(bob, team, "before dan")
    dan = make_user()
    ok(login_client(alice).call("post", f"{URL}{team.pk}/members", {"userIds": [str(dan.pk)]}))
    group_post(bob, team, "welcome dan")
    client = login_client(dan)

    assert texts(ok(client.get(f"{URL}{team.pk}/messages"))) == ["[added]", "welcome dan"]
    assert error(client.get(f"{URL}{team.pk}/messages?before={early.pk}"), 404)


def test_a_direct_conversations_history_has_receipts(alice, bob, make_message, login_client):  # noqa: ANN001
    """In a direct conversation deliveredAt/readAt come with each message, as on the seed."""
    read_at = timezone.now() - timedelta(minutes=1)
    message = make_message(alice, bob, "seen", read_at=read_at)

    [row] = ok(login_client(alice).get(f"{URL}{message.conversation_id}/messages"))

    assert row["receiverId"] == str(bob.pk) and row["readAt"] and row["deliveredAt"]


# --- Sending ------------------------------------------------------------------------------------


def test_a_member_posts_to_the_group(alice, bob, carol, team, login_client, sent_events):  # noqa: ANN001
    """201 with prevId; every member's sockets get `newMessage` with the same JSON."""
    with sent_events() as events:
        sent = ok(
            login_client(bob).call(
                "post", f"{URL}{team.pk}/messages", {"text": "hello team", "clientId": "c-1"}
            ),
            201,
        )

    assert sent["conversationId"] == str(team.pk) and sent["receiverId"] is None
    created_line = Message.objects.get(conversation=team, seq=1)
    assert sent["seq"] == 2 and sent["prevId"] == str(created_line.pk)
    assert sent["kind"] == "text" and sent["clientId"] == "c-1"
    everyone = sorted(str(u.pk) for u in (alice, bob, carol))
    assert [(ids, event) for ids, event, _ in events] == [(everyone, "newMessage")]
    assert events[0][2]["_id"] == sent["_id"]


def test_a_repeated_client_id_returns_the_first_message(bob, team, login_client, sent_events):  # noqa: ANN001
    """200 with the first message; nothing stored or announced again."""
    client = login_client(bob)
    body = {"text": "once", "clientId": "same"}
    first = ok(client.call("post", f"{URL}{team.pk}/messages", body), 201)

    with sent_events() as events:
        again = ok(client.call("post", f"{URL}{team.pk}/messages", body), 200)

    assert again["_id"] == first["_id"] and events == []
    assert Message.objects.filter(client_id="same").count() == 1


@pytest.mark.parametrize(
    ("body", "text"),
    [({"text": "   "}, EMPTY_MESSAGE), ({}, EMPTY_MESSAGE), ({"text": "x" * 5001}, TEXT_TOO_LONG)],
)
def test_sending_checks_the_content(body, text, bob, team, login_client):  # noqa: ANN001
    """Empty or too long: 400, nothing stored."""
    response = login_client(bob).call("post", f"{URL}{team.pk}/messages", body)

    assert error(response, 400)["message"] == text
    assert Message.objects.filter(conversation=team).count() == 1


def test_sending_an_image(bob, team, login_client, png_data_url, chat_media):  # noqa: ANN001
    """A picture is stored under messages/ and answered as a URL."""
    body = {"image": png_data_url(), "clientId": "pic"}

    sent = ok(login_client(bob).call("post", f"{URL}{team.pk}/messages", body), 201)

    assert sent["image"].startswith("/media/messages/") and sent["text"] is None
    assert list((chat_media / "messages").iterdir())


def test_sending_too_fast_is_429(bob, team, login_client, settings):  # noqa: ANN001
    """The seed's per-sender limit holds here too, with Retry-After."""
    settings.MESSAGE_RATE_PER_USER = 2
    client = login_client(bob)
    for n in range(2):
        ok(client.call("post", f"{URL}{team.pk}/messages", {"text": f"{n}"}), 201)

    response = client.call("post", f"{URL}{team.pk}/messages", {"text": "one too many"})

    assert error(response, 429)["message"] == TOO_MANY_MESSAGES
    assert int(response["Retry-After"]) >= 1


def test_posting_to_a_direct_conversation_names_the_receiver(alice, bob, login_client, sent_events):  # noqa: ANN001
    """The other person is the receiver, and both people hear it."""
    conversation = ok(login_client(alice).call("post", URL, {"userId": str(bob.pk)}), 201)

    with sent_events() as events:
        sent = ok(
            login_client(alice).call(
                "post", f"{URL}{conversation['_id']}/messages", {"text": "yo"}
            ),
            201,
        )

    assert sent["receiverId"] == str(bob.pk) and sent["prevId"] is None
    assert [(ids, event) for ids, event, _ in events] == [
        (sorted([str(alice.pk), str(bob.pk)]), "newMessage")
    ]


def test_posting_to_a_deactivated_persons_conversation_is_404(
    alice, bob, make_message, login_client
):  # noqa: ANN001
    """As on the seed API: a receiver who can no longer log in gets nothing new."""
    conversation_id = make_message(alice, bob).conversation_id
    bob.is_active = False
    bob.save()

    response = login_client(alice).call("post", f"{URL}{conversation_id}/messages", {"text": "?"})

    assert error(response, 404) == {"message": USER_NOT_FOUND}
    assert Message.objects.filter(conversation_id=conversation_id).count() == 1


# --- Reading ------------------------------------------------------------------------------------


def test_reading_moves_my_cursor_and_tells_the_senders_of_what_i_read(
    alice, bob, carol, make_user, make_group, group_post, login_client, sent_events
):  # noqa: ANN001
    """200 {message, updated}; the sidebar's unread count drops; `cursorMoved` goes to the
    people whose messages were read (their marks, "Seen by") and the reader's own tabs, not to
    a member who sent nothing since (every move to every member is members² per message)."""
    team = make_group(alice, bob, carol, title="Team")
    dan = make_user("dan@example.com", "Dan Idle")
    with sent_events():
        login_client(alice).call("post", f"{URL}{team.pk}/members", {"userIds": [str(dan.pk)]})
    client = login_client(carol)
    ok(client.call("post", f"{URL}{team.pk}/read", {"upTo": str(group_post(bob, team).pk)}))
    group_post(bob, team, "one")
    last = group_post(bob, team, "two")

    with sent_events() as events:
        answer = ok(client.call("post", f"{URL}{team.pk}/read", {"upTo": str(last.pk)}))

    assert answer == {"message": "Messages marked as read", "updated": 2}
    assert ok(client.get(URL))[0]["unreadCount"] == 0
    [(ids, event, data)] = events
    assert event == "cursorMoved" and ids == sorted(str(u.pk) for u in (bob, carol))
    assert (data["userId"], data["kind"], data["upTo"]) == (str(carol.pk), "read", str(last.pk))


def test_reading_needs_a_message_of_mine(alice, bob, team, make_message, login_client):  # noqa: ANN001
    """No upTo: 400 naming it; a message of another conversation: 404."""
    client = login_client(alice)
    elsewhere = make_message(alice, bob)

    assert error(client.call("post", f"{URL}{team.pk}/read", {}), 400)["errors"] == {
        "upTo": [UP_TO_REQUIRED]
    }
    response = client.call("post", f"{URL}{team.pk}/read", {"upTo": str(elsewhere.pk)})
    assert error(response, 404) == {"message": MESSAGE_NOT_FOUND}


# --- Receipts -----------------------------------------------------------------------------------


def test_receipts_say_who_has_and_who_read_a_message_and_when(
    alice, bob, carol, team, group_post, make_user, login_client
):  # noqa: ANN001
    """The other members whose cursors passed it, at the time their cursor first got there;
    the sender is not listed, nor someone added after it was written."""
    message = group_post(alice, team, "seen?")
    later = group_post(alice, team, "later")
    conversation = Conversation.objects.get(pk=team.pk)
    t1 = timezone.now() - timedelta(minutes=10)
    t2 = t1 + timedelta(minutes=1)
    t3 = t1 + timedelta(minutes=5)
    cursor_move(conversation, bob.pk, "delivered", message.seq, message.pk, at=t1)
    cursor_move(conversation, bob.pk, "read", later.seq, later.pk, at=t3)  # read both at once
    cursor_move(conversation, carol.pk, "delivered", later.seq, later.pk, at=t2)
    dan = make_user()
    ok(login_client(alice).call("post", f"{URL}{team.pk}/members", {"userIds": [str(dan.pk)]}))

    receipts = ok(login_client(alice).get(f"{URL}{team.pk}/messages/{message.pk}/receipts"))

    def iso(moment) -> str:  # noqa: ANN001
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    assert receipts == {
        "messageId": str(message.pk),
        "seq": message.seq,
        "deliveredTo": [
            {"userId": str(bob.pk), "at": iso(t1)},
            {"userId": str(carol.pk), "at": iso(t2)},
        ],
        "readBy": [{"userId": str(bob.pk), "at": iso(t3)}],
    }


def test_receipts_fall_back_to_the_cursor_time_without_marks(
    alice, bob, team, group_post, login_client
):  # noqa: ANN001
    """A cursor moved with no mark logged (older data): its own time is the answer."""
    message = group_post(alice, team, "old")
    conversation = Conversation.objects.get(pk=team.pk)
    cursor_move(conversation, bob.pk, "read", message.seq, message.pk)
    ReceiptMark.objects.all().delete()

    receipts = ok(login_client(alice).get(f"{URL}{team.pk}/messages/{message.pk}/receipts"))

    assert [r["userId"] for r in receipts["readBy"]] == [str(bob.pk)]
    assert receipts["readBy"][0]["at"] and receipts["deliveredTo"][0]["at"]


def test_receipts_of_a_message_elsewhere_are_404(alice, bob, team, make_message, login_client):  # noqa: ANN001
    """A message of another conversation, or a malformed id: 404."""
    elsewhere = make_message(alice, bob)
    client = login_client(alice)

    for message_id in (elsewhere.pk, "nope"):
        response = client.get(f"{URL}{team.pk}/messages/{message_id}/receipts")
        assert error(response, 404) == {"message": MESSAGE_NOT_FOUND}


@pytest.mark.parametrize("size", [3, 20])
def test_receipts_cost_the_same_for_any_group_size(
    size, alice, make_user, make_group, group_post, django_assert_num_queries
):  # noqa: ANN001
    """The conversation, my membership, the message, the members, the marks: five queries
    whether 3 or 20 members read it."""
    from messaging.conversation_selectors import message_receipts

    others = [make_user() for _ in range(size)]
    group = make_group(alice, *others)
    message = group_post(alice, group, "to all")
    conversation = Conversation.objects.get(pk=group.pk)
    for other in others:
        cursor_move(conversation, other.pk, "read", message.seq, message.pk)

    with django_assert_num_queries(5):
        receipts = message_receipts(
            user=alice, conversation_id=str(group.pk), message_id=str(message.pk)
        )

    assert len(receipts["readBy"]) == len(receipts["deliveredTo"]) == size


def test_receipts_need_membership(alice, bob, team, group_post, make_user, login_client):  # noqa: ANN001
    """Someone outside the group: 404 for the conversation."""
    message = group_post(bob, team)
    response = login_client(make_user()).get(f"{URL}{team.pk}/messages/{message.pk}/receipts")
    assert error(response, 404) == {"message": CONVERSATION_NOT_FOUND}
