"""Delivered and read receipts: recorded by the database writer, announced after the commit.

"Delivered" used to be a transaction (a grouping query, an UPDATE, a commit) per socket that
received a message: a quarter of a message's cost, and most of it when saturated. Now a socket
that receives a message only notes it (`delivery_noted`); each process gathers the notes for
RECEIPT_FLUSH_DELAY seconds and records them as one writer job, one UPDATE per (receiver,
sender), and each sender hears `messagesDelivered` once per flush. The delay is what a sender
waits at most, beyond the write itself, to see two ticks.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from accounts.selectors import iso
from chatproject.errors import ServiceError
from chatproject.ids import parse_pk
from messaging import realtime, selectors
from messaging.models import Message
from messaging.writer import awrite, write

logger = logging.getLogger(__name__)

UP_TO_REQUIRED = "upTo is required"

Announcement = tuple[Any, str, dict[str, Any]]  # (user to tell, event, data)


# --- Writer jobs (sync, no announcements) ----------------------------------------------------


def deliveries_record(
    receiver_pk: Any, newest_by_sender: dict[Any, Any] | None
) -> tuple[int, list[Announcement]]:
    """Mark messages to `receiver_pk` delivered, per sender up to the given id (None: all
    waiting ones): (rows changed, a `messagesDelivered` for each sender concerned)."""
    if newest_by_sender is None:
        newest_by_sender = {
            row["sender_id"]: row["last_id"]
            for row in selectors.undelivered_by_sender_qs(receiver_id=receiver_pk)
        }
    now = timezone.now()
    total, told = 0, []
    for sender_pk, up_to in newest_by_sender.items():
        # Bounded by the newest id seen, so a message arriving meanwhile waits for its own
        # receipt instead of being marked without its sender hearing of it.
        changed = selectors.undelivered_from_qs(
            receiver_id=receiver_pk, sender_id=sender_pk, up_to=up_to
        ).update(delivered_at=now, updated_at=now)
        if changed:
            total += changed
            data = {"userId": str(receiver_pk), "upTo": str(up_to), "at": iso(now)}
            told.append((sender_pk, "messagesDelivered", data))
    return total, told


def read_record(reader_pk: Any, other_id: object, up_to: object) -> tuple[int, list[Announcement]]:
    """Mark `other_id`'s messages to the reader read (and delivered) up to `up_to`.

    `up_to` must be a message of this conversation (404 otherwise, like an unknown one).
    """
    if not up_to:
        raise ServiceError(UP_TO_REQUIRED, errors={"upTo": [UP_TO_REQUIRED]})
    other = selectors.user_get(user_id=other_id)
    up_to_pk = selectors.conversation_message_pk(
        user_id=reader_pk, other_id=other.pk, message_id=up_to
    )
    now = timezone.now()
    changed = selectors.unread_qs(reader_id=reader_pk, other_id=other.pk, up_to=up_to_pk).update(
        read_at=now, delivered_at=Coalesce("delivered_at", Value(now)), updated_at=now
    )
    if not changed:
        return 0, []
    data = {"userId": str(reader_pk), "upTo": str(up_to_pk), "at": iso(now)}
    return changed, [(other.pk, "messagesRead", data)]


# --- Sync doors (REST, tests) ---------------------------------------------------------------


def _announce_on_commit(told: list[Announcement]) -> None:
    for user_pk, event, data in told:
        realtime.notify_users([user_pk], event, data)


def messages_mark_delivered(*, receiver: User, up_to: str | None = None) -> int:
    """Mark messages to `receiver` delivered (all, or those up to `up_to`); senders told."""
    newest = None
    if up_to is not None:
        up_to_pk = parse_pk(Message, up_to)
        if up_to_pk is None:
            raise ServiceError(selectors.MESSAGE_NOT_FOUND, status=404)
        newest = {
            row["sender_id"]: row["last_id"]
            for row in selectors.undelivered_by_sender_qs(receiver_id=receiver.pk, up_to=up_to_pk)
        }
    if newest == {}:
        return 0
    changed, told = write(deliveries_record, receiver.pk, newest)
    _announce_on_commit(told)
    return changed


def messages_mark_read(*, reader: User, other_id: str, up_to: str | None) -> int:
    """Mark `other_id`'s messages to `reader` read up to `up_to`; rows changed; they are told."""
    changed, told = write(read_record, reader.pk, other_id, up_to)
    _announce_on_commit(told)
    return changed


# --- Async doors (the WebSocket consumer) ---------------------------------------------------


async def _announce_now(told: list[Announcement]) -> None:
    for user_pk, event, data in told:
        await realtime.notify_users_now([user_pk], event, data)


async def deliveries_on_connect(receiver_pk: Any) -> None:
    """A socket of this user opened: everything that waited for them is delivered now."""
    _, told = await awrite(deliveries_record, receiver_pk, None)
    await _announce_now(told)


async def read_async(*, reader_pk: Any, other_id: object, up_to: object) -> int:
    changed, told = await awrite(read_record, reader_pk, other_id, up_to)
    await _announce_now(told)
    return changed


@dataclass
class _Notes:
    """This process's deliveries waiting for the next flush: (receiver, sender) -> newest id."""

    newest: dict[tuple[Any, Any], Any] = field(default_factory=dict)
    flush: asyncio.Task[None] | None = None


_notes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Notes] = weakref.WeakKeyDictionary()


def delivery_noted(*, receiver_pk: Any, sender_pk: Any, message_pk: Any) -> None:
    """A message reached a socket of its receiver; recorded with the others at the next flush."""
    loop = asyncio.get_running_loop()
    notes = _notes.setdefault(loop, _Notes())
    key = (receiver_pk, sender_pk)
    current = notes.newest.get(key)
    if current is None or message_pk > current:
        notes.newest[key] = message_pk
    if notes.flush is None:
        notes.flush = loop.create_task(_flush(notes))


async def _flush(notes: _Notes) -> None:
    await asyncio.sleep(float(settings.RECEIPT_FLUSH_DELAY))
    newest, notes.newest, notes.flush = notes.newest, {}, None
    by_receiver: dict[Any, dict[Any, Any]] = {}
    for (receiver_pk, sender_pk), message_pk in newest.items():
        by_receiver.setdefault(receiver_pk, {})[sender_pk] = message_pk
    try:
        told = await awrite(_deliveries_record_many, by_receiver)
    except Exception:  # a receipt is worth a retry by the next socket, not a crash
        logger.warning("could not record %d deliveries", len(newest), exc_info=True)
        return
    await _announce_now(told)


def _deliveries_record_many(by_receiver: dict[Any, dict[Any, Any]]) -> list[Announcement]:
    told: list[Announcement] = []
    for receiver_pk, newest_by_sender in by_receiver.items():
        told += deliveries_record(receiver_pk, newest_by_sender)[1]
    return told
