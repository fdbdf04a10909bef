"""Delivered and read: cursors per member, moved by the database writer, announced after commit.

A member's `delivered_seq` / `read_seq` say "I have everything up to here"; moving one is one
row update plus a `ReceiptMark` (when it moved), whatever the number of messages it passes.
"Delivered" used to be a transaction per socket that received a message; now a socket only
notes it (`delivery_noted`) and each process records its notes every RECEIPT_FLUSH_DELAY
seconds in one writer job.

Who hears about a move: in a direct conversation the other person, with the seed API's
`messagesDelivered` / `messagesRead` `{userId, upTo, at}` (plus `conversationId`, `seq`); in a
group, with `cursorMoved {conversationId, userId, kind, seq, upTo, at}`, the senders of the
messages the cursor passed (the newest SENDERS_SCAN of them: their marks and "Seen by") and, for
a read, the reader's own other tabs. Not every member: with everyone in a busy group looking at
it, each message moves every member's cursors, and telling every member of every move was
members² frames per message (bench/group.py: 2,450 for 50 members). Who read what is there on
demand for anyone (`GET .../messages/<id>/receipts`).
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
from messaging import hotsql, realtime, selectors
from messaging.members import member_ids
from messaging.models import Conversation, Membership, Message, ReceiptMark
from messaging.writer import awrite, write

logger = logging.getLogger(__name__)

UP_TO_REQUIRED = "upTo is required"

Announcement = tuple[list[Any], str, dict[str, Any]]  # (users to tell, event, data)

SENDERS_SCAN = 100  # newest messages a group cursor move looks at to find whom to tell


@dataclass
class _Noted:
    """The deliveries to one member in one conversation since the last flush."""

    seq: int
    message_id: Any
    senders: set[Any] = field(default_factory=set)


# --- Writer jobs (sync, no announcements) ----------------------------------------------------


def cursor_move(
    conversation: Conversation,
    user_id: Any,
    kind: str,
    seq: int,
    up_to_id: Any,
    *,
    at: Any = None,
    after_seq: int = 0,
) -> list[Announcement]:
    """Move `user_id`'s `kind` cursor to `seq` if it is behind; reading also delivers. What to
    announce (nothing when nobody moved: another tab or process got there first). `after_seq`:
    where the cursor was, so a group move tells the senders of what it passed."""
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
            senders = (
                range_senders(conversation.pk, after_seq, seq) if conversation.is_group else ()
            )
            told.append(
                announcement(
                    conversation.pk,
                    conversation.direct_key,
                    user_id,
                    moving,
                    seq,
                    up_to_id,
                    at,
                    senders=senders,
                )
            )
    if marks:
        ReceiptMark.objects.bulk_create(marks)
    return told


def range_senders(conversation_id: Any, after_seq: int, up_to_seq: int) -> set[Any]:
    """Who sent the messages in (after_seq, up_to_seq] (the newest SENDERS_SCAN of them)."""
    return set(
        Message.objects.filter(
            conversation_id=conversation_id,
            seq__gt=max(after_seq, up_to_seq - SENDERS_SCAN),
            seq__lte=up_to_seq,
        ).values_list("sender_id", flat=True)
    )


def announcement(
    conversation_id: Any,
    direct_key: str | None,
    user_id: Any,
    kind: str,
    seq: int,
    up_to_id: Any,
    at: Any,
    *,
    senders: Any = (),
) -> Announcement:
    """Who hears that `user_id`'s cursor moved, and how (see the module docstring); `senders`:
    in a group, who sent the messages the move passed."""
    data = {
        "userId": str(user_id),
        "upTo": str(up_to_id),
        "at": iso(at),
        "conversationId": str(conversation_id),
        "seq": seq,
    }
    if direct_key is not None:
        others = [uid for uid in key_members(direct_key) if uid != user_id]
        event = "messagesRead" if kind == ReceiptMark.Kind.READ else "messagesDelivered"
        return others, event, data
    audience = set(senders) | {user_id} if kind == ReceiptMark.Kind.READ else set(senders)
    audience.discard(None)
    if kind != ReceiptMark.Kind.READ:
        audience.discard(user_id)  # nobody needs telling that they received something
    # Only current members: someone who left hears nothing more from the group.
    active = set(member_ids(conversation_id))
    return sorted(uid for uid in audience if uid in active), "cursorMoved", {**data, "kind": kind}


def key_members(direct_key: str) -> list[Any]:
    user_pk = User._meta.pk
    return [user_pk.to_python(part) for part in direct_key.split(":") if part]


def direct_members(conversation: Conversation) -> list[Any]:
    """The two people of a direct conversation, from its key (no query)."""
    return key_members(conversation.direct_key or "")


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
    told = cursor_move(
        conversation, reader_pk, ReceiptMark.Kind.READ, seq, up_to_pk, after_seq=membership.read_seq
    )
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
                after_seq=memberships[conversation.pk].delivered_seq,
            )
    return told


def deliveries_noted_record(newest: dict[tuple[Any, Any], _Noted]) -> list[Announcement]:
    """A flush of this process's delivery notes: (conversation, user) -> what was noted.
    Two statements per note and one per flush (hotsql), whatever happens to be in it."""
    keys = hotsql.direct_keys(list({cid for cid, _ in newest}))
    now = timezone.now()
    moves = [(cid, uid, noted.seq) for (cid, uid), noted in newest.items() if cid in keys]
    return [
        announcement(
            cid,
            keys[cid],
            uid,
            ReceiptMark.Kind.DELIVERED,
            seq,
            newest[cid, uid].message_id,
            now,
            senders=newest[cid, uid].senders,
        )
        for cid, uid, seq in hotsql.delivered_moves(moves, now)
    ]


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
    await realtime.notify_each_now(told)


async def deliveries_on_connect(receiver_pk: Any) -> None:
    """A socket of this user opened: everything that waited for them is delivered now."""
    await _announce_now(await awrite(deliveries_record, receiver_pk))


async def read_async(*, reader_pk: Any, conversation_id: Any, up_to: object) -> int:
    changed, told = await awrite(read_record, reader_pk, conversation_id, up_to)
    await _announce_now(told)
    return changed


@dataclass
class _Notes:
    """This process's deliveries waiting for the next flush: (conversation, user) -> noted."""

    newest: dict[tuple[Any, Any], _Noted] = field(default_factory=dict)
    flush: asyncio.Task[None] | None = None


_notes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Notes] = weakref.WeakKeyDictionary()


def delivery_noted(
    *, conversation_id: Any, user_pk: Any, seq: int, message_id: Any, sender_pk: Any = None
) -> None:
    """A message reached a socket of this member; recorded with the others at the next flush."""
    loop = asyncio.get_running_loop()
    notes = _notes.setdefault(loop, _Notes())
    key = (conversation_id, user_pk)
    noted = notes.newest.get(key)
    if noted is None:
        noted = notes.newest[key] = _Noted(seq, message_id)
    elif seq > noted.seq:
        noted.seq, noted.message_id = seq, message_id
    if sender_pk is not None:
        noted.senders.add(sender_pk)
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
