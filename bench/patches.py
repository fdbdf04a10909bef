"""Candidate app fixes, tried on the benchmark before they are proposed (off unless asked).

`BENCH_PRESENCE_COALESCE=<seconds>`: send each process's online list at most once per window
(the first change at once, later ones merged into one trailing send carrying the latest list);
the window grows by a second per 1,000 local sockets, since each send costs a frame per socket.
Without it every socket that connects or leaves sends the whole list to every open socket,
N^2 frames for N sockets connecting.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable

Broadcast = Callable[[list[str], int], Awaitable[None]]


def coalesced(send: Broadcast, window: float, sockets: Callable[[], int] = lambda: 0) -> Broadcast:
    """Wrap `online_users_broadcast`: at most one send per window, always the newest list."""
    state: dict[str, object] = {"latest": None, "last_sent": 0.0, "task": None}

    async def flush_later(delay: float) -> None:
        await asyncio.sleep(delay)
        latest = state["latest"]
        state["latest"], state["last_sent"] = None, time.monotonic()
        if latest is not None:
            await send(*latest)  # type: ignore[misc]

    async def broadcast(online: list[str], version: int) -> None:
        latest = state["latest"]
        if latest is None or version > latest[1]:  # type: ignore[index]
            state["latest"] = (online, version)
        task = state["task"]
        if task is not None and not task.done():  # type: ignore[attr-defined]
            return  # a send is already scheduled: it will carry this list
        span = max(window, sockets() / 1000)
        wait = state["last_sent"] + span - time.monotonic()  # type: ignore[operator]
        state["task"] = asyncio.get_running_loop().create_task(flush_later(max(0.0, wait)))

    return broadcast


def install() -> None:
    """Apply the candidate fixes named in the environment (called by bench ASGI modules).

    `BENCH_PRESENCE_COALESCE` became the product's own PRESENCE_BROADCAST_WINDOW (and the whole
    list now goes only to seed-client sockets), so it now sets that window instead of patching.
    """
    window = os.environ.get("BENCH_PRESENCE_COALESCE")
    if window:
        from django.conf import settings

        settings.PRESENCE_BROADCAST_WINDOW = float(window)
