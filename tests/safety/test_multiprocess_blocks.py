"""Blocking across two real Daphne processes sharing Redis and one SQLite file.

Ann's socket is on process one, Ben's and Cid's on process two; Ann blocks Ben over REST on
process one, where the block cache learns it at once; process two learns it through the
block cache's Redis channel. Then every way Ben had to reach Ann (REST, WebSocket, typing,
presence, a group invitation) stops, both ways; Cid, who is not blocked, is the control that
says "what Ben did would have arrived by now". Unblocking restores everything.
"""

import asyncio
import json
import time
import uuid
from typing import Any

import pytest

from safety.services import CANNOT_ADD, CANNOT_MESSAGE, UNBLOCK_TO_SEND
from tests.messaging.test_multiprocess import Person, cluster, next_event  # noqa: F401
from tests.servers import ws_connect

pytestmark = pytest.mark.slow

WAIT = 5.0


class Member(Person):
    """A Person who remembers their email (the directory is searched by it)."""

    def __init__(self, server: Any, name: str) -> None:
        from tests.servers import HttpSession

        self.name = name
        self.http = HttpSession(server.url)
        self.email = f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.com"
        self.id = self.http.signup(name, self.email, "secret-password-1")["_id"]


async def call(person: Person, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    return await asyncio.to_thread(person.http.call, method, path, body)


async def until_search(person: Person, email: str, *, found: bool) -> None:
    """Poll the directory on `person`'s process until `email` is (not) found: the moment
    that process's block cache has heard of the change (side-effect free, no sleep)."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        status, rows = await call(person, "GET", f"/api/users/search?q={email}")
        assert status == 200, rows
        if bool(rows) == found:
            return
        await asyncio.sleep(0.02)
    raise TimeoutError(f"{email} still {'hidden' if found else 'visible'} after {WAIT}s")


async def frames_until(ws: Any, event: str, until: Any) -> list[dict]:
    """Every frame up to and including the next `event` for which `until` holds."""
    frames = []
    deadline = time.monotonic() + WAIT
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no {event} within {WAIT}s: {frames}")
        frame = json.loads(await asyncio.wait_for(ws.recv(), remaining))
        frames.append(frame)
        if frame["event"] == event and until(frame["data"]):
            return frames


def mentions(frames: list[dict], user_id: str) -> list[dict]:
    """The frames that show `user_id` typing, writing, or online."""
    found = []
    for frame in frames:
        event, data = frame["event"], frame["data"]
        if event == "getOnlineUsers":
            hit = user_id in data
        elif event in ("typing", "userOnline"):
            hit = data["userId"] == user_id
        elif event == "newMessage":
            hit = data["senderId"] == user_id
        else:  # receipts of what Ann sent before, her own blockChanged, Ben shown offline
            hit = False
        if hit:
            found.append(frame)
    return found


async def test_a_block_holds_on_every_channel_across_processes(cluster):  # noqa: F811
    ann = Member(cluster.one, "Ann")
    ben, cid = Member(cluster.two, "Ben"), Member(cluster.two, "Cid")
    await ann.send(ben, "hello ben")
    await ann.send(cid, "hello cid")
    await ben.send(ann, "hello ann")  # process two has Ben's (empty) blocks cached now
    await until_search(ben, ann.email, found=True)

    # Ben first, so Ann's first list has him and no arrival of his is on its way to her.
    async with ws_connect(cluster.two, ben.http) as b:
        await next_event(b, "getOnlineUsers")
        async with ws_connect(cluster.one, ann.http) as a:
            await next_event(a, "getOnlineUsers", until=lambda ids: ben.id in ids)
            await _while_blocked(cluster, ann, ben, cid, a, b)


async def _while_blocked(
    servers: Any, ann: Member, ben: Member, cid: Member, a: Any, b: Any
) -> None:
    """Ann blocks Ben (process one); every way Ben had to reach her stops."""
    status, _ = await call(ann, "POST", "/api/blocks", {"userId": ben.id})
    assert status == 201
    await until_search(ben, ann.email, found=False)

    # REST and WebSocket sends from process two: refused, neutral for Ben.
    status, data = await call(ben, "POST", f"/api/messages/{ann.id}", {"text": "x"})
    assert (status, data["message"]) == (403, CANNOT_MESSAGE)
    frame = {"to": ann.id, "text": "x", "clientId": uuid.uuid4().hex}
    await b.send(json.dumps({"event": "sendMessage", "data": frame}))
    failed = await next_event(b, "messageFailed")
    assert (failed["status"], failed["message"]) == (403, CANNOT_MESSAGE)
    # And Ann cannot write to Ben while she blocks him.
    status, data = await call(ann, "POST", f"/api/messages/{ben.id}", {"text": "x"})
    assert (status, data["message"]) == (403, UNBLOCK_TO_SEND)
    # A group invitation from process two.
    status, data = await call(
        ben, "POST", "/api/conversations/", {"title": "Hey", "memberIds": [ann.id]}
    )
    assert (status, data["errors"]) == (403, {"memberIds": [CANNOT_ADD]})

    # Typing and presence: Ben types, leaves and comes back; then Cid (the control) does.
    await b.send(json.dumps({"event": "typing", "data": {"to": ann.id, "isTyping": True}}))
    await b.close()
    async with ws_connect(servers.two, ben.http) as b2:
        assert ann.id not in await next_event(b2, "getOnlineUsers")  # nor Ann to Ben
        async with ws_connect(servers.two, cid.http) as c:
            await c.send(json.dumps({"event": "typing", "data": {"to": ann.id, "isTyping": True}}))
            frames = await frames_until(a, "typing", lambda d: d["userId"] == cid.id)
            frames += await frames_until(a, "getOnlineUsers", lambda ids: cid.id in ids)
            assert mentions(frames, ben.id) == [], frames

    # Unblocking restores: process two hears of it, and Ben's message reaches Ann.
    status, _ = await call(ann, "DELETE", f"/api/blocks/{ben.id}")
    assert status == 200
    await until_search(ben, ann.email, found=True)
    sent = await ben.send(ann, "friends again")
    assert (await next_event(a, "newMessage"))["_id"] == sent["_id"]
