"""How frames look on a system's socket: Parley's JSON frames, or Socket.IO (system N).

Both are spoken over the `websockets` client. `decode` turns a text frame into `(event, data)`
with the same names for both: `newMessage`, and the answer to a send, `messageSent` or
`messageFailed` (a Socket.IO ack is one or the other depending on its payload).

Socket.IO is Engine.IO v4 / Socket.IO v5 framing, by hand (no client library): the server opens
with `0{...}`, the client connects to the main namespace with `40` and gets `40{...}` back;
events are `42["name", data]`, an emit asking for an ack is `42<id>["name", data]` and the ack
`43<id>[payload]`; the server pings with `2` and must get `3` back within its ping timeout.
"""

from __future__ import annotations

import json
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake


def origin_of(ws_url: str) -> str:
    return "http://" + ws_url.split("://", 1)[1].split("/", 1)[0]


def ws_kwargs(token: str | None, origin: str) -> dict[str, Any]:
    """Client options shared by every system: no compression, no pings, no proxy."""
    headers = {"Cookie": f"jwt={token}"} if token else {}
    return {
        "origin": origin,
        "additional_headers": headers,
        "compression": None,
        "ping_interval": None,
        "proxy": None,
        "open_timeout": 60,
        "close_timeout": 2,
        "max_size": 2**22,
    }


class JsonWire:
    """Parley's frames, `{"event": name, "data": payload}` (systems A, B, C, D)."""

    name = "json"

    async def open(self, ws_url: str, token: str | None) -> ClientConnection:
        return await connect(ws_url, **ws_kwargs(token, origin_of(ws_url)))

    def control(self, raw: str | bytes) -> str | None:
        """The reply a transport-level frame needs (none here)."""
        return None

    def decode(self, raw: str | bytes) -> tuple[str, Any] | None:
        frame = json.loads(raw)
        if not isinstance(frame, dict):
            return None
        return frame.get("event"), frame.get("data")

    def encode(self, event: str, data: Any, ack_id: int) -> str:
        return json.dumps({"event": event, "data": data})


class SocketIOWire:
    """Engine.IO v4 / Socket.IO v5 on the main namespace (system N)."""

    name = "socketio"

    async def open(self, ws_url: str, token: str | None) -> ClientConnection:
        ws = await connect(ws_url, **ws_kwargs(token, origin_of(ws_url)))
        try:
            opened = await ws.recv()
            if not str(opened).startswith("0"):
                raise InvalidHandshake(f"no Engine.IO open packet: {opened!r}")
            await ws.send("40")
            while True:
                reply = str(await ws.recv())
                if reply == "2":  # a ping can come first on a busy server
                    await ws.send("3")
                    continue
                if not reply.startswith("40"):
                    raise InvalidHandshake(f"Socket.IO connect refused: {reply!r}")
                return ws
        except BaseException:
            await ws.close()
            raise

    def control(self, raw: str | bytes) -> str | None:
        return "3" if raw == "2" else None

    def decode(self, raw: str | bytes) -> tuple[str, Any] | None:
        text = raw if isinstance(raw, str) else raw.decode()
        if text.startswith("42"):
            body = json.loads(text[text.index("[") :])
            return body[0], body[1] if len(body) > 1 else None
        if text.startswith("43"):
            payload = json.loads(text[text.index("[") :])[0]
            failed = not isinstance(payload, dict) or "status" in payload
            return ("messageFailed" if failed else "messageSent"), payload
        return None

    def encode(self, event: str, data: Any, ack_id: int) -> str:
        return f"42{ack_id}" + json.dumps([event, data])


WIRES = {"json": JsonWire(), "socketio": SocketIOWire()}
