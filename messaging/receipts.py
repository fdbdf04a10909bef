"""Delivered and read: cursors per member, moved by the database writer, announced after commit.

A member's `delivered_seq` / `read_seq` say "I have everything up to here"; moving one is one
row update plus a `ReceiptMark` (when it moved), whatever the number of messages it passes.
"Delivered" used to be a transaction per socket that received a message; now a socket only
notes it (`delivery_noted`) and each process records its notes every RECEIPT_FLUSH_DELAY
seconds in one writer job.

Who hears about a move: in a direct conversation the other person, with the seed API's
`messagesDelivered` / `messagesRead` `{userId, upTo, at}` (plus `conversationId`, `seq`); in a
group every member, with `cursorMoved {conversationId, userId, kind, seq, upTo, at}`.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounts.models import User
from accounts.selectors import iso
from chatproject.errors import ServiceError
from chatproject.ids import parse_pk
from messaging import realtime, selectors
from messaging.members import member_ids
from messaging.models import Conversation, Membership, Message, ReceiptMark
from messaging.writer import awrite, write

logger = logging.getLogger(__name__)

UP_TO_REQUIRED = "upTo is required"

Announcement = tuple[list[Any], str, dict[str, Any]]  # (users to tell, event, data)


# --- Writer jobs (sync, no announcements) ----------------------------------------------------


def cursor_move(
    conversation: Conversation,
    user_id: Any,
    kind: str,
    seq: int,
    up_to_id: Any,
    *,
    at: Any = None,
) -> list[Announcement]:
    """Move `user_id`'s `kind` cursor to `seq` if it is behind; reading also delivers. What to
    announce (nothing when nobody moved: another tab or process got there first)."""
    at = at or timezone.now()
    kinds = (
        [ReceiptMark.Kind.DELIVERED]
        if kind == ReceiptMark.Kind.DELIVERED
        else list(ReceiptMark.Kind)
    )
    told: list[Announcement] = []
    marks = []
    for moving in kinds:
        changes: dict[str, Any] = {f"{moving}_seq": seq, f"{moving}_at": at}
        if moving == ReceiptMark.Kind.READ:
            # Their own messages still after the cursor (they never count as unread).
            changes["sent_since_read"] = Message.objects.filter(
                conversation_id=conversation.pk, seq__gt=seq, sender_id=user_id
            ).count()
        moved = (
            selectors.membership_qs(conversation_id=conversation.pk, user_id=user_id)
            .filter(**{f"{moving}_seq__lt": seq})
            .update(**changes)
        )
        if not moved:
            continue
        marks.append(
            ReceiptMark(
                conversation_id=conversation.pk, user_id=user_id, kind=moving, up_to_seq=seq, at=at
            )
        )
        if moving == kind:  # a read says "delivered" too; nobody needs to hear it twice
            told.append(_announcement(conversation, user_id, moving, seq, up_to_id, at))
    if marks:
        ReceiptMark.objects.bulk_create(marks)
    return told


def _announcement(
    conversation: Conversation, user_id: Any, kind: str, seq: int, up_to_id: Any, at: Any
) -> Announcement:
    data = {
        "userId": str(user_id),
        "upTo": str(up_to_id),
        "at": iso(at),
        "conversationId": str(conversation.pk),
        "seq": seq,
    }
    if conversation.kind == Conversation.Kind.DIRECT:
        others = [uid for uid in direct_members(conversation) if uid != user_id]
        event = "messagesRead" if kind == ReceiptMark.Kind.READ else "messagesDelivered"
        return others, event, data
    return member_ids(conversation.pk), "cursorMoved", {**data, "kind": kind}


def direct_members(conversation: Conversation) -> list[Any]:
    """The two people of a direct conversation, from its key (no query)."""
    user_pk = User._meta.pk
    return [user_pk.to_python(part) for part in (conversation.direct_key or "").split(":") if part]


def read_record(
    reader_pk: Any, conversation_id: Any, up_to: object
) -> tuple[int, list[Announcement]]:
    """The reader has read the conversation up to message `up_to` (404 unless it is one of
    its messages they may see). (messages newly read that others sent, announcements)."""
    if not up_to:
        raise ServiceError(UP_TO_REQUIRED, errors={"upTo": [UP_TO_REQUIRED]})
    conversation = selectors.conversations_by_ids_qs([conversation_id]).first()
    membership = (
        selectors.membership_qs(conversation_id=conversation_id, user_id=reader_pk).first()
        if conversation is not None
        else None
    )
    if membership is None:
        raise ServiceError(selectors.CONVERSATION_NOT_FOUND, status=404)
    up_to_pk, seq = selectors.message_seq(conversation_id=conversation_id, message_id=up_to)
    if seq <= membership.visible_from_seq or (
        membership.visible_until_seq is not None and seq > membership.visible_until_seq
    ):
        raise ServiceError(selectors.MESSAGE_NOT_FOUND, status=404)
    newly = 0
    if seq > membership.read_seq:
        newly = (
            Message.objects.filter(
                conversation_id=conversation_id, seq__gt=membership.read_seq, seq__lte=seq
            )
            .exclude(sender_id=reader_pk)
            .count()
        )
    told = cursor_move(conversation, reader_pk, ReceiptMark.Kind.READ, seq, up_to_pk)
    return (newly if told else 0), told


def deliveries_record(user_pk: Any) -> list[Announcement]:
    """A socket of this user opened: every conversation they are in is delivered to its end."""
    memberships = {
        m.conversation_id: m
        for m in selectors.memberships_of_qs(user_id=user_pk).filter(left_at__isnull=True)
    }
    told: list[Announcement] = []
    for conversation in selectors.conversations_by_ids_qs(list(memberships)):
        if conversation.last_message_id is None:
            continue
        if memberships[conversation.pk].delivered_seq < conversation.last_seq:
            told += cursor_move(
                conversation,
                user_pk,
                ReceiptMark.Kind.DELIVERED,
                conversation.last_seq,
                conversation.last_message_id,
            )
    return told


def deliveries_noted_record(newest: dict[tuple[Any, Any], tuple[int, Any]]) -> list[Announcement]:
    """A flush of this process's delivery notes: (conversation, user) -> (seq, message id)."""
    conversations = {
        c.pk: c for c in selectors.conversations_by_ids_qs(list({cid for cid, _ in newest}))
    }
    told: list[Announcement] = []
    for (conversation_id, user_id), (seq, message_id) in newest.items():
        conversation = conversations.get(conversation_id)
        if conversation is not None:
            told += cursor_move(conversation, user_id, ReceiptMark.Kind.DELIVERED, seq, message_id)
    return told


# --- Sync doors (REST, tests) ---------------------------------------------------------------


def _announce_on_commit(told: list[Announcement]) -> None:
    for users, event, data in told:
        realtime.notify_users(users, event, data)


def messages_mark_delivered(*, receiver: User) -> int:
    """Everything waiting for `receiver` is delivered; conversations moved."""
    told = write(deliveries_record, receiver.pk)
    _announce_on_commit(told)
    return len(told)


def messages_mark_read(*, reader: User, other_id: str, up_to: str | None) -> int:
    """The seed API: `other_id`'s messages to `reader` read up to `up_to`; how many became read."""
    if not up_to:
        raise ServiceError(UP_TO_REQUIRED, errors={"upTo": [UP_TO_REQUIRED]})
    other = selectors.user_get(user_id=other_id)
    conversation = selectors.direct_conversation(user_id=reader.pk, other_id=other.pk)
    if conversation is None:
        raise ServiceError(selectors.MESSAGE_NOT_FOUND, status=404)
    return conversation_mark_read(reader=reader, conversation_id=conversation.pk, up_to=up_to)


def conversation_mark_read(*, reader: User, conversation_id: object, up_to: object) -> int:
    """`reader` has read the conversation up to message `up_to`; how many became read."""
    pk = parse_pk(Conversation, conversation_id)
    if pk is None:
        raise ServiceError(selectors.CONVERSATION_NOT_FOUND, status=404)
    changed, told = write(read_record, reader.pk, pk, up_to)
    _announce_on_commit(told)
    return changed


# --- Async doors (the WebSocket consumer) ---------------------------------------------------


async def _announce_now(told: list[Announcement]) -> None:
    for users, event, data in told:
        await realtime.notify_users_now(users, event, data)


async def deliveries_on_connect(receiver_pk: Any) -> None:
    """A socket of this user opened: everything that waited for them is delivered now."""
    await _announce_now(await awrite(deliveries_record, receiver_pk))


async def read_async(*, reader_pk: Any, conversation_id: Any, up_to: object) -> int:
    changed, told = await awrite(read_record, reader_pk, conversation_id, up_to)
    await _announce_now(told)
    return changed


@dataclass
class _Notes:
    """This process's deliveries waiting for the next flush:
    (conversation, user) -> (newest seq, its message id)."""

    newest: dict[tuple[Any, Any], tuple[int, Any]] = field(default_factory=dict)
    flush: asyncio.Task[None] | None = None


_notes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Notes] = weakref.WeakKeyDictionary()


def delivery_noted(*, conversation_id: Any, user_pk: Any, seq: int, message_id: Any) -> None:
    """A message reached a socket of this member; recorded with the others at the next flush."""
    loop = asyncio.get_running_loop()
    notes = _notes.setdefault(loop, _Notes())
    key = (conversation_id, user_pk)
    current = notes.newest.get(key)
    if current is None or seq > current[0]:
        notes.newest[key] = (seq, message_id)
    if notes.flush is None:
        notes.flush = loop.create_task(_flush(notes))


async def _flush(notes: _Notes) -> None:
    await asyncio.sleep(float(settings.RECEIPT_FLUSH_DELAY))
    newest, notes.newest, notes.flush = notes.newest, {}, None
    try:
        told = await awrite(deliveries_noted_record, newest)
    except Exception:  # a receipt is worth a retry by the next socket, not a crash
        logger.warning("could not record %d deliveries", len(newest), exc_info=True)
        return
    await _announce_now(told)


__all__ = ["Membership"]
