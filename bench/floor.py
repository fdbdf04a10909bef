"""The floor: a bare `websockets` chat relay with no Django (systems A and B).

    python -m bench.floor --port 9000                       # A: in-process fan-out
    python -m bench.floor --port 9000 --redis redis://...   # B: plus a Redis PUBLISH/SUBSCRIBE hop

A client connects to `/ws/?u=<user>` and sends the app's WebSocket send,
`{"event": "sendMessage", "data": {"to", "text", "clientId"}}`: the sending socket gets
`{"event": "messageSent", "data": {"clientId", "message"}}` and every other socket of the receiver
and of the sender gets `{"event": "newMessage", "data": message}`, the frames the app sends, so one
generator measures both. Nothing is stored or checked: this is the least a relay can do.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import signal
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, broadcast, serve


class Relay:
    """Sockets by user and the fan-out between them, optionally through Redis."""

    def __init__(self, redis_url: str | None) -> None:
        self.sockets: dict[str, set[ServerConnection]] = {}
        # clientId -> the socket that sent it: it has the message in its answer already
        # (the app sends no second copy to the sending socket, so neither does the floor).
        self.sent_by: dict[str, ServerConnection] = {}
        self.redis_url = redis_url
        self.redis = None
        self.pubsub = None

    async def start(self) -> None:
        if self.redis_url:
            import redis.asyncio as aioredis

            self.redis = aioredis.from_url(self.redis_url)
            self.pubsub = self.redis.pubsub()
            await self.pubsub.subscribe("floor.boot")  # a live connection for listen()
            asyncio.get_running_loop().create_task(self._listen())

    async def _listen(self) -> None:
        assert self.pubsub is not None
        async for item in self.pubsub.listen():
            if item["type"] == "message":
                user = item["channel"].decode().removeprefix("user.")
                client_id, _, frame = item["data"].decode().partition("\n")
                self.local(user, frame, client_id)

    def local(self, user: str, frame: str, client_id: str) -> None:
        sockets = self.sockets.get(user, set())
        sender = self.sent_by.get(client_id)
        if sender is not None and sender in sockets:
            del self.sent_by[client_id]
            sockets = sockets - {sender}
        broadcast(sockets, frame)

    async def join(self, user: str, ws: ServerConnection) -> None:
        first = user not in self.sockets
        self.sockets.setdefault(user, set()).add(ws)
        if first and self.pubsub is not None:
            await self.pubsub.subscribe(f"user.{user}")

    async def leave(self, user: str, ws: ServerConnection) -> None:
        group = self.sockets.get(user)
        if group is None:
            return
        group.discard(ws)
        if not group:
            del self.sockets[user]
            if self.pubsub is not None:
                await self.pubsub.unsubscribe(f"user.{user}")

    async def send(self, sender: str, receiver: str, message: dict, ws: ServerConnection) -> None:
        frame = json.dumps({"event": "newMessage", "data": message})
        client_id = str(message.get("clientId") or "")
        if client_id:
            self.sent_by[client_id] = ws
        targets = {receiver, sender}
        if self.redis is None:
            for user in targets:
                self.local(user, frame, client_id)
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for user in targets:
                pipe.publish(f"user.{user}", f"{client_id}\n{frame}")
            await pipe.execute()


_ids = itertools.count(1)


async def handler(relay: Relay, ws: ServerConnection) -> None:
    query = parse_qs(urlsplit(ws.request.path).query)
    user = query.get("u", [""])[0]
    if not user:
        await ws.close(4401)
        return
    await relay.join(user, ws)
    try:
        async for raw in ws:
            frame = json.loads(raw)
            if frame.get("event") == "sendMessage":
                data = frame["data"]
                message = {
                    "_id": str(next(_ids)),
                    "senderId": user,
                    "receiverId": str(data["to"]),
                    "text": data["text"],
                    "clientId": data.get("clientId"),
                }
                sent = {"clientId": message["clientId"], "message": message}
                await ws.send(json.dumps({"event": "messageSent", "data": sent}))
                await relay.send(user, message["receiverId"], message, ws)
    finally:
        await relay.leave(user, ws)


async def main(port: int, redis_url: str | None) -> None:
    relay = Relay(redis_url)
    await relay.start()
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with serve(
        lambda ws: handler(relay, ws),
        "127.0.0.1",
        port,
        compression=None,
        ping_interval=None,
        max_size=2**22,
    ):
        await stop


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis", default=None, help="redis URL: adds the pub/sub hop (B)")
    args = parser.parse_args()
    asyncio.run(main(args.port, args.redis))
