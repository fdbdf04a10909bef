"""App changes tried on the benchmark only (off unless a diagnostic system asks).

`BENCH_WS_SEND_STUB=1`: the consumer answers `sendMessage {to, text, clientId}` by calling
the REST path's `sending.message_send` on a sync thread (as a REST send does) and replies
`messageSent` / `messageFailed` as docs/REALTIME.md's WebSocket send protocol says. It lets
"D ws" run before the product has its own WebSocket send (issue 9) and, after, shows what the
product's path saves over the obvious one. It intercepts the event before the product's own
handler, so it is never mixed with it.
"""

from __future__ import annotations

import json
import os
from typing import Any

FRAME_START = '{"event": "sendMessage"'


def _install_ws_send_stub() -> None:
    from channels.db import database_sync_to_async
    from django.core.serializers.json import DjangoJSONEncoder

    from chatproject.errors import ServiceError
    from messaging import sending
    from messaging.consumers import ChatConsumer

    def send(user: Any, data: dict[str, Any]) -> dict[str, Any]:
        return sending.message_send(
            sender=user,
            receiver_id=str(data.get("to")),
            text=data.get("text"),
            image=None,
            client_id=data.get("clientId"),
        ).payload

    original = ChatConsumer.receive

    async def receive(self: Any, text_data: str | None = None, bytes_data: bytes | None = None):  # noqa: ANN202
        if self.user is None or not text_data or not text_data.startswith(FRAME_START):
            return await original(self, text_data=text_data, bytes_data=bytes_data)
        data = json.loads(text_data).get("data") or {}
        client_id = data.get("clientId")
        try:
            message = await database_sync_to_async(send)(self.user, data)
            reply = {"event": "messageSent", "data": {"clientId": client_id, "message": message}}
            self.answered.add(client_id)  # as the product does: no second copy here
        except ServiceError as exc:
            failed: dict[str, Any] = {
                "clientId": client_id,
                "status": exc.status,
                "message": exc.message,
            }
            if exc.retry_after is not None:
                failed["retryAfter"] = exc.retry_after
            reply = {"event": "messageFailed", "data": failed}
        await self.send(text_data=json.dumps(reply, cls=DjangoJSONEncoder))
        return None

    ChatConsumer.receive = receive


def install() -> None:
    """Apply the changes named in the environment (called by bench ASGI modules)."""
    if os.environ.get("BENCH_WS_SEND_STUB") == "1":
        _install_ws_send_stub()
