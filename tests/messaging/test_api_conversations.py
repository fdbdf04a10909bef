"""/api/conversations/: the sidebar, starting a direct conversation or a group, one
conversation's detail, renaming, and the 404 that every endpoint gives for someone else's."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from messaging import conversation_selectors, selectors
from messaging.api_conversations import DIRECT_OR_GROUP
from messaging.direct import DIRECT_WITH_YOURSELF
from messaging.groups import (
    NOT_A_GROUP,
    NOT_A_MEMBER,
    NOTHING_TO_CHANGE,
    TITLE_REQUIRED,
    TITLE_TOO_LONG,
    TOO_MANY_MEMBERS,
    USER_UNAVAILABLE,
)
from messaging.models import Conversation, Membership
from messaging.selectors import CONVERSATION_NOT_FOUND, USER_NOT_FOUND
from safety.cache import blocks_of
from tests.accounts.conftest import ISO_UTC, USER_KEYS

URL = "/api/conversations/"
CONVERSATION_KEYS = {
    "_id",
    "kind",
    "title",
    "picture",
    "createdBy",
    "createdAt",
    "updatedAt",
    "lastSeq",
    "lastMessage",
    "lastActivityAt",
    "unreadCount",
    "role",
    "active",
    "muted",
    "memberCount",
    "peer",
}
MEMBER_KEYS = {
    "userId",
    "role",
    "joinedAt",
    "leftAt",
    "readSeq",
    "readAt",
    "deliveredSeq",
    "deliveredAt",
    "user",
}


def ok(response, status: int = 200) -> dict | list:  # noqa: ANN001
    assert response.status_code == status, response.content
    return response.json()


def error(response, status: int) -> dict:  # noqa: ANN001
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) <= {"message", "errors"}
    return body


# --- The sidebar -----------------------------------------------------------------------------


def test_sidebar_lists_direct_and_group_conversations_newest_first(
    alice, bob, make_user, make_message, make_group, group_post, login_client
):  # noqa: ANN001
    """Both kinds, by latest activity: a direct one names the other person, a group counts
    its members; a conversation Alice is not in is not listed."""
    carol, dan = make_user(full_name="Carol"), make_user(full_name="Dan")
    make_message(bob, alice, "hello alice")
    team = make_group(alice, bob, carol, title="Team")
    make_group(bob, carol, title="Not Alice's")
    make_message(dan, bob, "not alice's either")

    rows = ok(login_client(alice).get(URL))

    assert [row["kind"] for row in rows] == ["group", "direct"]
    group, direct = rows
    assert set(group) == CONVERSATION_KEYS and set(direct) == CONVERSATION_KEYS
    assert group["_id"] == str(team.pk) and group["title"] == "Team"
    assert group["memberCount"] == 3 and group["peer"] is None
    assert group["role"] == "admin" and group["active"] is True
    assert group["lastMessage"]["kind"] == "system"
    assert group["lastMessage"]["event"]["type"] == "created"
    assert direct["peer"]["_id"] == str(bob.pk) and set(direct["peer"]) == USER_KEYS
    assert direct["memberCount"] == 2 and direct["lastMessage"]["text"] == "hello alice"
    assert direct["unreadCount"] == 1
    assert ISO_UTC.match(direct["lastActivityAt"])

    group_post(bob, team, "later")
    make_message(bob, alice, "latest")
    assert [row["kind"] for row in ok(login_client(alice).get(URL))] == ["direct", "group"]


def test_sidebar_needs_login(api, db):  # noqa: ANN001
    """Without the cookie the sidebar is refused."""
    assert error(api.get(URL), 401)["message"]


def test_sidebar_counts_unread_per_member(
    alice, bob, make_user, make_group, group_post, login_client
):  # noqa: ANN001
    """Each member's unread count is what others wrote after their read cursor."""
    carol = make_user()
    team = make_group(alice, bob, carol)
    group_post(bob, team, "one")
    group_post(bob, team, "two")
    group_post(alice, team, "mine")

    def unread(user) -> int:  # noqa: ANN001
        return ok(login_client(user).get(URL))[0]["unreadCount"]

    assert unread(alice) == 2  # the created line is her own
    assert unread(carol) == 4  # the created line, two from Bob, one from Alice
    assert unread(bob) == 2


def test_sidebar_shows_whether_the_peer_is_online(
    alice, bob, make_message, login_client, monkeypatch
):  # noqa: ANN001
    """A direct conversation's `peer.lastSeen` is null while they have a socket open."""
    bob.last_seen = timezone.now() - timedelta(days=1)
    bob.save()
    make_message(alice, bob)
    client = login_client(alice)

    assert ISO_UTC.match(ok(client.get(URL))[0]["peer"]["lastSeen"])
    monkeypatch.setattr(conversation_selectors, "presence_online_ids", lambda: {str(bob.pk)})
    assert ok(client.get(URL))[0]["peer"]["lastSeen"] is None


def _populate(me, make_user, make_message, make_group, group_post, count: int) -> None:  # noqa: ANN001
    """`count` conversations of `me` with several messages each: directs, groups, and a group
    `me` left (whose last visible message is not the head)."""
    for n in range(count):
        other = make_user()
        if n % 3 == 0:
            for k in range(4):
                make_message(other, me, f"direct {n}.{k}")
        else:
            group = make_group(other, me, make_user(), title=f"Group {n}")
            for k in range(4):
                group_post(other, group, f"group {n}.{k}")
            if n % 3 == 2:
                from messaging.groups import group_leave

                group_leave(user=me, conversation_id=group.pk)
                group_post(other, group, "after she left")


@pytest.mark.parametrize("count", [3, 30])
def test_sidebar_costs_six_queries_whatever_the_size(
    count, alice, make_user, make_message, make_group, group_post, django_assert_num_queries
):  # noqa: ANN001
    """My memberships, those conversations, the last messages I may see, their files, member
    counts, the other people of direct conversations: six queries for 3 or 30 conversations."""
    _populate(alice, make_user, make_message, make_group, group_post, count)
    blocks_of(alice.pk)  # the block cache warm, as it is after a first request (safety/cache.py)

    with django_assert_num_queries(6):
        rows = conversation_selectors.conversation_list(user=alice)

    assert len(rows) == count
    assert all(row["lastMessage"] for row in rows)
    assert "after she left" not in str(rows)


def test_sidebar_request_costs_the_same_for_3_and_30_conversations(
    alice, make_user, make_message, make_group, group_post, login_client
):  # noqa: ANN001
    """The whole request (auth included) does not grow with conversations or messages."""
    client = login_client(alice)
    blocks_of(alice.pk)  # the block cache warm, as it is after a first request
    counts = []
    for batch in (3, 27):
        _populate(alice, make_user, make_message, make_group, group_post, batch)
        with CaptureQueriesContext(connection) as queries:
            ok(client.get(URL))
        counts.append(len(queries))
    assert counts[0] == counts[1]


# --- Starting a direct conversation ---------------------------------------------------------------


def test_starting_a_direct_conversation_creates_it_once(alice, bob, login_client, sent_events):  # noqa: ANN001
    """201 the first time (both people hear `conversationCreated`), 200 with the same
    conversation afterwards, from either side."""
    with sent_events() as events:
        first = ok(login_client(alice).call("post", URL, {"userId": str(bob.pk)}), 201)

    assert first["kind"] == "direct" and first["peer"]["_id"] == str(bob.pk)
    assert {m["userId"] for m in first["members"]} == {str(alice.pk), str(bob.pk)}
    assert first["lastMessage"] is None and first["unreadCount"] == 0
    created = [(ids, data) for ids, event, data in events if event == "conversationCreated"]
    assert sorted(ids[0] for ids, _ in created) == sorted([str(alice.pk), str(bob.pk)])
    bobs = next(data for ids, data in created if ids == [str(bob.pk)])
    assert bobs["_id"] == first["_id"] and bobs["peer"]["_id"] == str(alice.pk)

    again = ok(login_client(alice).call("post", URL, {"userId": str(bob.pk)}), 200)
    other_side = ok(login_client(bob).call("post", URL, {"userId": str(alice.pk)}), 200)
    assert again["_id"] == other_side["_id"] == first["_id"]
    assert Conversation.objects.count() == 1


def test_the_direct_conversation_is_the_one_the_seed_api_uses(
    alice, bob, make_message, login_client
):  # noqa: ANN001
    """Someone already written to: the same conversation, 200, with its history."""
    message = make_message(alice, bob, "from the old api")

    body = ok(login_client(bob).call("post", URL, {"userId": str(alice.pk)}), 200)

    assert body["_id"] == str(message.conversation_id)
    assert body["lastMessage"]["_id"] == str(message.pk)


@pytest.mark.parametrize(
    ("target", "status", "text"),
    [
        ("self", 400, DIRECT_WITH_YOURSELF),
        ("unknown", 404, USER_NOT_FOUND),
        ("malformed", 404, USER_NOT_FOUND),
        ("deactivated", 404, USER_NOT_FOUND),
    ],
)
def test_a_direct_conversation_needs_another_active_person(
    target, status, text, alice, make_user, login_client
):  # noqa: ANN001
    """Yourself: 400; an unknown, malformed or deactivated id: 404; nothing is created."""
    ids = {
        "self": str(alice.pk),
        "unknown": "999999",
        "malformed": "not-an-id",
        "deactivated": str(make_user(is_active=False).pk),
    }

    body = error(login_client(alice).call("post", URL, {"userId": ids[target]}), status)

    assert body["message"] == text
    assert not Conversation.objects.exists()


@pytest.mark.parametrize(
    "body",
    [{}, {"picture": "x"}, {"userId": "1", "title": "Both"}, {"userId": "1", "memberIds": []}],
)
def test_starting_needs_a_person_or_a_group(body, alice, login_client):  # noqa: ANN001
    """Neither a userId nor a group, or both at once: 400 saying what to give."""
    assert error(login_client(alice).call("post", URL, body), 400)["message"] == DIRECT_OR_GROUP


# --- Creating a group -------------------------------------------------------------------------


def test_creating_a_group_tells_each_member(alice, bob, make_user, login_client, sent_events):  # noqa: ANN001
    """201 with the detail (the creator is admin); every member hears `conversationCreated`
    with the group as they see it, and the "created" line as a new message."""
    carol = make_user()
    body = {"title": "  Weekend   plans ", "memberIds": [str(bob.pk), str(carol.pk), str(bob.pk)]}

    with sent_events() as events:
        group = ok(login_client(alice).call("post", URL, body), 201)

    assert group["kind"] == "group" and group["title"] == "Weekend plans"
    assert group["createdBy"] == str(alice.pk) and group["memberCount"] == 3
    roles = {m["userId"]: m["role"] for m in group["members"]}
    assert roles == {str(alice.pk): "admin", str(bob.pk): "member", str(carol.pk): "member"}
    assert all(set(m) == MEMBER_KEYS and m["leftAt"] is None for m in group["members"])
    created = {ids[0]: data for ids, event, data in events if event == "conversationCreated"}
    assert set(created) == {str(alice.pk), str(bob.pk), str(carol.pk)}
    assert created[str(bob.pk)]["role"] == "member" and created[str(bob.pk)]["unreadCount"] == 1
    assert created[str(alice.pk)]["role"] == "admin"
    [line] = [data for _, event, data in events if event == "newMessage"]
    assert line["kind"] == "system" and line["event"]["type"] == "created"


def test_a_group_can_have_a_picture(alice, bob, login_client, png_data_url, chat_media):  # noqa: ANN001
    """`picture` (a data URL) is stored and answered as a URL."""
    body = {"title": "Pics", "memberIds": [str(bob.pk)], "picture": png_data_url()}

    group = ok(login_client(alice).call("post", URL, body), 201)

    assert group["picture"] and group["picture"].startswith("/media/groups/")
    assert any(chat_media.rglob("*.*"))


@pytest.mark.parametrize(
    ("title", "text"),
    [(None, TITLE_REQUIRED), ("   ", TITLE_REQUIRED), ("x" * 101, TITLE_TOO_LONG)],
)
def test_a_group_needs_a_title_of_at_most_100_characters(title, text, alice, bob, login_client):  # noqa: ANN001
    """No title, a blank one or one over 100 characters: 400 naming `title`."""
    body = {"title": title, "memberIds": [str(bob.pk)]}
    if title is None:
        body.pop("title")

    answer = error(login_client(alice).call("post", URL, body), 400)

    assert answer["message"] == text
    if title is not None:
        assert answer["errors"] == {"title": [text]}
    assert not Conversation.objects.exists()


def test_a_group_has_at_most_group_max_members(alice, make_user, login_client, settings):  # noqa: ANN001
    """GROUP_MAX_MEMBERS counts the creator: one over is 400 naming memberIds; at it, fine."""
    settings.GROUP_MAX_MEMBERS = 3
    others = [str(make_user().pk) for _ in range(5)]
    client = login_client(alice)
    limit = TOO_MANY_MEMBERS.format(limit=3)

    for count in (3, 5):
        body = error(client.call("post", URL, {"title": "Big", "memberIds": others[:count]}), 400)
        assert body == {"message": limit, "errors": {"memberIds": [limit]}}
    assert not Conversation.objects.exists()
    assert ok(client.call("post", URL, {"title": "Fits", "memberIds": others[:2]}), 201)


@pytest.mark.parametrize("who", ["deactivated", "unknown", "malformed"])
def test_a_group_member_must_be_an_active_person(who, alice, bob, make_user, login_client):  # noqa: ANN001
    """A deactivated, unknown or malformed id: 404 naming it; no group is made."""
    ids = {
        "deactivated": str(make_user(is_active=False).pk),
        "unknown": "999999",
        "malformed": "nope",
    }
    body = {"title": "T", "memberIds": [str(bob.pk), ids[who]]}

    answer = error(login_client(alice).call("post", URL, body), 404)

    assert answer == {"message": USER_UNAVAILABLE, "errors": {"memberIds": [ids[who]]}}
    assert not Conversation.objects.exists()


def test_member_ids_must_be_a_list_of_strings(alice, login_client):  # noqa: ANN001
    """memberIds that is not a list of ids: 400 naming it, never a 500."""
    answer = error(login_client(alice).call("post", URL, {"title": "T", "memberIds": "x"}), 400)
    assert [key.rsplit(".", 1)[-1] for key in answer["errors"]] == ["memberIds"]


# --- One conversation -------------------------------------------------------------------------


def test_detail_lists_members_with_their_accounts(alice, bob, make_user, make_group, login_client):  # noqa: ANN001
    """Every member with role, cursors and their User shape; the asker's own view of it."""
    carol = make_user()
    team = make_group(alice, bob, carol)

    detail = ok(login_client(bob).get(f"{URL}{team.pk}"))

    assert set(detail) == CONVERSATION_KEYS | {"members"}
    assert detail["role"] == "member" and detail["unreadCount"] == 1
    assert [m["user"]["_id"] for m in detail["members"]] == [m["userId"] for m in detail["members"]]
    assert {m["userId"] for m in detail["members"]} == {str(u.pk) for u in (alice, bob, carol)}
    assert all(set(m["user"]) == USER_KEYS for m in detail["members"])
    assert "password" not in str(detail).lower()


@pytest.mark.parametrize("which", ["unknown", "malformed", "foreign"])
def test_detail_is_404_for_anything_not_mine(
    which, alice, bob, make_user, make_group, login_client
):  # noqa: ANN001
    """Unknown, malformed and someone else's group all answer the same 404, nothing more."""
    others = make_group(bob, make_user(), title="Secret plans")
    ids = {"unknown": "999999", "malformed": "zzz", "foreign": str(others.pk)}

    response = login_client(alice).get(f"{URL}{ids[which]}")

    assert error(response, 404) == {"message": CONVERSATION_NOT_FOUND}
    assert "Secret" not in response.content.decode()


# --- Renaming ---------------------------------------------------------------------------------


def test_any_member_renames_the_group(alice, bob, make_group, login_client, sent_events):  # noqa: ANN001
    """200 with the new title; everyone hears `conversationUpdated` and the "renamed" line."""
    team = make_group(alice, bob, title="Old")

    with sent_events() as events:
        detail = ok(login_client(bob).call("patch", f"{URL}{team.pk}", {"title": "New"}))

    assert detail["title"] == "New"
    assert detail["lastMessage"]["event"] == {
        "type": "renamed",
        "actor": str(bob.pk),
        "title": "New",
    }
    everyone = sorted([str(alice.pk), str(bob.pk)])
    updated = [(ids, data) for ids, event, data in events if event == "conversationUpdated"]
    assert updated == [
        (
            everyone,
            {"conversationId": str(team.pk), "title": "New", "picture": None, "by": str(bob.pk)},
        )
    ]
    assert [ids for ids, event, _ in events if event == "newMessage"] == [everyone]


def test_a_member_changes_the_picture(
    alice, bob, make_group, login_client, png_data_url, chat_media, sent_events
):  # noqa: ANN001
    """200 with the new picture's URL; everyone hears it with `conversationUpdated`."""
    team = make_group(alice, bob, title="Team")

    with sent_events() as events:
        detail = ok(login_client(bob).call("patch", f"{URL}{team.pk}", {"picture": png_data_url()}))

    assert detail["picture"].startswith("/media/groups/") and detail["title"] == "Team"
    [(_, _, data)] = [e for e in events if e[1] == "conversationUpdated"]
    assert data["picture"] == detail["picture"]
    assert detail["lastMessage"]["event"] == {"type": "picture", "actor": str(bob.pk)}


def test_renaming_refuses_bad_titles_and_empty_changes(alice, bob, make_group, login_client):  # noqa: ANN001
    """Over 100 characters: 400 naming title; neither title nor picture: 400."""
    team = make_group(alice, bob, title="Old")
    client = login_client(alice)

    long = error(client.call("patch", f"{URL}{team.pk}", {"title": "x" * 101}), 400)
    assert long["errors"] == {"title": [TITLE_TOO_LONG]}
    assert error(client.call("patch", f"{URL}{team.pk}", {}), 400)["message"] == NOTHING_TO_CHANGE
    team.refresh_from_db()
    assert team.title == "Old"


def test_a_direct_conversation_cannot_be_renamed(alice, bob, make_message, login_client):  # noqa: ANN001
    """Only groups have a title to change: 400."""
    conversation_id = make_message(alice, bob).conversation_id
    response = login_client(alice).call("patch", f"{URL}{conversation_id}", {"title": "Us"})
    assert error(response, 400)["message"] == NOT_A_GROUP


def test_someone_who_left_cannot_rename(alice, bob, make_group, login_client):  # noqa: ANN001
    """The group is read-only for them: 403."""
    team = make_group(alice, bob, title="Old")
    client = login_client(bob)
    ok(client.post(f"{URL}{team.pk}/leave"))

    assert error(client.call("patch", f"{URL}{team.pk}", {"title": "Mine"}), 403) == {
        "message": NOT_A_MEMBER
    }


# --- Someone else's conversation: the same 404 everywhere ------------------------------------


ENDPOINTS = [
    ("get", "{c}", None),
    ("patch", "{c}", {"title": "Hijacked"}),
    ("post", "{c}/members", {"userIds": ["{me}"]}),
    ("delete", "{c}/members/{member}", None),
    ("post", "{c}/leave", None),
    ("put", "{c}/members/{member}/role", {"role": "admin"}),
    ("get", "{c}/messages", None),
    ("post", "{c}/messages", {"text": "hello?"}),
    ("post", "{c}/read", {"upTo": "{message}"}),
    ("get", "{c}/messages/{message}/receipts", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
@pytest.mark.parametrize("which", ["foreign", "unknown", "malformed"])
def test_every_endpoint_is_404_for_a_conversation_not_mine(
    method, path, body, which, alice, bob, make_user, make_group, group_post, login_client
):  # noqa: ANN001
    """Someone else's group, an unknown and a malformed id answer alike, and change nothing."""
    carol = make_user()
    theirs = make_group(bob, carol, title="Private")
    message = group_post(bob, theirs, "secret")
    ids = {"foreign": str(theirs.pk), "unknown": "999999", "malformed": "x1"}
    fill = {
        "c": ids[which],
        "me": str(alice.pk),
        "member": str(carol.pk),
        "message": str(message.pk),
    }
    url = URL + path.format(**fill)
    if body is not None:
        body = {
            key: [v.format(**fill) for v in value]
            if isinstance(value, list)
            else value.format(**fill)
            for key, value in body.items()
        }

    response = login_client(alice).call(method, url, body)

    assert error(response, 404) == {"message": CONVERSATION_NOT_FOUND}
    assert "secret" not in response.content.decode().lower()
    theirs.refresh_from_db()
    assert theirs.title == "Private" and theirs.last_seq == 2
    assert not Membership.objects.filter(conversation=theirs, user=alice).exists()
    assert Membership.objects.get(conversation=theirs, user=carol).role == "member"


def test_the_seed_endpoints_still_answer_the_seed_shapes(alice, bob, login_client):  # noqa: ANN001
    """A message sent in the direct conversation through the new API shows in the seed's
    history and users list with exactly the seed's keys (no kind, no event)."""
    conversation = ok(login_client(alice).call("post", URL, {"userId": str(bob.pk)}), 201)
    sent = ok(
        login_client(alice).call("post", f"{URL}{conversation['_id']}/messages", {"text": "hey"}),
        201,
    )

    [seen] = ok(login_client(bob).get(f"/api/messages/{alice.pk}"))
    assert seen["_id"] == sent["_id"] and seen["receiverId"] == str(bob.pk)
    assert "kind" not in seen and "event" not in seen
    [row] = ok(login_client(bob).get("/api/messages/users"))
    assert row["lastMessage"]["_id"] == sent["_id"] and row["unreadCount"] == 1
    direct = selectors.direct_conversation(user_id=alice.pk, other_id=bob.pk)
    assert str(direct.pk) == conversation["_id"]


def test_sidebar_orders_two_conversations_active_in_the_same_instant_by_the_later_message(
    alice, bob, carol, make_group, group_post, make_message, login_client
):  # noqa: ANN001
    """Timestamps tie (same millisecond on a busy server): the later message still wins."""
    from messaging.models import Conversation

    make_message(bob, alice, "the direct conversation is the older one")
    team = make_group(alice, bob, carol, title="Team")
    group_post(bob, team, "first")
    direct = make_message(bob, alice, "second").conversation_id
    Conversation.objects.filter(pk__in=[team.pk, direct]).update(
        last_message_at=Conversation.objects.get(pk=team.pk).last_message_at
    )

    assert [row["_id"] for row in ok(login_client(alice).get(URL))] == [str(direct), str(team.pk)]
