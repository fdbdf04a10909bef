"""`conversationCreated`: each person who now has a conversation gets it as they see it."""

from __future__ import annotations

from typing import Any

from messaging import realtime
from messaging.conversation_selectors import conversation_details_for


def conversation_created_announce(conversation_id: Any, user_ids: list[Any]) -> None:
    """Tell each of `user_ids` (after commit) about the conversation, in the detail JSON of
    `GET /api/conversations/<id>` as they would get it: their sidebar adds it without a fetch."""
    for user_id, detail in conversation_details_for(conversation_id, user_ids).items():
        realtime.notify_users([user_id], "conversationCreated", detail)
