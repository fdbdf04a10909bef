"""Replies: `replyTo` on every send door (conversation REST, seed REST, WebSocket), the quoted
snippet, its life after the original is deleted, the page around a message, and what a page
of messages costs."""

import pytest
from channels.db import database_sync_to_async

from messaging.models import Message
from messaging.selectors import AROUND_ALONE, MESSAGE_NOT_FOUND
from messaging.sending import REPLY_TO_INVALID, REPLY_TO_UNAVAILABLE
from messaging.services import messages_delete
from tests.messaging.responses import error, ok
from tests.messaging.test_consumer import drain, next_event, send_event

URL = "/api/conversations/"


def quote(original: Message, text: str | None, *, image: bool = False, deleted: bool = False):  # noqa: ANN201
    return {
        "_id": str(original.pk),
        "senderId": str(original.sender_id),
        "text": text,
        "image": image,
        "deleted": deleted,
    }


def test_a_reply_quotes_the_start_of_its_original(
    alice, bob, carol, team, group_post, login_client, sent_events
):  # noqa: ANN001
    """`replyTo` carries the original's id, sender and first 200 characters, in the answer,
    in `newMessage` and in every later page."""
    original = group_post(alice, team, "a" * 150 + "b" * 150)
    body = {"text": "agreed", "replyTo": str(original.pk)}

    with sent_events() as events:
        sent = ok(login_client(bob).call("post", f"{URL}{team.pk}/messages", body), 201)

    assert sent["replyTo"] == quote(original, "a" * 150 + "b" * 50)
    [(_, event, data)] = events
    assert event == "newMessage" and data["replyTo"] == sent["replyTo"]
    page = ok(login_client(carol).get(f"{URL}{team.pk}/messages"))
    assert page[-1]["replyTo"] == sent["replyTo"] and page[-2]["replyTo"] is None


def test_a_reply_through_the_seed_send_shows_in_the_seed_history(
    alice, bob, make_message, login_client
):  # noqa: ANN001
    """`replyTo` is an optional extra field of POST /api/messages/send/<id> and /<id>."""
    original = make_message(bob, alice, "lunch?")
    client = login_client(alice)

    for path in (f"/api/messages/send/{bob.pk}", f"/api/messages/{bob.pk}"):
        sent = ok(client.call("post", path, {"text": "yes", "replyTo": str(original.pk)}), 201)
        assert sent["replyTo"] == quote(original, "lunch?")

    history = ok(login_client(bob).get(f"/api/messages/{alice.pk}"))
    quoted = quote(original, "lunch?")
    assert [m["replyTo"] for m in history] == [None, quoted, quoted]


def test_a_picture_reply_and_a_reply_to_a_picture(
    bob, team, login_client, png_data_url, chat_media
):  # noqa: ANN001
    """A reply to a picture says `image: true` (no text to quote); a reply may be a picture."""
    client = login_client(bob)
    picture = ok(client.call("post", f"{URL}{team.pk}/messages", {"image": png_data_url()}), 201)
    body = {"image": png_data_url(color="red"), "replyTo": picture["_id"]}

    reply = ok(client.call("post", f"{URL}{team.pk}/messages", body), 201)

    assert reply["replyTo"]["image"] is True and reply["replyTo"]["text"] is None
    assert reply["image"] and reply["replyTo"]["_id"] == picture["_id"]


def test_a_reply_shows_its_original_as_it_is_now(alice, bob, team, group_post, login_client):  # noqa: ANN001
    """The quote is read from the original: an edit shows; a deletion leaves `deleted: true`
    with no text, the reply itself untouched."""
    original = group_post(alice, team, "meet at 5")
    reply = group_post(bob, team, "ok")
    Message.objects.filter(pk=reply.pk).update(reply_to=original)
    client = login_client(alice)
    page_url = f"{URL}{team.pk}/messages"

    ok(client.call("patch", f"{page_url}/{original.pk}", {"text": "meet at 6"}))
    assert ok(client.get(page_url))[-1]["replyTo"] == quote(original, "meet at 6")

    ok(client.delete(f"{page_url}/{original.pk}"))
    last = ok(client.get(page_url))[-1]
    assert last["replyTo"] == quote(original, None, deleted=True)
    assert last["text"] == "ok" and last["deletedAt"] is None


def test_a_reply_outlives_its_original_being_purged(alice, bob, team, group_post, login_client):  # noqa: ANN001
    """An original removed by an operator or purge_messages: the quote says deleted, and
    nobody is named as its sender any more."""
    original = group_post(alice, team, "old news")
    reply = group_post(bob, team, "indeed")
    Message.objects.filter(pk=reply.pk).update(reply_to=original)

    messages_delete(messages=Message.objects.filter(pk=original.pk))

    last = ok(login_client(bob).get(f"{URL}{team.pk}/messages"))[-1]
    assert last["replyTo"] == {
        "_id": str(original.pk),
        "senderId": None,
        "text": None,
        "image": False,
        "deleted": True,
    }


def test_the_original_must_be_a_message_of_this_conversation_you_can_see(
    alice, bob, team, group_post, make_message, make_user, login_client
):  # noqa: ANN001
    """Another conversation's message, a malformed id, a message from before you joined:
    400 naming `replyTo`; a deleted original or a system line: 400; nothing is stored."""
    early = group_post(bob, team, "before dan")
    dan = make_user()
    ok(login_client(alice).call("post", f"{URL}{team.pk}/members", {"userIds": [str(dan.pk)]}))
    elsewhere = make_message(alice, bob, "direct")
    gone = group_post(bob, team, "deleted")
    ok(login_client(bob).delete(f"{URL}{team.pk}/messages/{gone.pk}"))
    system_line = Message.objects.get(conversation=team, seq=1)
    count = Message.objects.count()

    cases = [
        (alice, str(elsewhere.pk), REPLY_TO_INVALID),
        (alice, "nope", REPLY_TO_INVALID),
        (dan, str(early.pk), REPLY_TO_INVALID),
        (alice, str(gone.pk), REPLY_TO_UNAVAILABLE),
        (alice, str(system_line.pk), REPLY_TO_UNAVAILABLE),
    ]
    for sender, reply_to, sentence in cases:
        body = {"text": "re", "replyTo": reply_to}
        response = login_client(sender).call("post", f"{URL}{team.pk}/messages", body)
        assert error(response, 400) == {"message": sentence, "errors": {"replyTo": [sentence]}}
    seed = login_client(alice).call(
        "post", f"/api/messages/{bob.pk}", {"text": "re", "replyTo": str(early.pk)}
    )
    assert error(seed, 400)["message"] == REPLY_TO_INVALID
    assert Message.objects.count() == count


@pytest.mark.django_db(transaction=True)
async def test_a_reply_over_the_socket_reaches_every_member(
    open_socket, alice, bob, carol, make_group, group_post
):  # noqa: ANN001
    """`sendMessage` takes `replyTo`: the sending socket's `messageSent` and every other
    socket's `newMessage` carry the quote; a bad one is `messageFailed` 400."""
    team = await database_sync_to_async(make_group)(alice, bob, carol)
    original = await database_sync_to_async(group_post)(alice, team, "pizza tonight?")
    sender, *others = [await open_socket(u) for u in (bob, bob, alice, carol)]
    for socket in (sender, *others):
        await drain(socket)

    frame = {"conversationId": str(team.pk), "text": "yes!", "clientId": "r-1"}
    await send_event(sender, "sendMessage", {**frame, "replyTo": str(original.pk)})

    sent = (await next_event(sender, "messageSent"))["message"]
    assert sent["replyTo"] == quote(original, "pizza tonight?")
    for socket in others:
        assert (await next_event(socket, "newMessage"))["replyTo"] == sent["replyTo"]

    await send_event(sender, "sendMessage", {**frame, "clientId": "r-2", "replyTo": "nope"})
    failed = await next_event(sender, "messageFailed")
    assert (failed["status"], failed["message"]) == (400, REPLY_TO_INVALID)


# --- The page around a message (jumping to a reply's original) ----------------------------------


def test_around_loads_the_page_centred_on_a_message(alice, bob, team, group_post, login_client):  # noqa: ANN001
    """`around=<id>`: older and newer messages on both sides of it, the page full near either
    end; `before`/`after` page on from there."""
    posted = [group_post(bob, team, f"m{n}") for n in range(20)]
    client = login_client(alice)
    base = f"{URL}{team.pk}/messages"

    def texts(query: str) -> list[str]:
        return [m["text"] or "[system]" for m in ok(client.get(f"{base}?{query}"))]

    assert texts(f"around={posted[10].pk}&limit=5") == ["m8", "m9", "m10", "m11", "m12"]
    assert texts(f"around={posted[10].pk}&limit=4") == ["m9", "m10", "m11", "m12"]
    assert texts(f"around={posted[0].pk}&limit=4") == ["[system]", "m0", "m1", "m2"]
    assert texts(f"around={posted[19].pk}&limit=3") == ["m17", "m18", "m19"]
    assert texts(f"around={posted[5].pk}&limit=1") == ["m5"]
    assert len(texts(f"around={posted[10].pk}")) == 21  # the default limit holds them all


def test_around_refuses_other_cursors_and_messages_you_cannot_see(
    alice, bob, team, group_post, make_message, make_user, login_client
):  # noqa: ANN001
    """With before or after: 400. A message elsewhere, malformed, or from before you joined:
    404."""
    early = group_post(bob, team, "before dan")
    dan = make_user()
    ok(login_client(alice).call("post", f"{URL}{team.pk}/members", {"userIds": [str(dan.pk)]}))
    elsewhere = make_message(alice, bob)
    base = f"{URL}{team.pk}/messages"
    client = login_client(alice)

    both = client.get(f"{base}?around={early.pk}&before={early.pk}")
    assert error(both, 400)["message"] == AROUND_ALONE
    for c, message_id in ((client, elsewhere.pk), (client, "nope"), (login_client(dan), early.pk)):
        assert error(c.get(f"{base}?around={message_id}"), 404) == {"message": MESSAGE_NOT_FOUND}


# --- What a page costs ------------------------------------------------------------------------


def _decorate(page: list[Message], alice, bob) -> None:  # noqa: ANN001
    """Every message replies to the first and carries two reactions."""
    from messaging.models import Reaction

    Message.objects.filter(pk__in=[m.pk for m in page[1:]]).update(reply_to=page[0])
    Reaction.objects.bulk_create(
        [Reaction(message=m, user=u, emoji="👍") for m in page for u in (alice, bob)]
    )


@pytest.mark.parametrize("size", [5, 40])
def test_a_conversation_page_reads_replies_and_reactions_in_one_query_each(
    size, alice, bob, make_group, group_post, login_client, django_assert_num_queries
):  # noqa: ANN001
    """The conversation, my membership, the page, the files, the reactions, the quoted
    originals: six queries for a page of a group whatever its size (a direct one adds its
    receipt read)."""
    team = make_group(alice, bob)
    posted = [group_post(bob, team, f"m{n}") for n in range(size)]
    _decorate(posted, alice, bob)
    client = login_client(alice)
    client.get(URL)  # the user cache is warm: authentication costs no query

    with django_assert_num_queries(6):
        page = ok(client.get(f"{URL}{team.pk}/messages?limit=100"))

    assert len(page) == size + 1
    assert all(m["replyTo"]["_id"] == str(posted[0].pk) for m in page[2:])
    assert all(m["reactions"][0]["count"] == 2 for m in page[1:])


@pytest.mark.parametrize("size", [5, 40])
def test_a_seed_history_page_reads_replies_and_reactions_in_one_query_each(
    size, alice, bob, make_message, login_client, django_assert_num_queries
):  # noqa: ANN001
    """The other user, the conversation, my membership, the page, the receipt marks (both
    kinds in one read), the files, the reactions, the quoted originals: eight queries
    whatever the page size."""
    posted = [make_message(bob, alice, f"m{n}") for n in range(size)]
    _decorate(posted, alice, bob)
    client = login_client(alice)
    client.get(URL)

    with django_assert_num_queries(8):
        page = ok(client.get(f"/api/messages/{bob.pk}?limit=100"))

    assert len(page) == size
    assert all(m["replyTo"]["_id"] == str(posted[0].pk) for m in page[1:])
    both = [{"emoji": "👍", "count": 2, "userIds": [str(alice.pk), str(bob.pk)]}]
    assert all(m["reactions"] == both for m in page)


def test_a_page_without_replies_skips_the_originals_query(
    alice, bob, make_group, group_post, login_client, django_assert_num_queries
):  # noqa: ANN001
    """No message of the page replies to anything: the files and reactions reads are the only
    extra ones."""
    team = make_group(alice, bob)
    group_post(bob, team, "plain")
    client = login_client(alice)
    client.get(URL)

    with django_assert_num_queries(5):
        ok(client.get(f"{URL}{team.pk}/messages"))
