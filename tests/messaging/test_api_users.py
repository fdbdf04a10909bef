"""GET /api/messages/users: the contact list with unread counts and last messages."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from messaging import selectors
from tests.accounts.conftest import ISO_UTC, USER_KEYS

URL = "/api/messages/users"
CONTACT_KEYS = USER_KEYS | {"unreadCount", "lastMessage"}


def ids(response) -> list[str]:  # noqa: ANN001
    return [row["_id"] for row in response.json()]


def test_users_lists_every_other_active_user(make_user, alice, bob, login_client):  # noqa: ANN001
    """Everyone else who can log in is listed, in the User shape plus chat fields."""
    carol = make_user(full_name="Carol Nguyen")
    make_user(full_name="Gone Person", is_active=False)

    response = login_client(alice).get(URL)

    assert response.status_code == 200
    assert sorted(ids(response)) == sorted([str(bob.pk), str(carol.pk)])
    for row in response.json():
        assert set(row) == CONTACT_KEYS
        assert row["unreadCount"] == 0 and row["lastMessage"] is None
    assert "password" not in response.content.decode().lower()


def test_users_needs_login(api, db):  # noqa: ANN001
    """Without the cookie the list is refused."""
    assert api.get(URL).status_code == 401


def test_users_sorted_by_latest_conversation_then_name(
    make_user, alice, bob, make_message, login_client
):  # noqa: ANN001
    """The most recent conversation (either direction) comes first, then names A to Z."""
    carol = make_user(full_name="carol Nguyen")
    zed = make_user(full_name="Zed Quiet")
    aaron = make_user(full_name="Aaron Quiet")
    make_message(alice, carol, "old")
    make_message(alice, bob, "newer")
    client = login_client(alice)

    assert ids(client.get(URL)) == [str(u.pk) for u in (bob, carol, aaron, zed)]

    make_message(carol, alice, "a reply moves carol up")
    assert ids(client.get(URL)) == [str(u.pk) for u in (carol, bob, aaron, zed)]


def test_users_unread_count_and_last_message(alice, bob, make_message, login_client):  # noqa: ANN001
    """unreadCount counts their unread messages to me; lastMessage is the newest either way."""
    make_message(bob, alice, "one", read_at=timezone.now())
    make_message(bob, alice, "two")
    make_message(bob, alice, "three")
    mine = make_message(alice, bob, "my reply")

    row = login_client(alice).get(URL).json()[0]
    assert row["_id"] == str(bob.pk)
    assert row["unreadCount"] == 2
    assert row["lastMessage"]["_id"] == str(mine.pk)
    assert row["lastMessage"]["text"] == "my reply"

    # For Bob only Alice's reply is unread: his own three messages never count.
    bob_view = login_client(bob).get(URL).json()[0]
    assert bob_view["unreadCount"] == 1
    assert bob_view["lastMessage"]["_id"] == str(mine.pk)


def test_online_users_have_no_last_seen(make_user, alice, bob, login_client, monkeypatch):  # noqa: ANN001
    """lastSeen is null while someone has a socket open, their last visit otherwise."""
    carol = make_user(last_seen=timezone.now() - timedelta(hours=2))
    bob.last_seen = timezone.now() - timedelta(days=1)
    bob.save()
    monkeypatch.setattr(selectors, "presence_online_ids", lambda: {str(bob.pk)})

    rows = {row["_id"]: row for row in login_client(alice).get(URL).json()}

    assert rows[str(bob.pk)]["lastSeen"] is None
    assert ISO_UTC.match(rows[str(carol.pk)]["lastSeen"])


def test_a_third_user_sees_nothing_of_another_pair(
    make_user, alice, bob, make_message, login_client
):  # noqa: ANN001
    """Alice and Bob's conversation gives Carol no unread count and no last message."""
    carol = make_user()
    make_message(alice, bob, "private")
    make_message(bob, alice, "also private")

    rows = login_client(carol).get(URL).json()

    assert {row["_id"] for row in rows} == {str(alice.pk), str(bob.pk)}
    assert all(row["lastMessage"] is None and row["unreadCount"] == 0 for row in rows)
    assert "private" not in str(rows)


def _populate(make_user, make_message, me, count: int) -> None:  # noqa: ANN001
    """`count` other users, each with a conversation with `me` in both directions."""
    for n in range(count):
        other = make_user()
        make_message(other, me, f"hello {n}")
        make_message(me, other, f"reply {n}")


@pytest.mark.parametrize("others", [3, 30])
def test_users_list_runs_six_queries_whatever_the_size(
    others, make_user, make_message, alice, django_assert_num_queries
):  # noqa: ANN001
    """Users, my memberships, those conversations, their last messages, the other members'
    cursors and the last messages' files: six queries whatever the number of people or
    messages, no N+1."""
    _populate(make_user, make_message, alice, others)

    with django_assert_num_queries(6):
        rows = selectors.user_contacts(user=alice)

    assert len(rows) == others
    assert all(row["unreadCount"] == 1 and row["lastMessage"] for row in rows)


def test_users_endpoint_query_count_does_not_grow(make_user, make_message, alice, login_client):  # noqa: ANN001
    """The whole request (auth included) costs the same for 3 and for 30 contacts."""
    client = login_client(alice)
    assert client.get(URL).status_code == 200  # the user cache is warm from here on
    counts = []
    for batch in (3, 27):
        _populate(make_user, make_message, alice, batch)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(URL).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
