"""Reactions: POST /api/conversations/<cid>/messages/<mid>/reactions toggles an emoji, counts
with who reacted, `reactionChanged` to every member, one per person per emoji, limits."""

import json

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.db import IntegrityError, transaction

from chatproject.text import INVALID_TEXT, NOT_TEXT
from messaging.editing import MESSAGE_DELETED, READ_ONLY
from messaging.models import Message, Reaction
from messaging.reactions import EMOJI_INVALID, TOO_MANY_KINDS, TOO_MANY_REACTIONS
from messaging.selectors import CONVERSATION_NOT_FOUND, MESSAGE_NOT_FOUND
from tests.messaging.responses import error, ok
from tests.messaging.test_consumer import drain, next_event

URL = "/api/conversations/"


def react_url(message: Message) -> str:
    return f"{URL}{message.conversation_id}/messages/{message.pk}/reactions"


def react(client, message: Message, emoji: object):  # noqa: ANN001, ANN201
    return client.call("post", react_url(message), {"emoji": emoji})


def test_toggling_adds_then_removes_and_every_member_hears_it(
    alice, bob, carol, team, group_post, login_client, sent_events
):  # noqa: ANN001
    """The first toggle adds, the second takes it back; each answers the message's whole list
    and tells every member `reactionChanged` with that list."""
    message = group_post(bob, team, "party on friday")
    client = login_client(alice)

    with sent_events() as events:
        added = ok(react(client, message, "🎉"))
        removed = ok(react(client, message, "🎉"))

    entry = {"emoji": "🎉", "count": 1, "userIds": [str(alice.pk)]}
    assert added == {"messageId": str(message.pk), "reactions": [entry]}
    assert removed == {"messageId": str(message.pk), "reactions": []}
    members = sorted(str(u.pk) for u in (alice, bob, carol))
    assert [(ids, event) for ids, event, _ in events] == [(members, "reactionChanged")] * 2
    common = {
        "conversationId": str(team.pk),
        "messageId": str(message.pk),
        "emoji": "🎉",
        "userId": str(alice.pk),
    }
    assert events[0][2] == {**common, "added": True, "reactions": [entry]}
    assert events[1][2] == {**common, "added": False, "reactions": []}
    assert not Reaction.objects.exists()


def test_counts_say_who_reacted_in_the_order_of_first_reaction(
    alice, bob, carol, team, group_post, login_client
):  # noqa: ANN001
    """One entry per emoji, oldest first, with its count and the people in reaction order;
    every page and the seed history carry them."""
    message = group_post(bob, team, "news")
    for user, emoji in ((carol, "👍"), (alice, "❤️"), (alice, "👍"), (bob, "😂")):
        ok(react(login_client(user), message, emoji))

    page = ok(login_client(bob).get(f"{URL}{team.pk}/messages"))

    assert page[-1]["reactions"] == [
        {"emoji": "👍", "count": 2, "userIds": [str(carol.pk), str(alice.pk)]},
        {"emoji": "❤️", "count": 1, "userIds": [str(alice.pk)]},
        {"emoji": "😂", "count": 1, "userIds": [str(bob.pk)]},
    ]
    assert page[0]["reactions"] == []  # none: an empty list


def test_a_direct_message_reaction_shows_in_the_seed_history(
    alice, bob, make_message, login_client
):  # noqa: ANN001
    message = make_message(alice, bob, "hi")
    ok(react(login_client(bob), message, "👋"))

    [row] = ok(login_client(alice).get(f"/api/messages/{bob.pk}"))

    assert row["reactions"] == [{"emoji": "👋", "count": 1, "userIds": [str(bob.pk)]}]


def test_one_per_person_per_emoji(alice, bob, team, group_post):  # noqa: ANN001
    """The database refuses a second identical reaction, whatever the code above it does."""
    message = group_post(bob, team)
    Reaction.objects.create(message=message, user=alice, emoji="👍")

    with pytest.raises(IntegrityError), transaction.atomic():
        Reaction.objects.create(message=message, user=alice, emoji="👍")


@pytest.mark.parametrize("emoji", ["👍🏽", "👩‍👩‍👧", "👩🏻‍❤️‍💋‍👨🏼", "🇫🇷", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "❤️"])
def test_skin_tones_flags_and_joined_sequences_are_one_emoji(
    emoji, alice, bob, team, group_post, login_client
):  # noqa: ANN001
    message = group_post(bob, team)
    assert ok(react(login_client(alice), message, emoji))["reactions"][0]["emoji"] == emoji


def test_a_heart_without_its_variation_selector_is_the_same_heart(
    alice, bob, team, group_post, login_client
):  # noqa: ANN001
    """ "❤" and "❤️" are one reaction (stored fully qualified), so they count together."""
    message = group_post(bob, team)
    ok(react(login_client(alice), message, "❤️"))

    answer = ok(react(login_client(bob), message, "\u2764"))

    assert answer["reactions"] == [
        {"emoji": "❤️", "count": 2, "userIds": [str(alice.pk), str(bob.pk)]}
    ]


@pytest.mark.parametrize(
    "emoji",
    [
        "a",
        "ok",
        ":)",
        "<b>hi</b>",
        '<img src=x onerror="alert(1)">',
        "👍👍",
        "👍 ",
        "👍" * 40,
        "x" * 100_000,
        "",
        None,
        5,
        ["👍"],
    ],
)
def test_anything_but_one_emoji_is_refused(emoji, alice, bob, team, group_post, login_client):  # noqa: ANN001
    """Text, markup, several emoji, long strings or no string: 400 naming `emoji`, nothing
    stored, nothing echoed back as HTML."""
    message = group_post(bob, team)

    response = react(login_client(alice), message, emoji)

    body = error(response, 400)
    assert response["Content-Type"] == "application/json; charset=utf-8"
    # Not a string at all: the schema's own 400 ("body.emoji", as for every endpoint).
    assert [key.rsplit(".", 1)[-1] for key in body["errors"]] == ["emoji"]
    if isinstance(emoji, str) or emoji is None:
        assert body == {"message": EMOJI_INVALID, "errors": {"emoji": [EMOJI_INVALID]}}
    assert not Reaction.objects.exists()


def test_a_lone_surrogate_is_refused_before_the_endpoint(
    alice, bob, team, group_post, login_client
):  # noqa: ANN001
    """chatproject/text.py refuses it with the field named, as for every other string."""
    message = group_post(bob, team)
    raw = '{"emoji": "\\ud83d"}'

    response = login_client(alice).post(react_url(message), raw, content_type="application/json")

    assert error(response, 400) == {"message": INVALID_TEXT, "errors": {"emoji": [NOT_TEXT]}}
    assert json.loads(raw)["emoji"] == "\ud83d"  # the half of an emoji the test meant to send


def test_a_message_has_at_most_reactions_max_kinds_emoji(
    alice, bob, carol, team, group_post, login_client, settings
):  # noqa: ANN001
    """Past REACTIONS_MAX_KINDS different emoji a new one is 400; existing ones still count."""
    settings.REACTIONS_MAX_KINDS = 2
    message = group_post(bob, team)
    ok(react(login_client(alice), message, "👍"))
    ok(react(login_client(alice), message, "🎉"))

    refused = react(login_client(bob), message, "😂")
    joined = ok(react(login_client(carol), message, "🎉"))

    assert error(refused, 400)["message"] == TOO_MANY_KINDS.format(limit=2)
    assert [r["emoji"] for r in joined["reactions"]] == ["👍", "🎉"]


def test_reacting_too_fast_is_429(alice, bob, team, group_post, login_client, settings):  # noqa: ANN001
    """REACTION_RATE_PER_USER toggles per REACTION_RATE_WINDOW, then 429 with Retry-After."""
    settings.REACTION_RATE_PER_USER = 3
    message = group_post(bob, team)
    client = login_client(alice)
    for emoji in ("👍", "🎉", "😂"):
        ok(react(client, message, emoji))

    response = react(client, message, "🙂")

    assert error(response, 429) == {"message": TOO_MANY_REACTIONS}
    assert int(response["Retry-After"]) >= 1
    assert Reaction.objects.count() == 3


def test_who_may_not_react(alice, bob, team, group_post, make_message, make_user, login_client):  # noqa: ANN001
    """Outside the conversation 404; a message elsewhere 404; gone from the group 403 (read
    only); a deleted message 400."""
    message = group_post(bob, team, "react to me")
    gone = group_post(bob, team, "deleted")
    ok(login_client(bob).delete(f"{URL}{team.pk}/messages/{gone.pk}"))
    elsewhere = make_message(alice, bob)
    body = {"emoji": "👍"}

    stranger = login_client(make_user()).call("post", react_url(message), body)
    assert error(stranger, 404) == {"message": CONVERSATION_NOT_FOUND}
    foreign = login_client(alice).call(
        "post", f"{URL}{team.pk}/messages/{elsewhere.pk}/reactions", body
    )
    assert error(foreign, 404) == {"message": MESSAGE_NOT_FOUND}
    assert error(react(login_client(alice), gone, "👍"), 400) == {"message": MESSAGE_DELETED}
    ok(login_client(bob).call("post", f"{URL}{team.pk}/leave"))
    assert error(react(login_client(bob), message, "👍"), 403) == {"message": READ_ONLY}
    assert not Reaction.objects.exists()


@pytest.mark.django_db(transaction=True)
async def test_a_reaction_reaches_every_socket_of_every_member(
    open_socket, login_client, alice, bob, carol, make_group, group_post
):  # noqa: ANN001
    """Every tab of every member gets `reactionChanged`; markup sent as an emoji reaches
    nobody."""
    team = await database_sync_to_async(make_group)(alice, bob, carol)
    message = await database_sync_to_async(group_post)(alice, team, "ship it?")
    sockets = [await open_socket(u) for u in (alice, alice, bob, carol)]
    for socket in sockets:
        await drain(socket)

    refused = await sync_to_async(react)(login_client(bob), message, "<script>x</script>")
    response = await sync_to_async(react)(login_client(bob), message, "🚀")

    assert (refused.status_code, response.status_code) == (400, 200)
    for socket in sockets:
        changed = await next_event(socket, "reactionChanged")
        assert (changed["emoji"], changed["userId"], changed["added"]) == ("🚀", str(bob.pk), True)
        assert changed["reactions"] == [{"emoji": "🚀", "count": 1, "userIds": [str(bob.pk)]}]
