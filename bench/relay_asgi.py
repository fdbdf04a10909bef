"""System C: the app's WebSocket path with persistence skipped (benchmarks only, never served).

The product's ASGI stack (origin check, URL router, `ChatConsumer`, `realtime.notify_users`,
the channel layer, presence) whose `sendMessage {to, text, clientId}` event announces the
message through `realtime.notify_users` exactly as `services.message_send` does after its
commit, then answers `messageSent` (docs/REALTIME.md), but stores and checks nothing.
Everything else is the product code.
"""

import json
import os
from itertools import count
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from channels.db import database_sync_to_async  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.core.serializers.json import DjangoJSONEncoder  # noqa: E402
from django.urls import path  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.patches import install  # noqa: E402
from chatproject.origin import WebsocketOriginValidator  # noqa: E402
from messaging import realtime  # noqa: E402
from messaging.consumers import ChatConsumer  # noqa: E402

install()

_ids = count(1)


def _announce(sender_id: str, receiver_id: str, text: str, client_id: str | None) -> dict:
    """What a send does after its commit: notify both people."""
    now = timezone.now()
    data = {
        "_id": str(next(_ids)),
        "conversationId": "0",
        "seq": 0,
        "senderId": sender_id,
        "receiverId": receiver_id,
        "text": text,
        "image": None,
        "clientId": client_id,
        "createdAt": now,
        "updatedAt": now,
        "deliveredAt": None,
        "readAt": None,
        "prevId": None,
    }
    realtime.notify_users([sender_id, receiver_id], "newMessage", data)
    return data


class RelayConsumer(ChatConsumer):
    """ChatConsumer whose `sendMessage` only announces, on the sync thread a send would use,
    and whose sockets record no delivery (that's persistence)."""

    async def chat_event(self, message: dict[str, Any]) -> None:
        if self.user is not None and not self.closing:
            await self.send(text_data=message["text"])

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.user is not None and text_data and text_data.startswith('{"event": "sendMessage"'):
            frame: dict[str, Any] = json.loads(text_data)
            data = frame["data"]
            client_id = data.get("clientId")
            message = await database_sync_to_async(_announce)(
                self.user_id, str(data["to"]), data["text"], client_id
            )
            sent = {"event": "messageSent", "data": {"clientId": client_id, "message": message}}
            await self.send(text_data=json.dumps(sent, cls=DjangoJSONEncoder))
            return
        await super().receive(text_data=text_data, bytes_data=bytes_data)


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": WebsocketOriginValidator(URLRouter([path("ws/", RelayConsumer.as_asgi())])),
    }
)
