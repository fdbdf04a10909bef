"""`userUpdated` across two Daphne processes sharing Redis: Ann renames herself on process one;
Ben's socket on process two and Ann's own other tab hear it, a stranger does not."""

import asyncio
import json

import pytest

from tests.messaging.test_multiprocess import Person, cluster, next_event  # noqa: F401
from tests.servers import ws_connect

pytestmark = pytest.mark.slow


async def test_a_new_name_reaches_contacts_on_the_other_process(cluster):  # noqa: F811
    ann, ben, zed = (
        Person(cluster.one, "Ann"),
        Person(cluster.two, "Ben"),
        Person(cluster.two, "Zed"),
    )
    status, direct = await asyncio.to_thread(
        ann.http.call, "POST", "/api/conversations/", {"userId": ben.id}
    )
    assert status in (200, 201), direct
    async with (
        ws_connect(cluster.two, ben.http) as b,
        ws_connect(cluster.two, ann.http) as a2,
        ws_connect(cluster.one, zed.http) as z,
    ):
        for ws in (b, a2, z):
            await next_event(ws, "ready")
        status, me = await asyncio.to_thread(
            ann.http.call, "PUT", "/api/auth/update-profile", {"fullName": "Ann Okoye"}
        )
        assert status == 200, me
        for ws in (b, a2):
            got = await next_event(ws, "userUpdated")
            assert got == {
                "user": {"_id": ann.id, "fullName": "Ann Okoye", "profilePic": me["profilePic"]}
            }
        # Zed shares no conversation with Ann: a ping's answer comes, and no userUpdated before it.
        await z.send(json.dumps({"event": "ping", "data": {}}))
        while True:
            frame = json.loads(await asyncio.wait_for(z.recv(), 5))
            assert frame["event"] != "userUpdated"
            if frame["event"] == "pong":
                break
