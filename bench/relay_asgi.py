"""System C: the app's WebSocket path with persistence skipped (benchmarks only, never served).

The product's ASGI stack (origin check, URL router, `ChatConsumer`, `realtime.notify_users`,
the channel layer, presence) whose `sendMessage {to, text, clientId}` event announces the
message through `realtime.notify_users` exactly as `services.message_send` does after its
commit, then answers `messageSent` (docs/REALTIME.md), but stores and checks nothing.
Like the app, the socket that sent a message gets it in its answer and no second copy.
Everything else is the product code.
"""

import json
import os
from itertools import count
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

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


def _message(sender_id: str, receiver_id: str, text: str, client_id: str | None) -> dict:
    """What a send announces after its commit (nothing is stored)."""
    now = timezone.now()
    return {
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


class RelayConsumer(ChatConsumer):
    """ChatConsumer whose `sendMessage` answers and announces on the event loop, as the app's
    does, but stores nothing and whose sockets record no delivery (that's persistence)."""

    async def chat_event(self, message: dict[str, Any]) -> None:
        if self.user is None or self.closing:
            return
        client_id = (message.get("meta") or {}).get("clientId")
        if client_id in self.answered:  # the sending socket has it in its answer
            self.answered.discard(client_id)
            return
        await self.send(text_data=message["text"])

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.user is not None and text_data and text_data.startswith('{"event": "sendMessage"'):
            frame: dict[str, Any] = json.loads(text_data)
            data = frame["data"]
            client_id = data.get("clientId")
            message = _message(self.user_id, str(data["to"]), data["text"], client_id)
            self.answered.add(client_id)
            sent = {"event": "messageSent", "data": {"clientId": client_id, "message": message}}
            await self.send(text_data=json.dumps(sent, cls=DjangoJSONEncoder))
            await realtime.notify_users_now([self.user_id, str(data["to"])], "newMessage", message)
            return
        await super().receive(text_data=text_data, bytes_data=bytes_data)


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": WebsocketOriginValidator(URLRouter([path("ws/", RelayConsumer.as_asgi())])),
    }
)
