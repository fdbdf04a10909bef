"""Who a conversation's events go to: its current members (read for every event, so someone
removed or gone hears nothing more from that moment on)."""

from __future__ import annotations

from typing import Any

from messaging.models import Message
from messaging.selectors import members_qs
from messaging.writer import aread


def member_ids(conversation_id: Any) -> list[Any]:
    """Pks of the people in the conversation now (a reader job, or plain sync code)."""
    return list(
        members_qs(conversation_ids=[conversation_id])
        .filter(left_at__isnull=True)
        .values_list("user_id", flat=True)
    )


def conversation_member_ids(conversation_id: Any, message: Message | None = None) -> list[Any]:
    """From sync code. A direct message names both its people: no query."""
    if message is not None and message.receiver_id is not None:
        return [message.sender_id, message.receiver_id]
    return member_ids(conversation_id)


async def aconversation_member_ids(
    conversation_id: Any, message: Message | None = None
) -> list[Any]:
    """From async code, on the reader thread when a query is needed."""
    if message is not None and message.receiver_id is not None:
        return [message.sender_id, message.receiver_id]
    return await aread(member_ids, conversation_id)
