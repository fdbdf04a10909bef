"""Online-list changes are coalesced per process, so N arrivals don't cost N^2 frames."""

import asyncio

import pytest

from messaging import realtime


@pytest.fixture
def sent_lists(monkeypatch) -> list[tuple[list[str], int]]:  # noqa: ANN001
    sent: list[tuple[list[str], int]] = []

    async def record(online: list[str], version: int) -> None:
        sent.append((online, version))

    monkeypatch.setattr(realtime, "_send_online_list", record)
    return sent


async def test_first_change_goes_at_once_and_a_burst_becomes_one_newest_list(
    settings,  # noqa: ANN001
    sent_lists,
) -> None:
    """Ten people arriving within the window: one list at once, then one with everybody."""
    settings.PRESENCE_BROADCAST_WINDOW = 0.2
    await realtime.online_users_broadcast(["1"], 1)
    assert sent_lists == [(["1"], 1)]

    for n in range(2, 12):
        await realtime.online_users_broadcast([str(i) for i in range(1, n + 1)], n)
    assert len(sent_lists) == 1  # merged, not sent yet

    deadline = asyncio.get_running_loop().time() + 2
    while len(sent_lists) < 2 and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)
    assert sent_lists[1] == ([str(i) for i in range(1, 12)], 11)
    await asyncio.sleep(0.3)
    assert len(sent_lists) == 2  # nothing else was pending


async def test_an_older_list_never_replaces_a_newer_pending_one(settings, sent_lists) -> None:  # noqa: ANN001
    """Lists from several processes can cross; the newest version wins the trailing send."""
    settings.PRESENCE_BROADCAST_WINDOW = 0.2
    await realtime.online_users_broadcast(["1"], 10)
    await realtime.online_users_broadcast(["1", "2", "3"], 30)
    await realtime.online_users_broadcast(["1", "2"], 20)
    deadline = asyncio.get_running_loop().time() + 2
    while len(sent_lists) < 2 and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)
    assert sent_lists == [(["1"], 10), (["1", "2", "3"], 30)]


async def test_window_zero_sends_every_change(settings, sent_lists) -> None:  # noqa: ANN001
    settings.PRESENCE_BROADCAST_WINDOW = 0
    for n in range(1, 4):
        await realtime.online_users_broadcast([str(n)], n)
    assert [version for _, version in sent_lists] == [1, 2, 3]
