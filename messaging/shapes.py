"""The JSON shapes of messaging: a Message, a Conversation, a member. Pure functions, no queries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from accounts.selectors import iso
from chatproject.images import image_url
from messaging.models import Conversation, Membership, Message


@dataclass(frozen=True)
class Receipt:
    """When a message reached its receiver, and when they read it (None: not yet)."""

    delivered_at: datetime | None = None
    read_at: datetime | None = None


NO_RECEIPT = Receipt()

REPLY_SNIPPET_LENGTH = 200  # characters of the original a reply quotes


def message_preview(
    message: Message, receipt: Receipt = NO_RECEIPT, file: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The contract's Message shape plus `conversationId`, `seq`, `file` (the attachment's JSON,
    read by the caller: attachments.selectors.files_by_message), `editedAt` and `deletedAt`;
    system lines add `kind` and `event`. `text`/`image`/`file` are null when absent (and always
    once deleted); `receiverId` is null in groups, `deliveredAt`/`readAt` (the receiver's, in a
    direct conversation) null until then. What a sidebar shows of its last message."""
    deleted = message.deleted_at is not None
    shape = {
        "_id": str(message.pk),
        "conversationId": str(message.conversation_id),
        "seq": message.seq,
        "senderId": str(message.sender_id),
        "receiverId": str(message.receiver_id) if message.receiver_id is not None else None,
        "text": None if deleted else (message.text or None),
        "image": None if deleted else (image_url(message.image) or None),
        "file": None if deleted else file,
        "createdAt": iso(message.created_at),
        "updatedAt": iso(message.updated_at),
        "clientId": message.client_id or None,
        "deliveredAt": iso(receipt.delivered_at),
        "readAt": iso(receipt.read_at),
        "editedAt": iso(message.edited_at),
        "deletedAt": iso(message.deleted_at),
    }
    if message.kind == Message.Kind.SYSTEM:
        shape["kind"] = message.kind
        shape["event"] = message.event
    return shape


def reply_public(message: Message, original: Message | None) -> dict[str, Any] | None:
    """The quote above a reply: the original as it is now (`original` None: it is gone)."""
    if message.reply_to_id is None or message.deleted_at is not None:
        return None
    if original is None or original.deleted_at is not None:
        return {
            "_id": str(message.reply_to_id),
            "senderId": str(original.sender_id) if original is not None else None,
            "text": None,
            "image": False,
            "deleted": True,
        }
    return {
        "_id": str(original.pk),
        "senderId": str(original.sender_id),
        "text": original.text[:REPLY_SNIPPET_LENGTH] or None,
        "image": bool(original.image),
        "deleted": False,
    }


def reactions_public(rows: Iterable[tuple[str, Any]]) -> list[dict[str, Any]]:
    """`(emoji, user id)` rows of one message in the order they were made -> one entry per
    emoji, the first-used first, with its count and the people in reaction order."""
    by_emoji: dict[str, list[str]] = {}
    for emoji, user_id in rows:
        by_emoji.setdefault(emoji, []).append(str(user_id))
    return [{"emoji": e, "count": len(users), "userIds": users} for e, users in by_emoji.items()]


def message_public(
    message: Message,
    receipt: Receipt = NO_RECEIPT,
    file: dict[str, Any] | None = None,
    *,
    original: Message | None,
    reactions: list[dict[str, Any]],
) -> dict[str, Any]:
    """The whole Message: the preview plus `replyTo` (the quote, or null) and `reactions`
    (`original` is the message it replies to, as read; `reactions` from reactions_public)."""
    deleted = message.deleted_at is not None
    return {
        **message_preview(message, receipt, file),
        "replyTo": reply_public(message, original),
        "reactions": [] if deleted else reactions,
    }


def message_event(
    message: Message,
    prev_id: Any,
    file: dict[str, Any] | None = None,
    *,
    original: Message | None = None,
) -> dict[str, Any]:
    """A new message as `newMessage` and the send answers carry it (no reactions yet): plus
    `prevId`, the conversation's previous message (null for the first), so a client can tell
    it missed one."""
    shape = message_public(message, file=file, original=original, reactions=[])
    return {**shape, "prevId": str(prev_id) if prev_id is not None else None}


def unread_count(last_seq: int, mine: Membership) -> int:
    """Messages after the member's read cursor that others wrote (no query)."""
    read = max(mine.read_seq, mine.visible_from_seq)
    return max(0, last_seq - read - mine.sent_since_read)


def member_public(membership: Membership) -> dict[str, Any]:
    return {
        "userId": str(membership.user_id),
        "role": membership.role,
        "joinedAt": iso(membership.joined_at),
        "leftAt": iso(membership.left_at),
        "readSeq": membership.read_seq,
        "readAt": iso(membership.read_at),
        "deliveredSeq": membership.delivered_seq,
        "deliveredAt": iso(membership.delivered_at),
    }


def conversation_activity(
    conversation: Conversation, mine: Membership, last_message: Message | None
) -> datetime:
    """When the conversation last changed as `mine` sees it (the sidebar's order)."""
    if mine.visible_until_seq is not None:
        # What happened after they left is not theirs to see, not even when.
        activity = last_message.created_at if last_message is not None else mine.left_at
        return activity or conversation.created_at
    return conversation.last_message_at or conversation.created_at


def conversation_public(
    conversation: Conversation,
    *,
    mine: Membership,
    last_message: Message | None,
    last_file: dict[str, Any] | None = None,
    members: list[Membership] | None = None,
) -> dict[str, Any]:
    """A conversation as `mine` (the asking member) sees it: what's new is counted from their
    read cursor; a member who left sees the conversation as it was when they left."""
    last_seq = conversation.last_seq
    if mine.visible_until_seq is not None:
        last_seq = min(last_seq, mine.visible_until_seq)
    activity = conversation_activity(conversation, mine, last_message)
    shape = {
        "_id": str(conversation.pk),
        "kind": conversation.kind,
        "title": conversation.title,
        "picture": image_url(conversation.picture) or None,
        "createdBy": str(conversation.created_by_id) if conversation.created_by_id else None,
        "createdAt": iso(conversation.created_at),
        "updatedAt": iso(conversation.updated_at),
        "lastSeq": last_seq,
        "lastMessage": (
            message_preview(last_message, file=last_file) if last_message is not None else None
        ),
        "lastActivityAt": iso(activity),
        "unreadCount": unread_count(last_seq, mine),
        "role": mine.role,
        "active": mine.active,
        "muted": mine.muted,
    }
    if members is not None:
        shape["members"] = [member_public(m) for m in members]
    return shape
