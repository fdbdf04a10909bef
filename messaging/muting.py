"""Muting a conversation: a flag on the member's own row. A muted conversation still updates
(messages, unread count); the client stops notifying for it and shows its count quietly."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from accounts.models import User
from chatproject.errors import ServiceError
from messaging import realtime
from messaging.conversation_selectors import conversation_mine
from messaging.selectors import membership_qs

MUTED_INVALID = "muted must be true or false"


def conversation_mute(*, user: User, conversation_id: object, muted: object) -> dict[str, Any]:
    """Set `user`'s mute flag on a conversation they are or were in (404 otherwise); their
    other tabs hear `conversationMuted`."""
    if not isinstance(muted, bool):
        raise ServiceError(MUTED_INVALID, errors={"muted": [MUTED_INVALID]})
    conversation, mine = conversation_mine(user=user, conversation_id=conversation_id)
    if mine.muted != muted:
        membership_qs(conversation_id=conversation.pk, user_id=user.pk).update(muted=muted)
    data = {"conversationId": str(conversation.pk), "muted": muted}
    transaction.on_commit(lambda: realtime.notify_users([user.pk], "conversationMuted", data))
    return data
