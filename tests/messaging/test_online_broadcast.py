"""Whole online lists (the seed client's presence) are merged per process and fetched only when
someone listens, so N arrivals cost neither N^2 frames nor N list reads."""

import asyncio

import pytest

from messaging import realtime


class Presence:
    """A stand-in for the presence store: the list grows as people arrive; reads are counted."""

    def __init__(self) -> None:
        self.online: list[str] = []
        self.version = 0
        self.reads = 0

    def arrive(self, user_id: str) -> None:
        self.online = [*self.online, user_id]
        self.version += 1

    async def fetch(self) -> tuple[list[str], int]:
        self.reads += 1
        return self.online, self.version


@pytest.fixture
def sent(monkeypatch) -> list[dict]:  # noqa: ANN001
    messages: list[dict] = []

    async def record(group: str, message: dict) -> bool:
        messages.append(message)
        return True

    async def listening(group: str) -> bool:
        return True

    monkeypatch.setattr(realtime, "_group_send_async", record)
    monkeypatch.setattr(realtime, "_has_listeners", listening)
    return messages


async def wait_for(condition, seconds: float = 2) -> None:  # noqa: ANN001
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition() and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)


async def test_first_change_goes_at_once_and_a_burst_becomes_one_newest_list(settings, sent):  # noqa: ANN001
    """Eleven people arriving within the window: one list at once, then one with everybody."""
    settings.PRESENCE_BROADCAST_WINDOW = 0.2
    presence = Presence()
    presence.arrive("1")
    await realtime.online_users_broadcast(presence.fetch)
    assert [m["online"] for m in sent] == [["1"]]

    for n in range(2, 12):
        presence.arrive(str(n))
        await realtime.online_users_broadcast(presence.fetch)
    assert len(sent) == 1  # merged, not sent yet

    await wait_for(lambda: len(sent) == 2)
    assert sent[1] == {
        "type": "chat.online",
        "online": [str(i) for i in range(1, 12)],
        "version": 11,
    }
    assert presence.reads == 2  # the list is read when it goes out, not per arrival
    await asyncio.sleep(0.3)
    assert len(sent) == 2  # nothing else was pending


async def test_nobody_listening_means_the_list_is_never_read(settings, monkeypatch):  # noqa: ANN001
    """With only delta sockets (the browser), whole lists cost nothing at all."""
    settings.PRESENCE_BROADCAST_WINDOW = 0
    sent: list[dict] = []

    async def record(group: str, message: dict) -> bool:
        sent.append(message)
        return True

    async def nobody(group: str) -> bool:
        return False

    monkeypatch.setattr(realtime, "_group_send_async", record)
    monkeypatch.setattr(realtime, "_has_listeners", nobody)
    presence = Presence()
    for n in range(5):
        presence.arrive(str(n))
        await realtime.online_users_broadcast(presence.fetch)
    assert (sent, presence.reads) == ([], 0)


async def test_window_zero_sends_every_change(settings, sent):  # noqa: ANN001
    settings.PRESENCE_BROADCAST_WINDOW = 0
    presence = Presence()
    for n in range(1, 4):
        presence.arrive(str(n))
        await realtime.online_users_broadcast(presence.fetch)
    assert [m["version"] for m in sent] == [1, 2, 3]
