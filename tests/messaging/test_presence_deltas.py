"""Presence between people who share a conversation, as deltas (`/ws/?presence=delta`)."""

import pytest
from channels.db import database_sync_to_async

from messaging import realtime
from tests.messaging.test_consumer import drain, events_within, next_event

pytestmark = pytest.mark.django_db(transaction=True)

DELTA = "/ws/?presence=delta"


@pytest.fixture
def talked(make_message):  # noqa: ANN001
    """`await talked(a, b)`: a and b share a conversation."""

    async def make(a, b) -> None:  # noqa: ANN001
        await database_sync_to_async(make_message)(a, b, "hello")

    return make


async def test_the_first_list_names_only_contacts_who_are_online(
    open_socket, talked, alice, bob, make_user
):
    """A stranger being online is none of Alice's business."""
    stranger = await database_sync_to_async(make_user)(email="stranger@example.com")
    await talked(alice, bob)
    await open_socket(bob)
    await open_socket(stranger)

    a = await open_socket(alice, path=DELTA)

    assert await next_event(a, "getOnlineUsers") == [str(bob.pk)]


async def test_contacts_hear_arrivals_and_departures_and_strangers_hear_nothing(
    open_socket, talked, alice, bob, make_user
):
    stranger = await database_sync_to_async(make_user)(email="stranger@example.com")
    await talked(alice, bob)
    b = await open_socket(bob, path=DELTA)
    s = await open_socket(stranger, path=DELTA)
    for socket in (b, s):
        await drain(socket)

    a = await open_socket(alice, path=DELTA)
    assert await next_event(b, "userOnline") == {"userId": str(alice.pk)}

    await a.disconnect()
    gone = await next_event(b, "userOffline")
    assert gone["userId"] == str(alice.pk) and gone["lastSeen"]
    assert await events_within(s) == []


async def test_a_delta_socket_gets_no_whole_lists(open_socket, talked, alice, bob):
    """Nobody's arrival sends a delta socket the whole online list."""
    await talked(alice, bob)
    a = await open_socket(alice, path=DELTA)
    await drain(a)

    await open_socket(bob)  # a seed-client socket: its own whole list, deltas to Alice

    assert await next_event(a, "userOnline") == {"userId": str(bob.pk)}
    assert "getOnlineUsers" not in [f["event"] for f in await drain(a)]


async def test_the_seed_clients_sockets_still_get_every_change_as_a_whole_list(
    open_socket, alice, bob
):
    """Without ?presence=delta nothing changes: getOnlineUsers with everyone, on every change."""
    legacy = await open_socket(alice)
    assert await next_event(legacy, "getOnlineUsers") == [str(alice.pk)]
    await open_socket(bob, path=DELTA)
    lists = await next_event(legacy, "getOnlineUsers", until=lambda ids: len(ids) == 2)
    assert sorted(lists) == sorted([str(alice.pk), str(bob.pk)])


async def test_an_arrival_costs_one_event_per_contact(
    open_socket, talked, alice, bob, make_user, monkeypatch
):
    """However many people are online, an arrival is told to each contact once, and nothing
    is read or sent for whole lists when no seed-client socket listens."""
    carol = await database_sync_to_async(make_user)(email="carol@example.com")
    for other in (bob, carol):
        await talked(alice, other)
    for other in (bob, carol):
        await drain(await open_socket(other, path=DELTA))
    sent: list[tuple[str, str]] = []
    original = realtime._group_send_async

    async def spy(group: str, message: dict) -> bool:
        sent.append((group, message.get("event") or message["type"]))
        return await original(group, message)

    monkeypatch.setattr(realtime, "_group_send_async", spy)

    a = await open_socket(alice, path=DELTA)
    await next_event(a, "ready")  # sent once presence has done its part

    arrivals = sorted(group for group, event in sent if event == "userOnline")
    assert arrivals == sorted(realtime.user_group(u.pk) for u in (bob, carol))
    assert [event for _, event in sent if event == "chat.online"] == []


async def test_a_first_message_introduces_two_people(open_socket, alice, bob):
    """Strangers don't see each other; once one writes, both learn the other is online."""
    a = await open_socket(alice, path=DELTA)
    b = await open_socket(bob, path=DELTA)
    assert await next_event(a, "getOnlineUsers") == []
    await drain(a)
    await drain(b)

    await a.send_json_to(
        {"event": "sendMessage", "data": {"to": str(bob.pk), "text": "hi", "clientId": "c-1"}}
    )

    assert await next_event(a, "userOnline") == {"userId": str(bob.pk)}
    assert await next_event(b, "userOnline") == {"userId": str(alice.pk)}
    await b.disconnect()
    assert (await next_event(a, "userOffline"))["userId"] == str(bob.pk)


async def test_a_new_group_and_people_added_to_it_introduce_its_members(
    open_socket, alice, bob, make_user
):
    """Strangers put in one group learn at once who of the others is online, and so does
    someone added later (the group's sidebar and details show who is there)."""
    from messaging.groups import group_create, members_add

    carol = await database_sync_to_async(make_user)(email="carol@example.com")
    dan = await database_sync_to_async(make_user)(email="dan@example.com")
    sockets = {u.pk: await open_socket(u, path=DELTA) for u in (alice, bob, carol, dan)}
    for socket in sockets.values():
        assert await next_event(socket, "getOnlineUsers") == []
        await drain(socket)

    group = await database_sync_to_async(group_create)(
        creator=alice, title="Trip", member_ids_=[str(bob.pk), str(carol.pk)]
    )

    for me in (alice, bob, carol):
        others = {str(u.pk) for u in (alice, bob, carol) if u != me}
        heard = {(await next_event(sockets[me.pk], "userOnline"))["userId"] for _ in range(2)}
        assert heard == others
    assert [f for f in await drain(sockets[dan.pk]) if f["event"] == "userOnline"] == []

    await database_sync_to_async(members_add)(
        actor=bob, conversation_id=group.pk, user_ids=[str(dan.pk)]
    )

    heard = {(await next_event(sockets[dan.pk], "userOnline"))["userId"] for _ in range(3)}
    assert heard == {str(u.pk) for u in (alice, bob, carol)}
    for me in (alice, bob, carol):
        assert await next_event(sockets[me.pk], "userOnline") == {"userId": str(dan.pk)}
