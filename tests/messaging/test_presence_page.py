"""A page that shows no messages (profile, settings) keeps a `/ws/?messages=none` socket: the
person counts as online for their contacts, hears `userUpdated`, and gets no `newMessage`, so
nothing is marked delivered by a page where no message can be seen."""

import pytest
from channels.db import database_sync_to_async

from tests.messaging.test_consumer import drain, events_within, next_event, rest_send

pytestmark = pytest.mark.django_db(transaction=True)

PAGE = "/ws/?presence=delta&messages=none"
CHAT = "/ws/?presence=delta"


async def test_a_profile_page_socket_counts_as_online(open_socket, make_message, alice, bob):
    await database_sync_to_async(make_message)(alice, bob, "hello")
    a = await open_socket(alice, path=CHAT)
    await drain(a)

    b = await open_socket(bob, path=PAGE)
    assert await next_event(b, "ready") == {"userId": str(bob.pk)}
    assert await next_event(a, "userOnline") == {"userId": str(bob.pk)}

    await b.disconnect()
    assert (await next_event(a, "userOffline"))["userId"] == str(bob.pk)


async def test_it_gets_no_messages_and_marks_nothing_delivered(
    open_socket, login_client, make_message, alice, bob
):
    await database_sync_to_async(make_message)(alice, bob, "hello")
    a = await open_socket(alice, path=CHAT)
    b = await open_socket(bob, path=PAGE)
    for socket in (a, b):
        await next_event(socket, "ready")
    # Alice's socket connecting delivered "hello": that receipt may still be on its way.
    await events_within(b, 0.5)
    await drain(a)

    await rest_send(login_client(alice), bob, "are you there?")
    await next_event(a, "newMessage")
    assert await events_within(b) == []
    assert "messagesDelivered" not in await events_within(a, 0.5)

    # The chat page opening is where it arrives: delivered then.
    await open_socket(bob, path=CHAT)
    assert (await next_event(a, "messagesDelivered"))["userId"] == str(bob.pk)


async def test_it_hears_a_name_change(open_socket, login_client, make_message, alice, bob):
    await database_sync_to_async(make_message)(alice, bob, "hello")
    b = await open_socket(bob, path=PAGE)
    await next_event(b, "ready")

    response = await database_sync_to_async(login_client(alice).call)(
        "PUT", "/api/auth/update-profile", {"fullName": "Alice Moreau"}
    )
    assert response.status_code == 200
    assert (await next_event(b, "userUpdated"))["user"]["fullName"] == "Alice Moreau"
