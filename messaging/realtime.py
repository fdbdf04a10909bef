"""The one door to the channel layer: "tell these users about this event".

Events are sent after the surrounding transaction commits, to one group per user, so every
socket of that user (any tab, any server process) receives them.
"""

import json
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction


def user_group(user_id: object) -> str:
    return f"user.{user_id}"


def _group_send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group, message)


def notify_users(user_ids: Iterable[object], event: str, data: Any) -> None:
    """Send `{"event": event, "data": data}` to every socket of each user, after commit."""
    # Round-trip through JSON now so a payload that can't be serialised fails where it's made.
    frame = json.loads(json.dumps({"event": event, "data": data}, cls=DjangoJSONEncoder))
    groups = sorted({user_group(uid) for uid in user_ids})

    def send() -> None:
        for group in groups:
            _group_send(group, {"type": "chat.event", "frame": frame})

    transaction.on_commit(send)


def user_sockets_close(*, user_id: object, code: int = 4401) -> None:
    """Close every socket of a user (token revoked, account deactivated), after commit."""
    transaction.on_commit(
        lambda: _group_send(user_group(user_id), {"type": "chat.close", "code": code})
    )
