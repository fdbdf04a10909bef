"""Changing a message once sent: editing one's own, deleting it for everyone.

Each action is checked here (who may change what), written by the database writer (each job
reads the row again, so an edit never lands on a message deleted meanwhile), and announced
after the commit to the conversation's current members: `messageUpdated {message}` with the
whole Message JSON, `messageDeleted {conversationId, _id, seq, deletedAt}`.

A deleted message keeps its row and its seq (clients find gaps by seq and `prevId`); its text,
picture, quote, reactions and edit history go, and its stored image file after the commit.
Rules: docs/MESSAGING.md, "Message actions".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from django.conf import settings
from django.db import OperationalError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from accounts.selectors import iso
from chatproject.errors import ServiceError
from chatproject.images import images_delete
from chatproject.local_limits import local_windows
from messaging import realtime, selectors
from messaging.conversation_selectors import conversation_message_mine
from messaging.members import member_ids
from messaging.models import Conversation, Message, MessageEdit, Reaction
from messaging.sending import BUSY_RETRY_AFTER, SERVER_BUSY, content_check
from messaging.writer import WriterBusy, write
from safety.services import direct_check

NOT_YOUR_MESSAGE = "You can only change your own messages"
SYSTEM_LINE = "System lines cannot be edited or deleted"
MESSAGE_DELETED = "This message was deleted"
READ_ONLY = "You are no longer in this conversation: it is read-only"
TOO_MANY_EDITS = "You are editing messages too fast, please wait a moment"

T = TypeVar("T")


# --- Checks -------------------------------------------------------------------------------------


def message_target(
    *, user: User, conversation_id: object, message_id: object
) -> tuple[Conversation, Message]:
    """A message `user` may act on, with its conversation: one they may see (404 otherwise, as
    for an unknown id) of a conversation they are still in (403: someone who left reads,
    nothing more)."""
    conversation, mine, message = conversation_message_mine(
        user=user, conversation_id=conversation_id, message_id=message_id
    )
    if not mine.active:
        raise ServiceError(READ_ONLY, status=403)
    return conversation, message


def _own(user: User, message: Message) -> None:
    if message.kind == Message.Kind.SYSTEM:
        raise ServiceError(SYSTEM_LINE, status=403)
    if message.sender_id != user.pk:
        raise ServiceError(NOT_YOUR_MESSAGE, status=403)


def _edit_limit(user_id: Any) -> None:
    """Edits count like sends (MESSAGE_RATE_PER_USER per window), on a counter of their own."""
    wait = local_windows.hit(
        f"message-edit:{user_id}",
        limit=settings.MESSAGE_RATE_PER_USER,
        window=settings.MESSAGE_RATE_WINDOW,
    )
    if wait is not None:
        raise ServiceError(TOO_MANY_EDITS, status=429, retry_after=wait)


def run_job(func: Callable[..., T], *args: Any) -> T:
    """A writer job from a request: a full queue or a locked database is 503, as for sends."""
    try:
        return write(func, *args)
    except (WriterBusy, OperationalError) as exc:
        raise ServiceError(SERVER_BUSY, status=503, retry_after=BUSY_RETRY_AFTER) from exc


def message_whole(conversation: Conversation, message: Message) -> dict[str, Any]:
    """The Message JSON of one message, as pages carry it (receipts, quote, reactions)."""
    return selectors.messages_public(conversation, [message])[0]


# --- Writer jobs (no announcements) -------------------------------------------------------------


def edit_record(message_id: Any, editor_id: Any, text: str, at: datetime) -> bool:
    """Give the message its new text, keeping the old one in its history; False when it had
    this text already. A message deleted meanwhile is refused."""
    old = (
        Message.objects.filter(pk=message_id, deleted_at__isnull=True)
        .values_list("text", flat=True)
        .first()
    )
    if old is None:
        raise ServiceError(MESSAGE_DELETED)
    if old == text:
        return False
    MessageEdit.objects.create(
        message_id=message_id, text=old, edited_at=at, edited_by_id=editor_id
    )
    Message.objects.filter(pk=message_id).update(text=text, edited_at=at, updated_at=at)
    return True


def delete_record(message_id: Any, actor_id: Any, at: datetime) -> str | None:
    """Blank the message and take its reactions and history; the name of its stored image
    ("" for none), or None when it was deleted already (another tab, an operator)."""
    image = (
        Message.objects.filter(pk=message_id, deleted_at__isnull=True)
        .values_list("image", flat=True)
        .first()
    )
    if image is None:
        return None
    Message.objects.filter(pk=message_id).update(
        text="",
        image="",
        reply_to=None,
        deleted_at=at,
        deleted_by_id=actor_id,
        updated_at=at,
    )
    Reaction.objects.filter(message_id=message_id).delete()
    MessageEdit.objects.filter(message_id=message_id).delete()
    return image


# --- Services -----------------------------------------------------------------------------------


def message_edit(
    *, editor: User, conversation_id: object, message_id: object, text: object
) -> dict[str, Any]:
    """Change the text of one's own message (the rules of a send: a picture may lose its
    caption, nothing may become empty); every member hears `messageUpdated`. The same text
    again changes nothing and tells nobody."""
    conversation, message = message_target(
        user=editor, conversation_id=conversation_id, message_id=message_id
    )
    _own(editor, message)
    if message.deleted_at is not None:
        raise ServiceError(MESSAGE_DELETED)
    direct_check(editor.pk, conversation)  # 403 across a block, as a send
    text, _, _ = content_check(text=text, image=message.image, client_id=None)
    if text == message.text:
        return message_whole(conversation, message)
    _edit_limit(editor.pk)
    now = timezone.now()
    changed = run_job(edit_record, message.pk, editor.pk, text, now)
    message.text = text
    if changed:
        message.edited_at = message.updated_at = now
    shape = message_whole(conversation, message)
    if changed:
        realtime.notify_users(member_ids(conversation.pk), "messageUpdated", {"message": shape})
    return shape


def message_delete(*, actor: User, conversation_id: object, message_id: object) -> dict[str, Any]:
    """Delete one's own message for everyone: the tombstone (again, for a repeat)."""
    conversation, message = message_target(
        user=actor, conversation_id=conversation_id, message_id=message_id
    )
    _own(actor, message)
    _tombstone(message, actor_id=actor.pk)
    return message_whole(conversation, message)


def messages_delete_for_everyone(*, operator: User, messages: QuerySet[Message]) -> int:
    """Operators (the admin): delete any text messages for everyone, exactly as their senders
    would, live for the members. System lines stay (they are the record). How many went now."""
    chosen = list(
        selectors.messages_by_ids_qs(list(messages.values_list("pk", flat=True))).filter(
            deleted_at__isnull=True, kind=Message.Kind.TEXT
        )
    )
    deleted = 0
    for message in chosen:
        deleted += _tombstone(message, actor_id=operator.pk)
    return deleted


def _tombstone(message: Message, *, actor_id: Any) -> bool:
    """Make `message` a tombstone and tell the members (after the commit, with its image file
    gone); `message` is updated in place. False when it was one already."""
    if message.deleted_at is not None:
        return False
    now = timezone.now()
    image = run_job(delete_record, message.pk, actor_id, now)
    if image is None:
        message.refresh_from_db()
        return False
    message.text = message.image = ""
    message.reply_to_id = None
    message.deleted_at = message.updated_at = now
    message.deleted_by_id = actor_id
    if image:
        transaction.on_commit(lambda: images_delete([image]))
    data = {
        "conversationId": str(message.conversation_id),
        "_id": str(message.pk),
        "seq": message.seq,
        "deletedAt": iso(now),
    }
    realtime.notify_users(member_ids(message.conversation_id), "messageDeleted", data)
    return True
