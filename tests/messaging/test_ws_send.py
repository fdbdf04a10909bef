"""`sendMessage` over the WebSocket: same rules as REST, an answer on the sending socket."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from django.db import connection

from messaging import sending
from messaging.consumers import BAD_SEND
from messaging.direct import direct_conversation_id
from messaging.models import Membership, Message
from messaging.selectors import USER_NOT_FOUND
from messaging.sending import EMPTY_MESSAGE, NOT_YOURSELF, TEXT_TOO_LONG, TOO_MANY_MESSAGES
from tests.messaging.test_consumer import drain, events_within, next_event, send_event

pytestmark = pytest.mark.django_db(transaction=True)


async def send(socket, to, text: str = "hi", client_id: str | None = "c-1", **extra) -> None:  # noqa: ANN001
    data = {"to": str(to.pk) if hasattr(to, "pk") else to, "text": text, **extra}
    if client_id is not None:
        data["clientId"] = client_id
    await send_event(socket, "sendMessage", data)


async def rows() -> int:
    return await database_sync_to_async(Message.objects.count)()


async def test_a_sent_message_is_answered_stored_and_reaches_every_tab_of_both(
    open_socket, alice, bob
):
    """The sending socket gets `messageSent`; every other socket of both people `newMessage`
    (the sending socket has the message already: no second copy to parse)."""
    sender, other_tab = await open_socket(alice), await open_socket(alice)
    receivers = [await open_socket(bob), await open_socket(bob)]
    for socket in [sender, other_tab, *receivers]:
        await drain(socket)

    await send(sender, bob, "over the socket", client_id="ws-1")

    answer = await next_event(sender, "messageSent")
    message = answer["message"]
    assert answer["clientId"] == "ws-1"
    assert (message["text"], message["clientId"], message["prevId"]) == (
        "over the socket",
        "ws-1",
        None,
    )
    assert (message["senderId"], message["receiverId"]) == (str(alice.pk), str(bob.pk))
    for socket in [other_tab, *receivers]:
        assert (await next_event(socket, "newMessage"))["_id"] == message["_id"]
    assert "newMessage" not in await events_within(sender)
    assert await rows() == 1


async def test_a_retried_client_id_is_answered_with_the_first_message_and_not_announced(
    open_socket, alice, bob
):
    a, b = await open_socket(alice), await open_socket(bob)
    await send(a, bob, "once", client_id="same")
    first = (await next_event(a, "messageSent"))["message"]
    await next_event(b, "newMessage")
    await drain(b)

    await send(a, bob, "once, again", client_id="same")

    again = (await next_event(a, "messageSent"))["message"]
    assert again["_id"] == first["_id"] and again["text"] == "once"
    assert await events_within(b) == []
    assert await rows() == 1


@pytest.mark.parametrize(
    ("data", "status", "sentence"),
    [
        ({"text": "no id", "client_id": None}, 400, BAD_SEND),
        ({"text": "   "}, 400, EMPTY_MESSAGE),
        ({"text": "x" * 5001}, 400, TEXT_TOO_LONG),
        ({"text": "who?", "to": "999999"}, 404, USER_NOT_FOUND),
        ({"text": "who?", "to": "not-an-id"}, 404, USER_NOT_FOUND),
        ({"text": "me", "to": "self"}, 400, NOT_YOURSELF),
    ],
)
async def test_a_refused_send_gets_message_failed_and_stores_nothing(
    open_socket, alice, bob, data, status, sentence
):
    a = await open_socket(alice)
    await drain(a)
    to = {"self": alice}.get(data.get("to"), data.get("to", bob))
    await send(a, to, data["text"], client_id=data.get("client_id", "c-9"))

    failed = await next_event(a, "messageFailed")
    assert (failed["status"], failed["message"]) == (status, sentence)
    assert await rows() == 0
    await send_event(a, "ping")  # the socket stays usable
    assert await next_event(a, "pong") is None


async def test_sending_too_fast_is_refused_with_retry_advice_but_a_retry_is_answered(
    open_socket, settings, alice, bob
):
    """Over the per-user limit: 429 with retryAfter; a clientId already stored still answers."""
    settings.MESSAGE_RATE_PER_USER = 2
    a = await open_socket(alice)
    for n in range(2):
        await send(a, bob, f"m{n}", client_id=f"c{n}")
        await next_event(a, "messageSent")

    await send(a, bob, "one too many", client_id="c2")
    refused = await next_event(a, "messageFailed")
    assert (refused["status"], refused["message"]) == (429, TOO_MANY_MESSAGES)
    assert refused["retryAfter"] >= 1 and refused["clientId"] == "c2"

    await send(a, bob, "m0", client_id="c0")
    assert (await next_event(a, "messageSent"))["message"]["text"] == "m0"
    assert await rows() == 2


async def test_a_full_writer_queue_refuses_with_503_and_retry_advice(
    open_socket, settings, alice, bob, monkeypatch
):
    """Past capacity a send is refused, never silently dropped."""
    from messaging import writer

    def busy(func, *args):  # noqa: ANN001, ANN202
        raise writer.WriterBusy("full")

    monkeypatch.setattr(sending, "awrite", busy)
    a = await open_socket(alice)
    await send(a, bob, "in a rush", client_id="busy-1")

    failed = await next_event(a, "messageFailed")
    assert (failed["status"], failed["retryAfter"]) == (503, sending.BUSY_RETRY_AFTER)
    assert await rows() == 0


async def test_the_store_job_costs_four_statements(open_socket, alice, bob, monkeypatch):
    """The conversation's head, the insert, the sender's unread bookkeeping and the new head:
    four statements, whatever the history (the receiver comes from the user cache, warm after
    the first message). Counted by SQLite itself: the hot statements bypass Django's cursor."""
    captured: list[str] = []
    store = sending.message_store

    def counted(*args):  # noqa: ANN002, ANN202
        connection.ensure_connection()
        connection.connection.set_trace_callback(captured.append)
        try:
            return store(*args)
        finally:
            connection.connection.set_trace_callback(None)

    a = await open_socket(alice)
    await send(a, bob, "warm the user cache", client_id="q-0")
    await next_event(a, "messageSent")
    monkeypatch.setattr(sending, "message_store", counted)
    await send(a, bob, "counted", client_id="q-1")
    await next_event(a, "messageSent")

    statements = [sql for sql in captured if "SAVEPOINT" not in sql and "RELEASE" not in sql]
    assert len(statements) == 4, statements


async def test_deliveries_are_recorded_together_and_the_sender_hears_the_newest(
    open_socket, settings, alice, bob
):
    """Many messages reaching Bob's sockets make one receipt per flush, up to the newest."""
    settings.RECEIPT_FLUSH_DELAY = 0.3
    a, b1, b2 = await open_socket(alice), await open_socket(bob), await open_socket(bob)
    for socket in (a, b1, b2):
        await drain(socket)

    ids = []
    for n in range(5):
        await send(a, bob, f"burst {n}", client_id=f"b{n}")
        ids.append((await next_event(a, "messageSent"))["message"]["_id"])

    receipt = await next_event(a, "messagesDelivered", until=lambda r: r["upTo"] == ids[-1])
    assert receipt["userId"] == str(bob.pk)
    membership = await database_sync_to_async(
        lambda: Membership.objects.get(user=bob, conversation_id=receipt["conversationId"])
    )()
    assert membership.delivered_seq == 5
    # Two tabs and five messages, one flush: the sender heard it once or twice, not ten times.
    later = [e for e in await events_within(a, 0.5) if e == "messagesDelivered"]
    assert len(later) <= 1


async def test_in_a_group_deliveries_are_told_to_the_sender_not_to_every_member(
    open_socket, settings, alice, bob, carol, make_group
):
    """Bob posts to a group: Bob hears that Alice and Carol have it (`cursorMoved` delivered),
    Alice does not hear about Carol's copy, nor Carol about Alice's (members² frames)."""
    settings.RECEIPT_FLUSH_DELAY = 0.05
    team = await database_sync_to_async(make_group)(alice, bob, carol)
    a, b, c = await open_socket(alice), await open_socket(bob), await open_socket(carol)
    for socket in (a, b, c):
        await drain(socket)

    await send_event(
        b, "sendMessage", {"conversationId": str(team.pk), "text": "all here?", "clientId": "g1"}
    )
    sent = (await next_event(b, "messageSent"))["message"]
    for socket in (a, c):
        assert (await next_event(socket, "newMessage"))["_id"] == sent["_id"]

    heard = set()
    while heard != {str(alice.pk), str(carol.pk)}:
        move = await next_event(b, "cursorMoved")
        assert (move["kind"], move["upTo"]) == ("delivered", sent["_id"])
        heard.add(move["userId"])
    await asyncio.sleep(0)  # the flush that told Bob told anyone else in the same breath
    for socket in (a, c):
        assert "cursorMoved" not in await events_within(socket, 0.3)


async def test_a_flush_of_many_receipts_reaches_the_sender_as_one_frame_each(
    open_socket, settings, alice, bob, carol, make_user, make_group
):
    """Everyone in a group receives Bob's message in the same flush: Bob's socket gets one
    `cursorMoved` frame per member (sent together through the layer, still one frame each)."""
    settings.RECEIPT_FLUSH_DELAY = 0.3
    dan = await database_sync_to_async(make_user)("dan@example.com", "Dan Idle")
    team = await database_sync_to_async(make_group)(alice, bob, carol, dan)
    sockets = [await open_socket(user) for user in (alice, bob, carol, dan)]
    for socket in sockets:
        await drain(socket)
    b = sockets[1]

    await send_event(
        b, "sendMessage", {"conversationId": str(team.pk), "text": "all here?", "clientId": "g"}
    )
    await next_event(b, "messageSent")
    moves = [await next_event(b, "cursorMoved") for _ in range(3)]

    assert sorted(m["userId"] for m in moves) == sorted(str(u.pk) for u in (alice, carol, dan))


async def test_a_direct_message_sent_by_conversation_id_names_its_receiver(open_socket, alice, bob):
    """`sendMessage {conversationId}` into a direct conversation stores it to the other person,
    exactly like `{to}`: the seed API's `receiverId` and receipts depend on it."""
    conversation_id = await database_sync_to_async(direct_conversation_id)(alice.pk, bob.pk)
    a, b = await open_socket(alice), await open_socket(bob)
    await drain(a)
    await drain(b)

    await send_event(
        a, "sendMessage", {"conversationId": str(conversation_id), "text": "hi", "clientId": "d1"}
    )

    message = (await next_event(a, "messageSent"))["message"]
    assert (message["senderId"], message["receiverId"]) == (str(alice.pk), str(bob.pk))
    assert (await next_event(b, "newMessage"))["receiverId"] == str(bob.pk)
    stored = await database_sync_to_async(Message.objects.get)(pk=message["_id"])
    assert stored.receiver_id == bob.pk
