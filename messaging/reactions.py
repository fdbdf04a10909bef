"""Reactions: one emoji from one person on one message, toggled.

Whatever a client sends must be exactly one emoji (the `emoji` package's data, which knows
skin tones, flags and joined sequences), stored fully qualified so "❤" and "❤️" count as one.
At most REACTIONS_MAX_KINDS different emoji per message, and REACTION_RATE_PER_USER toggles
per REACTION_RATE_WINDOW seconds per person (in-process, like the send limit). Every toggle
tells the conversation's current members `reactionChanged`, with the message's whole new
list, so a client that missed one is right again at the next.
"""

from __future__ import annotations

from typing import Any

import emoji as emoji_data
from django.conf import settings
from django.db import IntegrityError, transaction

from accounts.models import User
from chatproject.errors import ServiceError
from chatproject.local_limits import local_windows
from messaging import realtime, selectors
from messaging.editing import MESSAGE_DELETED, message_target, run_job
from messaging.members import member_ids
from messaging.models import EMOJI_MAX_LENGTH, Message, Reaction
from messaging.shapes import reactions_public
from safety.services import direct_check

EMOJI_INVALID = "emoji must be a single emoji"
TOO_MANY_KINDS = "A message can have at most {limit} different reactions"
TOO_MANY_REACTIONS = "You are reacting too fast, please wait a moment"


def emoji_check(value: object) -> str:
    """`value` as one fully qualified emoji; 400 for text, markup, several emoji or none."""
    if (
        not isinstance(value, str)
        or not 0 < len(value) <= EMOJI_MAX_LENGTH
        or not emoji_data.is_emoji(value)
    ):
        raise ServiceError(EMOJI_INVALID, errors={"emoji": [EMOJI_INVALID]})
    # Through its name and back: the spelling with its variation selector ("❤" -> "❤️").
    qualified = emoji_data.emojize(emoji_data.demojize(value))
    return qualified if emoji_data.is_emoji(qualified) else value


def _limit(user_id: Any) -> None:
    wait = local_windows.hit(
        f"reaction:{user_id}",
        limit=settings.REACTION_RATE_PER_USER,
        window=settings.REACTION_RATE_WINDOW,
    )
    if wait is not None:
        raise ServiceError(TOO_MANY_REACTIONS, status=429, retry_after=wait)


def toggle_record(
    message_id: Any, user_id: Any, emoji: str, max_kinds: int
) -> tuple[bool, list[tuple[str, Any]]]:
    """A writer job: add the reaction, or take it back if it is there. (added, the message's
    reactions as (emoji, user id) in the order they were made)."""
    if not Message.objects.filter(pk=message_id, deleted_at__isnull=True).exists():
        raise ServiceError(MESSAGE_DELETED)
    rows = list(selectors.reactions_qs([message_id]).values_list("pk", "emoji", "user_id"))
    mine = next((row for row in rows if row[1] == emoji and row[2] == user_id), None)
    if mine is not None:
        Reaction.objects.filter(pk=mine[0]).delete()
        rows.remove(mine)
        return False, [(e, u) for _, e, u in rows]
    kinds = {row[1] for row in rows}
    if emoji not in kinds and len(kinds) >= max_kinds:
        message = TOO_MANY_KINDS.format(limit=max_kinds)
        raise ServiceError(message, errors={"emoji": [message]})
    try:
        with transaction.atomic():
            Reaction.objects.create(message_id=message_id, user_id=user_id, emoji=emoji)
    except IntegrityError:  # their other tab, on another process, added it a moment ago
        return True, list(selectors.reactions_qs([message_id]).values_list("emoji", "user_id"))
    return True, [(e, u) for _, e, u in rows] + [(emoji, user_id)]


def reaction_toggle(
    *, user: User, conversation_id: object, message_id: object, emoji: object
) -> dict[str, Any]:
    """Add `emoji` from `user` to a message they may see, or take it back; every member hears
    `reactionChanged`. Answers `{messageId, reactions}`."""
    conversation, message = message_target(
        user=user, conversation_id=conversation_id, message_id=message_id
    )
    if message.deleted_at is not None:
        raise ServiceError(MESSAGE_DELETED)
    direct_check(user.pk, conversation)  # 403 across a block, as a send
    value = emoji_check(emoji)
    _limit(user.pk)
    added, rows = run_job(toggle_record, message.pk, user.pk, value, settings.REACTIONS_MAX_KINDS)
    reactions = reactions_public(rows)
    data = {
        "conversationId": str(conversation.pk),
        "messageId": str(message.pk),
        "emoji": value,
        "userId": str(user.pk),
        "added": added,
        "reactions": reactions,
    }
    realtime.notify_users(member_ids(conversation.pk), "reactionChanged", data)
    return {"messageId": str(message.pk), "reactions": reactions}
