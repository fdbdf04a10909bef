"""Blocking on the WebSocket: sends refused, typing and presence never cross a block."""

import time

import pytest
from channels.db import database_sync_to_async

from safety.services import CANNOT_MESSAGE, UNBLOCK_TO_SEND, block_add, block_remove
from tests.messaging.test_consumer import drain, events_within, next_event, send_event

pytestmark = pytest.mark.django_db(transaction=True)

DELTA = "/ws/?presence=delta"


async def frames_within(socket, seconds: float = 0.3) -> list[dict]:  # noqa: ANN001
    """Every frame that arrives within `seconds` (presence included)."""
    frames = []
    deadline = time.monotonic() + seconds
    while not await socket.receive_nothing(timeout=max(0.01, deadline - time.monotonic())):
        frames.append(await socket.receive_json_from())
    return frames


@pytest.fixture
def talked(make_message):  # noqa: ANN001
    async def make(a, b) -> None:  # noqa: ANN001
        await database_sync_to_async(make_message)(a, b, "hello")

    return make


block = database_sync_to_async(lambda a, b: block_add(user=a, other_id=str(b.pk)))
unblock = database_sync_to_async(lambda a, b: block_remove(user=a, other_id=str(b.pk)))


async def test_a_socket_send_is_refused_both_ways(open_socket, talked, alice, bob):
    await talked(alice, bob)
    await block(alice, bob)
    a, b = await open_socket(alice), await open_socket(bob)
    for socket in (a, b):
        await drain(socket)

    await send_event(b, "sendMessage", {"to": str(alice.pk), "text": "hi", "clientId": "c1"})
    failed = await next_event(b, "messageFailed")
    assert (failed["status"], failed["message"]) == (403, CANNOT_MESSAGE)
    await send_event(a, "sendMessage", {"to": str(bob.pk), "text": "hi", "clientId": "c2"})
    failed = await next_event(a, "messageFailed")
    assert (failed["status"], failed["message"]) == (403, UNBLOCK_TO_SEND)
    assert "newMessage" not in await events_within(a) + await events_within(b)

    await unblock(alice, bob)
    await send_event(b, "sendMessage", {"to": str(alice.pk), "text": "ok", "clientId": "c3"})
    assert (await next_event(a, "newMessage"))["text"] == "ok"


async def test_typing_never_crosses_a_block(open_socket, talked, make_group, alice, bob, carol):
    await talked(alice, bob)
    group = await database_sync_to_async(make_group)(carol, alice, bob)
    await block(alice, bob)
    a, b, c = await open_socket(alice), await open_socket(bob), await open_socket(carol)
    for socket in (a, b, c):
        await drain(socket)

    await send_event(b, "typing", {"to": str(alice.pk), "isTyping": True})
    await send_event(a, "typing", {"to": str(bob.pk), "isTyping": True})
    await send_event(b, "typing", {"conversationId": str(group.pk), "isTyping": True})
    # Carol sees Bob typing in the group; Alice sees nobody, Bob does not see Alice.
    assert (await next_event(c, "typing"))["userId"] == str(bob.pk)
    assert "typing" not in await events_within(a)
    assert "typing" not in await events_within(b)

    await unblock(alice, bob)
    await send_event(b, "typing", {"to": str(alice.pk), "isTyping": False})
    await send_event(b, "typing", {"to": str(alice.pk), "isTyping": True})
    shown = await next_event(a, "typing", until=lambda d: d["isTyping"])
    assert shown["userId"] == str(bob.pk)


async def test_presence_never_crosses_a_block(open_socket, talked, alice, bob, carol):
    await talked(alice, bob)
    await talked(alice, carol)
    await block(bob, alice)  # bob blocks alice: neither sees the other come and go
    await open_socket(bob, path=DELTA)

    a = await open_socket(alice, path=DELTA)
    assert await next_event(a, "getOnlineUsers") == []  # bob is online, not for alice
    c = await open_socket(carol, path=DELTA)
    assert await next_event(a, "userOnline") == {"userId": str(carol.pk)}
    await drain(c)
    b2 = await open_socket(bob, path=DELTA)  # a second tab: no change anyway
    await b2.disconnect()
    seed = await open_socket(alice)  # the seed client's whole list leaves bob out too
    assert str(bob.pk) not in await next_event(seed, "getOnlineUsers")
    await seed.disconnect()
    await drain(a)

    # bob comes back after going away: alice hears nothing of it.
    for frame in await frames_within(a):
        assert frame["data"] != {"userId": str(bob.pk)}
    b3 = await open_socket(bob, path=DELTA)
    assert all(str(bob.pk) not in str(frame["data"]) for frame in await frames_within(a)), (
        "bob's presence reached alice"
    )
    assert all(str(alice.pk) not in str(frame["data"]) for frame in await frames_within(b3))

    await unblock(bob, alice)
    assert await next_event(a, "userOnline", until=lambda d: d["userId"] == str(bob.pk))
