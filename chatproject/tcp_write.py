"""Twisted TCP writes sent at once, not on the reactor's next turn (chatproject/serve.py).

Twisted buffers every `transport.write` and asks the reactor to say when the socket is
writable: two `epoll_ctl` calls (start and stop watching), a trip round the event loop and only
then the `send`. A chat server writes small frames to sockets that are almost always writable:
that dance was about a fifth of the event loop's time per message (py-spy, `bench.profile`,
WebSocket sends at 100 msgs/s). asyncio's own transports try the `send` first and watch the
socket only when it would block; this makes Twisted's TCP connections do the same. What cannot
be sent at once (a full socket buffer, data already waiting, a producer attached, a closing
connection) takes Twisted's own path, unchanged, so order and back-pressure stay Twisted's.

`PARLEY_TCP_WRITE_AT_ONCE=0` turns it off (for comparison: bench/ runs both).
"""

from __future__ import annotations

import os
from typing import Any

from twisted.internet import tcp

_original_write = tcp.Connection.write


def _write_at_once(self: Any, data: bytes) -> None:
    if (
        data
        and type(data) is bytes
        and self.connected
        and not self.disconnecting
        and not self._writeDisconnected
        and self.producer is None
        and not self._tempDataBuffer
        and self.offset == len(self.dataBuffer)
    ):
        sent = self.writeSomeData(data)
        if type(sent) is int and sent >= 0:
            if sent == len(data):
                return
            data = data[sent:]  # the rest waits for the socket, Twisted's way
        # A lost connection: Twisted's path meets the same error on its next write attempt
        # and closes the connection as it always does.
    _original_write(self, data)


def enabled() -> bool:
    return os.environ.get("PARLEY_TCP_WRITE_AT_ONCE", "1") != "0"


def install() -> None:
    """Make every Twisted TCP connection of this process write at once (idempotent)."""
    if enabled():
        tcp.Connection.write = _write_at_once
