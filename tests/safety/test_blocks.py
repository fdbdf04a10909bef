"""Blocking over REST: both directions of every way to reach someone, the sidebar, undo."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging.direct import direct_conversation_id
from messaging.models import Message
from safety.cache import blocks_of
from safety.cache import cache as block_cache
from safety.models import Block
from safety.services import CANNOT_ADD, CANNOT_MESSAGE, UNBLOCK_TO_ADD, UNBLOCK_TO_SEND

CONVERSATIONS = "/api/conversations/"


@pytest.fixture
def block(login_client):  # noqa: ANN001
    def make(blocker, blocked) -> None:  # noqa: ANN001
        response = login_client(blocker).call("post", "/api/blocks", {"userId": str(blocked.pk)})
        assert response.status_code == 201, response.content

    return make


def send(client, to, text="hi"):  # noqa: ANN001, ANN201
    return client.call("post", f"/api/messages/send/{to.pk}", {"text": text})


def test_block_list_and_unblock(login_client, alice, bob, carol):  # noqa: ANN001
    client = login_client(alice)
    first = client.call("post", "/api/blocks", {"userId": str(bob.pk)})
    again = client.call("post", "/api/blocks", {"userId": str(bob.pk)})
    client.call("post", "/api/blocks", {"userId": str(carol.pk)})

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["_id"] == str(bob.pk) and first.json()["fullName"] == "Bob Okafor"
    assert "email" not in first.json()
    listed = client.get("/api/blocks").json()
    assert [row["_id"] for row in listed] == [str(carol.pk), str(bob.pk)]  # latest first
    assert login_client(bob).get("/api/blocks").json() == []  # bob is not told

    unblocked = client.delete(f"/api/blocks/{bob.pk}")
    assert unblocked.status_code == 200
    assert unblocked.json() == {"userId": str(bob.pk), "blocked": False}
    assert client.delete(f"/api/blocks/{bob.pk}").status_code == 404
    assert [row["_id"] for row in client.get("/api/blocks").json()] == [str(carol.pk)]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 400, "userId"),
        ({"userId": 5}, 400, "userId"),
        ({"userId": "nope"}, 404, None),
        ({"userId": "99999999"}, 404, None),
    ],
)
def test_bad_block_requests_are_4xx_json(login_client, alice, body, status, field):  # noqa: ANN001
    response = login_client(alice).call("post", "/api/blocks", body)
    assert response.status_code == status
    assert response.json()["message"]
    if field:
        assert any(field in key for key in response.json()["errors"])


def test_blocking_yourself_is_400_and_anonymous_is_401(login_client, api, alice):  # noqa: ANN001
    response = login_client(alice).call("post", "/api/blocks", {"userId": str(alice.pk)})
    assert response.status_code == 400 and "userId" in response.json()["errors"]
    assert api.get("/api/blocks").status_code == 401
    assert api.call("post", "/api/blocks", {"userId": str(alice.pk)}).status_code == 401
    assert login_client(alice).delete("/api/blocks/garbage").status_code == 404


def test_sends_are_refused_both_ways_and_unblock_restores(
    block, login_client, make_message, alice, bob
):  # noqa: ANN001
    make_message(bob, alice, "before")  # they talked before
    block(alice, bob)
    conversation = direct_conversation_id(alice.pk, bob.pk)

    # The blocked person: a neutral 403 on every path, nothing stored.
    for response in (
        send(login_client(bob), alice),
        login_client(bob).call("post", f"/api/messages/{alice.pk}", {"text": "x"}),
        login_client(bob).call("post", f"{CONVERSATIONS}{conversation}/messages", {"text": "x"}),
    ):
        assert response.status_code == 403
        assert response.json()["message"] == CANNOT_MESSAGE
        assert "block" not in response.json()["message"].lower()
    # The blocker: 403 with the way out.
    response = send(login_client(alice), bob)
    assert response.status_code == 403 and response.json()["message"] == UNBLOCK_TO_SEND
    assert Message.objects.filter(conversation_id=conversation).count() == 1

    login_client(alice).delete(f"/api/blocks/{bob.pk}")
    assert send(login_client(bob), alice, "after").status_code == 201
    assert send(login_client(alice), bob, "back").status_code == 201


def test_an_image_send_is_refused_too(block, login_client, alice, bob, png_data_url, chat_media):  # noqa: ANN001
    block(bob, alice)
    response = login_client(alice).call(
        "post", f"/api/messages/send/{bob.pk}", {"image": png_data_url()}
    )
    assert response.status_code == 403 and response.json()["message"] == CANNOT_MESSAGE
    assert not [p for p in chat_media.rglob("*") if p.is_file()]  # the image was not kept


def test_no_new_direct_conversation_across_a_block(block, login_client, alice, bob):  # noqa: ANN001
    block(alice, bob)
    for who, other in ((bob, alice), (alice, bob)):
        response = login_client(who).call("post", CONVERSATIONS, {"userId": str(other.pk)})
        assert response.status_code == 403
    assert send(login_client(bob), alice).status_code == 403  # the seed path would create one


def test_group_invites_are_refused_both_ways(block, login_client, make_group, alice, bob, carol):  # noqa: ANN001
    block(alice, bob)  # alice blocks bob
    by_bob = login_client(bob).call(
        "post", CONVERSATIONS, {"title": "Hi", "memberIds": [str(alice.pk)]}
    )
    assert by_bob.status_code == 403
    assert by_bob.json()["errors"] == {"memberIds": [CANNOT_ADD]}
    by_alice = login_client(alice).call(
        "post", CONVERSATIONS, {"title": "Hi", "memberIds": [str(bob.pk), str(carol.pk)]}
    )
    assert by_alice.status_code == 403
    assert by_alice.json()["errors"] == {"memberIds": [UNBLOCK_TO_ADD]}

    group = make_group(bob, carol)
    added = login_client(bob).call(
        "post", f"{CONVERSATIONS}{group.pk}/members", {"userIds": [str(alice.pk)]}
    )
    assert added.status_code == 403 and added.json()["errors"] == {"userIds": [CANNOT_ADD]}

    login_client(alice).delete(f"/api/blocks/{bob.pk}")
    added = login_client(bob).call(
        "post", f"{CONVERSATIONS}{group.pk}/members", {"userIds": [str(alice.pk)]}
    )
    assert added.status_code == 200, added.content


def test_a_blocked_persons_conversation_leaves_the_blockers_sidebar_until_unblocked(
    block, login_client, make_message, alice, bob, carol
):  # noqa: ANN001
    make_message(bob, alice, "hello")
    make_message(carol, alice, "hi")

    def peers(user):  # noqa: ANN001, ANN202
        rows = login_client(user).get(CONVERSATIONS).json()
        return {row["peer"]["_id"] for row in rows if row["peer"]}

    block(alice, bob)
    assert peers(alice) == {str(carol.pk)}
    assert peers(bob) == {str(alice.pk)}  # the blocked person keeps theirs (and learns nothing)
    contacts = {row["_id"] for row in login_client(alice).get("/api/messages/users").json()}
    assert str(bob.pk) not in contacts and str(carol.pk) in contacts

    login_client(alice).delete(f"/api/blocks/{bob.pk}")
    assert peers(alice) == {str(bob.pk), str(carol.pk)}


def test_the_send_path_pays_no_query_for_blocks_once_warm(login_client, alice, bob):  # noqa: ANN001
    """The benchmarked path: with the block cache warm, a text send to a person reads nothing
    of blocks (and the cache holds the sender's blocks after the first send)."""
    client = login_client(alice)
    assert send(client, bob, "warm-up").status_code == 201
    assert block_cache.holds(alice.pk)
    misses = block_cache.misses
    with CaptureQueriesContext(connection) as queries:
        assert send(client, bob, "hello").status_code == 201
    assert not any(Block._meta.db_table in q["sql"] for q in queries.captured_queries)
    assert block_cache.misses == misses


def test_a_block_is_seen_at_once_by_a_warm_cache(block, alice, bob):  # noqa: ANN001
    """The cache never answers from before a block or an unblock."""
    assert not blocks_of(alice.pk).either and not blocks_of(bob.pk).either  # both cached
    block(alice, bob)
    assert blocks_of(alice.pk).blocking == {str(bob.pk)}
    assert blocks_of(bob.pk).blocked_by == {str(alice.pk)}


def test_edits_and_reactions_in_the_direct_chat_are_refused_too(
    block, login_client, make_message, alice, bob
):  # noqa: ANN001
    """Editing an old message or reacting is a way to reach someone: refused across a block
    (deleting one's own message stays possible)."""
    old = make_message(bob, alice, "old text")
    hers = make_message(alice, bob, "her message")
    block(alice, bob)
    base = f"{CONVERSATIONS}{old.conversation_id}/messages"
    client = login_client(bob)
    edited = client.call("patch", f"{base}/{old.pk}", {"text": "new text"})
    reacted = client.call("post", f"{base}/{hers.pk}/reactions", {"emoji": "👍"})
    assert (edited.status_code, edited.json()["message"]) == (403, CANNOT_MESSAGE)
    assert (reacted.status_code, reacted.json()["message"]) == (403, CANNOT_MESSAGE)
    assert client.delete(f"{base}/{old.pk}").status_code == 200
