"""The chat WebSocket as a client sees it: auth, presence, messages, typing, receipts, limits."""

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from accounts import services as account_services
from accounts.models import User
from accounts.tokens import token_issue
from messaging import presence, realtime
from messaging.consumers import (
    BAD_FRAME,
    BAD_READ,
    BAD_TYPING,
    BINARY_FRAME,
    TOO_MANY_EVENTS,
    UNKNOWN_EVENT,
)
from messaging.presence import presence_online_ids
from messaging.selectors import MESSAGE_NOT_FOUND, USER_NOT_FOUND

pytestmark = pytest.mark.django_db(transaction=True)

WAIT = 3.0  # generous deadline for something that should arrive at once


async def next_event(
    socket: WebsocketCommunicator,
    event: str,
    timeout: float = WAIT,
    until: Callable[[Any], bool] = lambda data: True,
) -> Any:
    """Data of the next `event` frame (for which `until` holds), skipping others."""
    deadline = time.monotonic() + timeout
    while True:
        frame = await socket.receive_json_from(timeout=max(0.01, deadline - time.monotonic()))
        if frame["event"] == event and until(frame["data"]):
            return frame["data"]


async def close_code(socket: WebsocketCommunicator, timeout: float = WAIT) -> int:
    """The code the server closed this socket with, skipping frames sent before."""
    deadline = time.monotonic() + timeout
    while True:
        output = await socket.receive_output(timeout=max(0.01, deadline - time.monotonic()))
        if output["type"] == "websocket.close":
            return output.get("code", 1000)


async def drain(socket: WebsocketCommunicator) -> list[dict]:
    """Every frame already waiting (the connect-time online lists, say)."""
    frames = []
    while not await socket.receive_nothing(timeout=0.05):
        frames.append(await socket.receive_json_from())
    return frames


PRESENCE_EVENTS = {"getOnlineUsers", "userOnline", "userOffline"}


async def events_within(socket: WebsocketCommunicator, seconds: float = 0.3) -> list[str]:
    """Names of the frames that arrive within `seconds`, except presence (which may still be
    settling from the sockets a test opened, or from a first message introducing two people)."""
    names = []
    deadline = time.monotonic() + seconds
    while not await socket.receive_nothing(timeout=max(0.01, deadline - time.monotonic())):
        frame = await socket.receive_json_from()
        if frame["event"] not in PRESENCE_EVENTS:
            names.append(frame["event"])
    return names


async def send_event(socket: WebsocketCommunicator, event: str, data: Any = None) -> None:
    await socket.send_json_to({"event": event, "data": data})


async def rest_send(client: Any, to: User, text: str) -> dict:
    response = await sync_to_async(client.call)(
        "post", f"/api/messages/send/{to.pk}", {"text": text}
    )
    assert response.status_code == 201, response.content
    return response.json()


# --- authentication and origin -----------------------------------------------------------------


async def test_no_cookie_is_closed_4401(open_socket):
    """Without a login cookie the socket is accepted and closed at once with 4401."""
    socket = await open_socket(token=None)
    assert socket.connected
    assert await close_code(socket) == realtime.CLOSE_UNAUTHORIZED


async def test_forged_token_is_closed_4401(open_socket, alice):
    """A token signed with another key is refused like no token."""
    import jwt

    forged = jwt.encode(
        {"sub": str(alice.pk), "ver": 0, "iat": 1, "exp": 2**40}, "not-the-key-" * 4
    )
    socket = await open_socket(token=forged)
    assert await close_code(socket) == realtime.CLOSE_UNAUTHORIZED


async def test_revoked_token_is_closed_4401(open_socket, alice):
    """A token from before a logout no longer opens a socket."""
    token = token_issue(alice)
    await database_sync_to_async(account_services.user_logout)(user=alice)
    socket = await open_socket(token=token)
    assert await close_code(socket) == realtime.CLOSE_UNAUTHORIZED
    assert presence_online_ids() == set()


async def test_foreign_origin_is_refused_at_the_handshake(open_socket, alice):
    """A page on another site can't open a socket with the user's cookie."""
    socket = await open_socket(alice, origin="https://evil.example")
    assert not socket.connected
    assert presence_online_ids() == set()


# --- presence ---------------------------------------------------------------------------------


async def test_connect_gets_the_online_list_and_others_see_arrivals_and_departures(
    open_socket, alice, bob
):
    """Everyone learns who is online when someone comes and when they go; lastSeen is kept."""
    a = await open_socket(alice)
    assert await next_event(a, "getOnlineUsers") == [str(alice.pk)]

    b = await open_socket(bob)
    assert sorted(await next_event(b, "getOnlineUsers")) == sorted([str(alice.pk), str(bob.pk)])
    assert sorted(await next_event(a, "getOnlineUsers")) == sorted([str(alice.pk), str(bob.pk)])
    assert presence_online_ids() == {str(alice.pk), str(bob.pk)}

    await b.disconnect()
    assert await next_event(a, "getOnlineUsers") == [str(alice.pk)]
    await database_sync_to_async(bob.refresh_from_db)()
    assert bob.last_seen is not None


async def test_closing_one_of_two_tabs_keeps_the_user_online(open_socket, alice, bob):
    """Only the last tab closing takes someone offline."""
    watcher = await open_socket(bob)
    tab1, tab2 = await open_socket(alice), await open_socket(alice)
    await next_event(watcher, "getOnlineUsers", until=lambda ids: str(alice.pk) in ids)
    await drain(watcher)

    await tab1.disconnect()
    assert await watcher.receive_nothing(timeout=0.3)
    assert str(alice.pk) in presence_online_ids()
    await send_event(tab2, "ping")
    assert await next_event(tab2, "pong") is None

    await tab2.disconnect()
    assert await next_event(watcher, "getOnlineUsers") == [str(bob.pk)]
    assert presence_online_ids() == {str(bob.pk)}


async def test_an_online_list_older_than_the_last_one_shown_is_dropped(
    open_socket, alice, settings
):
    """Lists from different processes can cross on the way; the client never goes back in time."""
    a = await open_socket(alice)
    await drain(a)

    async def close(code: int) -> None:  # a socket of another process: not ours to close
        raise AssertionError(code)

    newest = await presence.presence_socket_open("999", "other-process-socket", close)
    await next_event(a, "getOnlineUsers", until=lambda ids: "999" in ids)

    async def listing(online: list[str], version: int):  # noqa: ANN202
        async def fetch() -> tuple[list[str], int]:
            return online, version

        return fetch

    settings.PRESENCE_BROADCAST_WINDOW = 0
    await realtime.online_users_broadcast(await listing(["stale"], newest.version - 1))
    assert await a.receive_nothing(timeout=0.2)
    await realtime.online_users_broadcast(await listing(["fresh"], newest.version + 1))
    assert await next_event(a, "getOnlineUsers") == ["fresh"]
    await presence.presence_socket_close("999", "other-process-socket")


# --- messages and receipts --------------------------------------------------------------------


async def test_a_message_reaches_every_tab_of_both_people_and_nobody_else(
    open_socket, login_client, alice, bob, make_user
):
    """Sent over REST, a message appears on all sockets of sender and receiver, not a third's."""
    carol = await database_sync_to_async(make_user)(email="carol@example.com")
    sockets = [await open_socket(u) for u in (alice, alice, bob, bob)]
    outsider = await open_socket(carol)
    for socket in [*sockets, outsider]:
        await drain(socket)

    sent = await rest_send(login_client(alice), bob, "hello bob")

    for socket in sockets:
        message = await next_event(socket, "newMessage")
        assert message["_id"] == sent["_id"]
        assert message["text"] == "hello bob"
    assert await events_within(outsider) == []


async def test_a_message_sent_by_the_service_reaches_both_people(open_socket, alice, bob):
    """Any code path that sends (REST, admin, commands) goes through the same announcement."""
    from messaging.sending import message_send

    a, b = await open_socket(alice), await open_socket(bob)
    sent = await database_sync_to_async(message_send)(
        sender=bob, receiver_id=str(alice.pk), text="from the service", image=None, client_id="s1"
    )
    assert sent.created
    for socket in (a, b):
        assert (await next_event(socket, "newMessage"))["_id"] == str(sent.message.pk)


async def test_the_sender_hears_delivered_when_the_receiver_socket_gets_it(
    open_socket, login_client, alice, bob
):
    """messagesDelivered goes to the sender as soon as a socket of the receiver has it."""
    a, b = await open_socket(alice), await open_socket(bob)
    for socket in (a, b):
        await next_event(socket, "ready")
    sent = await rest_send(login_client(alice), bob, "are you there?")

    assert (await next_event(b, "newMessage"))["_id"] == sent["_id"]
    receipt = await next_event(a, "messagesDelivered")
    assert receipt["userId"] == str(bob.pk)
    assert receipt["upTo"] == sent["_id"]
    assert receipt["at"]
    assert await events_within(b) == []  # the receipt is the sender's news only


async def test_messages_waiting_are_delivered_when_the_receiver_connects(
    open_socket, login_client, alice, bob
):
    """Messages sent while someone was offline count as delivered when they connect."""
    a = await open_socket(alice)
    sent = await rest_send(login_client(alice), bob, "see this later")
    await drain(a)

    await open_socket(bob)
    receipt = await next_event(a, "messagesDelivered")
    assert (receipt["userId"], receipt["upTo"]) == (str(bob.pk), sent["_id"])


async def test_read_tells_the_other_person(open_socket, login_client, alice, bob):
    """`read` marks the conversation read up to a message and the sender hears messagesRead."""
    a, b = await open_socket(alice), await open_socket(bob)
    sent = await rest_send(login_client(alice), bob, "read me")
    await next_event(b, "newMessage")

    await send_event(b, "read", {"with": str(alice.pk), "upTo": sent["_id"]})
    receipt = await next_event(a, "messagesRead")
    assert (receipt["userId"], receipt["upTo"]) == (str(bob.pk), sent["_id"])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (None, BAD_READ),
        ({"with": ["x"], "upTo": "1"}, BAD_READ),
        ({"with": "999999", "upTo": "1"}, USER_NOT_FOUND),
        ({"with": "alice", "upTo": "999999"}, MESSAGE_NOT_FOUND),
    ],
)
async def test_bad_read_answers_with_an_error_event(open_socket, alice, bob, data, message):
    """A read that names nothing valid gets an error frame; the socket stays open."""
    b = await open_socket(bob)
    if data and data["with"] == "alice":  # a real person, an id that isn't theirs
        data = {**data, "with": str(alice.pk)}
    await send_event(b, "read", data)
    error = await next_event(b, "error")
    assert error["message"] == message
    await send_event(b, "ping")
    assert await next_event(b, "pong") is None


# --- typing -----------------------------------------------------------------------------------


async def test_typing_reaches_the_other_person_only(open_socket, alice, bob, make_user):
    """typing {to} is forwarded as {userId, isTyping} to every tab of `to` and no one else."""
    carol = await database_sync_to_async(make_user)(email="carol@example.com")
    a = await open_socket(alice)
    b1, b2 = await open_socket(bob), await open_socket(bob)
    c = await open_socket(carol)
    for socket in (a, b1, b2, c):
        await drain(socket)

    await send_event(a, "typing", {"to": str(bob.pk), "isTyping": True})
    for socket in (b1, b2):
        assert await next_event(socket, "typing") == {"userId": str(alice.pk), "isTyping": True}
    await send_event(a, "typing", {"to": str(bob.pk), "isTyping": False})
    for socket in (b1, b2):
        assert await next_event(socket, "typing") == {"userId": str(alice.pk), "isTyping": False}
    assert await events_within(c) == []
    assert await events_within(a, 0.05) == []


async def test_typing_expires_by_itself(fast_realtime, open_socket, alice, bob):
    """Without a refresh the indicator turns off after TYPING_TTL; refreshes push it back."""
    a, b = await open_socket(alice), await open_socket(bob)
    await drain(b)
    started = time.monotonic()
    await send_event(a, "typing", {"to": str(bob.pk), "isTyping": True})
    assert (await next_event(b, "typing"))["isTyping"] is True
    await asyncio.sleep(0.2)  # a client refresh, part way through the TTL
    await send_event(a, "typing", {"to": str(bob.pk), "isTyping": True})

    assert (await next_event(b, "typing"))["isTyping"] is False  # no duplicate "true" first
    assert time.monotonic() - started >= 0.2 + fast_realtime.TYPING_TTL * 0.9


async def test_typing_stops_when_the_typist_disconnects(open_socket, alice, bob):
    """Closing the tab mid-sentence turns the indicator off at once."""
    a, b = await open_socket(alice), await open_socket(bob)
    await send_event(a, "typing", {"to": str(bob.pk), "isTyping": True})
    assert (await next_event(b, "typing"))["isTyping"] is True
    await a.disconnect()
    assert await next_event(b, "typing", timeout=1.0) == {
        "userId": str(alice.pk),
        "isTyping": False,
    }


@pytest.mark.parametrize(
    "data",
    [None, "bob", {"to": "bob", "isTyping": True}, {"to": "1"}, {"to": "1", "isTyping": "yes"}],
)
async def test_bad_typing_answers_with_an_error_event(open_socket, alice, data):
    a = await open_socket(alice)
    await send_event(a, "typing", data)
    assert (await next_event(a, "error"))["message"] == BAD_TYPING


async def test_typing_to_yourself_is_refused(open_socket, alice):
    a = await open_socket(alice)
    await send_event(a, "typing", {"to": str(alice.pk), "isTyping": True})
    assert (await next_event(a, "error"))["message"] == BAD_TYPING


# --- protocol ---------------------------------------------------------------------------------


async def test_ping_gets_pong(open_socket, alice):
    a = await open_socket(alice)
    await send_event(a, "ping")
    assert await next_event(a, "pong") is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("not json", BAD_FRAME),
        ("[1, 2]", BAD_FRAME),
        ('{"data": 1}', BAD_FRAME),
        ('{"event": "deleteEverything", "data": {}}', UNKNOWN_EVENT),
    ],
)
async def test_bad_frames_get_an_error_event_not_a_close(open_socket, alice, raw, message):
    """A client bug is answered, not punished: error event, socket stays usable."""
    a = await open_socket(alice)
    await a.send_to(text_data=raw)
    assert (await next_event(a, "error"))["message"] == message
    await send_event(a, "ping")
    assert await next_event(a, "pong") is None


async def test_binary_frames_get_an_error_event(open_socket, alice):
    a = await open_socket(alice)
    await a.send_to(bytes_data=b"\x00\x01")
    assert (await next_event(a, "error"))["message"] == BINARY_FRAME


# --- revocation -------------------------------------------------------------------------------


async def test_logout_closes_every_socket_of_that_user_4401(open_socket, login_client, alice, bob):
    """Logging out in one place closes the person's other tabs; others are untouched."""
    tabs = [await open_socket(alice), await open_socket(alice)]
    b = await open_socket(bob)

    response = await sync_to_async(login_client(alice).call)("post", "/api/auth/logout")
    assert response.status_code == 200

    for tab in tabs:
        assert await close_code(tab) == realtime.CLOSE_UNAUTHORIZED
    await send_event(b, "ping")
    assert await next_event(b, "pong") is None


async def test_password_change_and_deactivation_close_sockets(open_socket, alice, bob):
    """Every revocation path (not only logout) reaches the open sockets."""
    from tests.conftest import PASSWORD

    a, b = await open_socket(alice), await open_socket(bob)
    await database_sync_to_async(account_services.user_change_password)(
        user=alice, current_password=PASSWORD, new_password="another-secret-9", ip="127.0.0.1"
    )
    assert await close_code(a) == realtime.CLOSE_UNAUTHORIZED
    await database_sync_to_async(account_services.user_set_active)(user=bob, active=False)
    assert await close_code(b) == realtime.CLOSE_UNAUTHORIZED


# --- limits -----------------------------------------------------------------------------------


async def test_a_frame_over_the_size_cap_closes_the_socket(settings, open_socket, alice, bob):
    """An oversized frame is not parsed or forwarded: the socket closes with CLOSE_TOO_BIG."""
    a, b = await open_socket(alice), await open_socket(bob)
    await drain(b)
    padding = "x" * settings.WS_MAX_FRAME_BYTES
    await send_event(a, "typing", {"to": str(bob.pk), "isTyping": True, "pad": padding})
    assert await close_code(a) == realtime.CLOSE_TOO_BIG
    assert await events_within(b) == []


async def test_a_frame_just_under_the_cap_is_fine(settings, open_socket, alice):
    a = await open_socket(alice)
    frame = '{"event": "ping", "data": "%s"}'
    room = settings.WS_MAX_FRAME_BYTES - len(frame % "")
    await a.send_to(text_data=frame % ("é" * (room // 2)))
    assert await next_event(a, "pong") is None


async def test_flooding_is_counted_per_user_across_tabs(
    settings, monkeypatch, open_socket, alice, bob
):
    """Past the per-user rate an event is dropped with an error, whichever tab sent it."""
    settings.WS_EVENTS_PER_SECOND = 3
    monkeypatch.setattr(presence, "_now", lambda: 1_000_000.0)  # one rate window throughout
    tab1, tab2 = await open_socket(alice), await open_socket(alice)
    b = await open_socket(bob)
    for socket in (tab1, tab2, b):
        await drain(socket)

    await send_event(tab1, "typing", {"to": str(bob.pk), "isTyping": True})  # 1
    assert (await next_event(b, "typing"))["isTyping"] is True
    await send_event(tab2, "ping")  # 2
    assert await next_event(tab2, "pong") is None
    await send_event(tab1, "ping")  # 3
    assert await next_event(tab1, "pong") is None

    await send_event(tab2, "typing", {"to": str(bob.pk), "isTyping": False})  # 4: over
    assert (await next_event(tab2, "error"))["message"] == TOO_MANY_EVENTS
    await send_event(tab1, "typing", {"to": str(bob.pk), "isTyping": False})  # 5: over
    assert (await next_event(tab1, "error"))["message"] == TOO_MANY_EVENTS
    assert await events_within(b) == []  # nothing was broadcast

    # Someone else's budget is their own.
    await send_event(b, "ping")
    assert await next_event(b, "pong") is None


async def test_a_socket_that_keeps_flooding_is_closed(settings, monkeypatch, open_socket, alice):
    settings.WS_EVENTS_PER_SECOND = 2
    settings.WS_FLOOD_CLOSE_AFTER = 3
    monkeypatch.setattr(presence, "_now", lambda: 1_000_000.0)
    a = await open_socket(alice)
    await drain(a)
    for _ in range(2):
        await send_event(a, "ping")
        assert await next_event(a, "pong") is None
    for _ in range(3):
        await send_event(a, "ping")
        assert (await next_event(a, "error"))["message"] == TOO_MANY_EVENTS
    await send_event(a, "ping")
    assert await close_code(a) == realtime.CLOSE_FLOOD
