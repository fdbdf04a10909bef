"""What lets a client notice a lost live frame: `prevId` chains and the `ready` event."""

import pytest

from tests.messaging.test_consumer import drain, next_event, rest_send


def send(client, to, text: str, **extra):  # noqa: ANN001
    response = client.call("post", f"/api/messages/{to.pk}", {"text": text, **extra})
    assert response.status_code in (200, 201), response.content
    return response.json()


def test_each_new_message_names_the_previous_one_of_its_conversation(
    alice, bob, make_user, login_client, sent_events
):
    """`prevId` is the conversation's previous message, whoever sent it; null for the first."""
    carol = make_user(email="carol@example.com")
    a, b = login_client(alice), login_client(bob)
    with sent_events() as events:
        first = send(a, bob, "one")
        second = send(b, alice, "two")
        elsewhere = send(a, carol, "another conversation")
        third = send(a, bob, "three")

    assert first["prevId"] is None
    assert second["prevId"] == first["_id"]
    assert elsewhere["prevId"] is None  # conversations chain separately
    assert third["prevId"] == second["_id"]
    # The live frames carry the same chain as the answers.
    frames = [data for _, event, data in events if event == "newMessage"]
    assert [(m["_id"], m["prevId"]) for m in frames] == [
        (m["_id"], m["prevId"]) for m in (first, second, elsewhere, third)
    ]


def test_a_retried_send_answers_with_the_same_predecessor(alice, bob, login_client):
    """The answer to a retry (same clientId) still links into the chain."""
    a = login_client(alice)
    first = send(a, bob, "one")
    second = send(a, bob, "two", clientId="retry-me")
    send(login_client(bob), alice, "a reply in between")

    again = send(a, bob, "two", clientId="retry-me")

    assert again["_id"] == second["_id"]
    assert again["prevId"] == first["_id"]


def test_a_send_costs_the_same_statements_whatever_the_history(alice, bob, login_client):
    """The predecessor comes from the conversation's head row: no lookup through history.
    Counted by SQLite itself (the hot statements bypass Django's cursor and its query log)."""
    from django.db import connection

    a = login_client(alice)
    for n in range(5):
        send(a, bob, f"warm up {n}")
    connection.ensure_connection()
    captured: list[str] = []
    connection.connection.set_trace_callback(captured.append)
    try:
        send(a, bob, "measured")
    finally:
        connection.connection.set_trace_callback(None)
    # SQLite also traces the search index's trigger inside the INSERT: its own statements
    # ("-- ...") and the INSERT again as each one starts. No round trip of its own
    # (tests/search/test_index.py counts that side), so count each statement run once.
    statements: list[str] = []
    for sql in captured:
        if "SAVEPOINT" in sql or "RELEASE" in sql or sql.startswith("--"):
            continue
        if not statements or statements[-1] != sql:
            statements.append(sql)
    # the head, the insert, the sender's unread bookkeeping, the new head
    assert len(statements) == 4, statements
    assert not [sql for sql in statements if 'FROM "messaging_message"' in sql]


@pytest.mark.django_db(transaction=True)
async def test_ready_comes_first_once_the_socket_is_subscribed(
    open_socket, alice, bob, login_client
):
    """`ready` is the first frame, and a message sent right after it arrives live."""
    socket = await open_socket(bob)
    first = await socket.receive_json_from(timeout=3)
    assert first == {"event": "ready", "data": {"userId": str(bob.pk)}}
    await drain(socket)

    sent = await rest_send(login_client(alice), bob, "right after ready")

    assert (await next_event(socket, "newMessage"))["_id"] == sent["_id"]
