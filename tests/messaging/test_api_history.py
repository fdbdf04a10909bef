"""GET /api/messages/<id>: a conversation's history, paged back (`before`) or forward (`after`)."""

import pytest

from messaging.selectors import BAD_LIMIT, BEFORE_AND_AFTER, MESSAGE_NOT_FOUND, USER_NOT_FOUND

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
    "editedAt",
    "deletedAt",
    "replyTo",
    "reactions",
}


def url(user, **query: object) -> str:  # noqa: ANN001
    params = "&".join(f"{key}={value}" for key, value in query.items())
    return f"/api/messages/{user.pk}" + (f"?{params}" if params else "")


def texts(response) -> list[str]:  # noqa: ANN001
    assert response.status_code == 200, response.content
    return [row["text"] for row in response.json()]


@pytest.fixture
def seven(alice, bob, make_message) -> list:  # noqa: ANN001
    """m0..m6 between Alice and Bob, alternating senders."""
    return [
        make_message(*((alice, bob) if n % 2 == 0 else (bob, alice)), text=f"m{n}")
        for n in range(7)
    ]


def test_history_is_the_pair_only_oldest_first(make_user, alice, bob, make_message, login_client):  # noqa: ANN001
    """Both directions of this conversation, oldest first; other pairs never appear."""
    carol = make_user()
    make_message(alice, bob, "a1")
    make_message(alice, carol, "to carol")
    make_message(bob, alice, "b1")
    make_message(bob, carol, "bob to carol")
    make_message(alice, bob, "a2")

    response = login_client(alice).get(url(bob))

    assert texts(response) == ["a1", "b1", "a2"]
    assert set(response.json()[0]) == MESSAGE_KEYS
    assert texts(login_client(bob).get(url(alice))) == ["a1", "b1", "a2"]


def test_default_page_is_the_newest_and_before_pages_back(seven, bob, alice, login_client):  # noqa: ANN001
    """limit=3 gives m4..m6; `before` the oldest one shown gives the three before it."""
    client = login_client(alice)

    assert texts(client.get(url(bob, limit=3))) == ["m4", "m5", "m6"]
    assert texts(client.get(url(bob, limit=3, before=seven[4].pk))) == ["m1", "m2", "m3"]
    assert texts(client.get(url(bob, limit=3, before=seven[1].pk))) == ["m0"]
    assert texts(client.get(url(bob, limit=3, before=seven[0].pk))) == []


def test_after_catches_up_oldest_first_in_pages(seven, bob, alice, login_client):  # noqa: ANN001
    """`after` returns what came later, oldest first, `limit` at a time, until empty."""
    client = login_client(alice)
    cursor, seen = seven[1].pk, []
    while page := client.get(url(bob, limit=2, after=cursor)).json():
        seen += [row["text"] for row in page]
        cursor = page[-1]["_id"]
    assert seen == ["m2", "m3", "m4", "m5", "m6"]


def test_default_limit_is_fifty(alice, bob, make_message, login_client):  # noqa: ANN001
    """Without `limit` the newest 50 come back."""
    for n in range(55):
        make_message(alice, bob, f"n{n}")
    page = texts(login_client(alice).get(url(bob)))
    assert len(page) == 50 and page[0] == "n5" and page[-1] == "n54"


@pytest.mark.parametrize("limit", ["0", "101", "abc", "1.5", "-3"])
def test_bad_limit_is_400(limit, alice, bob, login_client):  # noqa: ANN001
    """limit must be 1..100."""
    response = login_client(alice).get(url(bob, limit=limit))
    assert response.status_code == 400
    assert response.json()["message"] == BAD_LIMIT


def test_limit_of_one_hundred_is_allowed(alice, bob, login_client):  # noqa: ANN001
    assert login_client(alice).get(url(bob, limit=100)).status_code == 200


def test_before_and_after_together_is_400(seven, alice, bob, login_client):  # noqa: ANN001
    response = login_client(alice).get(url(bob, before=seven[5].pk, after=seven[1].pk))
    assert response.status_code == 400
    assert response.json()["message"] == BEFORE_AND_AFTER


@pytest.mark.parametrize("user_id", ["nope", "0", "99999999999999999999999", "%20"])
def test_unknown_or_malformed_user_is_404(user_id, alice, login_client):  # noqa: ANN001
    response = login_client(alice).get(f"/api/messages/{user_id}")
    assert response.status_code == 404
    assert response.json()["message"] == USER_NOT_FOUND


def test_deleted_user_is_404(make_user, alice, login_client):  # noqa: ANN001
    """An id that was valid once answers like any unknown id."""
    gone = make_user()
    gone_id = gone.pk
    gone.delete()
    response = login_client(alice).get(f"/api/messages/{gone_id}")
    assert response.status_code == 404


@pytest.mark.parametrize("cursor", ["before", "after"])
def test_cursor_from_another_conversation_is_404(
    cursor, make_user, alice, bob, seven, login_client
):  # noqa: ANN001
    """Carol cannot use Alice and Bob's message ids: 404 as for an unknown id, no data."""
    carol = make_user()
    client = login_client(carol)

    for target in (alice, bob):
        response = client.get(url(target, **{cursor: seven[3].pk}))
        assert response.status_code == 404
        assert response.json() == {"message": MESSAGE_NOT_FOUND}


@pytest.mark.parametrize("value", ["zzz", "-1", "99999999999999999999999"])
def test_malformed_cursor_is_404(value, alice, bob, seven, login_client):  # noqa: ANN001
    response = login_client(alice).get(url(bob, before=value))
    assert response.status_code == 404
    assert response.json()["message"] == MESSAGE_NOT_FOUND


def test_a_third_user_gets_an_empty_history(make_user, alice, bob, seven, login_client):  # noqa: ANN001
    """Carol asking for her conversation with Alice sees nothing of Alice and Bob's."""
    carol = make_user()
    assert texts(login_client(carol).get(url(alice))) == []
    assert texts(login_client(carol).get(url(bob))) == []


def test_history_needs_login(api, bob):  # noqa: ANN001
    assert api.get(url(bob)).status_code == 401


def test_history_page_walks_the_index_instead_of_sorting_the_conversation(
    alice, bob, login_client, make_message
):
    """Each page query is an index range that stops at the page size (no sort of all rows)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for n in range(6):
        make_message(alice, bob, text=f"a{n}")
        make_message(bob, alice, text=f"b{n}")
    with CaptureQueriesContext(connection) as captured:
        response = login_client(alice).call("get", f"/api/messages/{bob.pk}?limit=4")
    assert [m["text"] for m in response.json()] == ["a4", "b4", "a5", "b5"]
    pages = [q["sql"] for q in captured if 'FROM "messaging_message"' in q["sql"]]
    assert pages
    with connection.cursor() as cursor:
        for sql in pages:
            plan = " ".join(str(row) for row in cursor.execute(f"EXPLAIN QUERY PLAN {sql}"))
            # One range of the unique (conversation, seq) index (SQLite may name it itself).
            assert "TEMP B-TREE" not in plan and "conversation_id=? AND seq" in plan, plan
