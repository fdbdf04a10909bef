"""Sending a message: the checks, the limit, the stored row and its announcement.

Two doors, one set of rules: `message_send` for sync callers (the REST endpoints, which may
carry an image) and `message_send_async` for the WebSocket's `sendMessage` (text only), which
never leaves the event loop except for the database writer (messaging/writer.py). Both store
through `message_store`, a writer job, and announce `newMessage` once it has committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import User
from chatproject.errors import ServiceError
from chatproject.ids import parse_pk
from chatproject.images import image_decode, image_store, images_delete
from chatproject.local_limits import local_windows
from messaging import realtime, selectors
from messaging.models import CLIENT_ID_MAX_LENGTH, TEXT_MAX_LENGTH, Message
from messaging.presence import presence_introduce
from messaging.writer import WriterBusy, awrite, write

EMPTY_MESSAGE = "Message text or image is required"
TEXT_TOO_LONG = f"Message text must be at most {TEXT_MAX_LENGTH} characters"
TEXT_NOT_A_STRING = "Message text must be a string"
CLIENT_ID_INVALID = f"clientId must be a string of at most {CLIENT_ID_MAX_LENGTH} characters"
NOT_YOURSELF = "You cannot send a message to yourself"
TOO_MANY_MESSAGES = "You are sending messages too fast, please wait a moment"
SERVER_BUSY = "The server is busy, please try again in a moment"
INVALID_MESSAGE = "Invalid message"

IMAGE_MAX_SIDE = 2048
IMAGE_FOLDER = "messages"
BUSY_RETRY_AFTER = 1  # seconds: the writer's queue drains in well under that


@dataclass(frozen=True)
class Sent:
    """A send's outcome: the message (new, or the first one for a retried clientId)."""

    message: Message
    created: bool
    payload: dict[str, Any]  # the Message JSON with prevId, as answered and announced


def message_check(
    *, sender_id: Any, receiver_id: object, text: object, image: object, client_id: object
) -> tuple[Any, str, str | None, str | None]:
    """Validate a send without touching the database: (receiver pk, text, image, clientId)."""
    receiver_pk = parse_pk(User, receiver_id)
    if receiver_pk is None:
        raise ServiceError(selectors.USER_NOT_FOUND, status=404)
    if receiver_pk == sender_id:
        raise ServiceError(NOT_YOURSELF)
    if text is not None and not isinstance(text, str):
        raise ServiceError(TEXT_NOT_A_STRING, errors={"text": [TEXT_NOT_A_STRING]})
    text = text if text and text.strip() else ""
    if not text and not image:
        raise ServiceError(EMPTY_MESSAGE)
    if len(text) > TEXT_MAX_LENGTH:
        raise ServiceError(TEXT_TOO_LONG, errors={"text": [TEXT_TOO_LONG]})
    if client_id is not None and not isinstance(client_id, str):
        raise ServiceError(CLIENT_ID_INVALID, errors={"clientId": [CLIENT_ID_INVALID]})
    client_id = (client_id or "").strip() or None
    if client_id is not None and len(client_id) > CLIENT_ID_MAX_LENGTH:
        raise ServiceError(CLIENT_ID_INVALID, errors={"clientId": [CLIENT_ID_INVALID]})
    return receiver_pk, text, (image or None), client_id


def _limit_key(sender_id: Any) -> str:
    return f"message-send:{sender_id}"


def _limit_hit(sender_id: Any) -> int | None:
    return local_windows.hit(
        _limit_key(sender_id),
        limit=settings.MESSAGE_RATE_PER_USER,
        window=settings.MESSAGE_RATE_WINDOW,
    )


def _limit_refund(sender_id: Any) -> None:
    local_windows.refund(_limit_key(sender_id), window=settings.MESSAGE_RATE_WINDOW)


def _existing(sender_id: Any, client_id: str | None) -> Sent | None:
    if client_id is None:
        return None
    first = selectors.message_by_client_id_qs(sender_id=sender_id, client_id=client_id).first()
    return Sent(first, False, selectors.message_event(first)) if first is not None else None


def message_store(
    sender_id: Any,
    receiver_pk: Any,
    text: str,
    image_name: str,
    client_id: str | None,
    over_limit: int | None,
) -> Sent:
    """The database part of a send, run by the writer: a writer job, committed by the caller.

    A clientId stored before returns the first message (a retry is never refused by the limit
    and never stored twice, even when two retries race: the unique index decides). Otherwise
    `over_limit` (seconds to wait) refuses with 429, and a missing or deactivated receiver 404.
    """
    if over_limit is not None:
        existing = _existing(sender_id, client_id)
        if existing is not None:
            return existing
        raise ServiceError(TOO_MANY_MESSAGES, status=429, retry_after=over_limit)
    if not selectors.user_qs(user_id=receiver_pk, active_only=True).exists():
        raise ServiceError(selectors.USER_NOT_FOUND, status=404)
    message = Message(
        sender_id=sender_id,
        receiver_id=receiver_pk,
        text=text,
        image=image_name,
        client_id=client_id,
    )
    try:
        # Foreign keys were just checked and the unique (sender, client_id) is left to the
        # database, so full_clean runs no queries of its own.
        message.full_clean(
            exclude=["sender", "receiver"], validate_unique=False, validate_constraints=False
        )
        with transaction.atomic():  # its own savepoint: a duplicate leaves the batch usable
            message.save(force_insert=True)
    except IntegrityError:
        existing = _existing(sender_id, client_id)
        if existing is None:
            raise
        return existing  # a concurrent retry with the same clientId got in first
    except ValidationError as exc:
        raise ServiceError(INVALID_MESSAGE, errors=exc.message_dict) from exc
    return Sent(message, True, selectors.message_event(message))


def message_send(
    *,
    sender: User,
    receiver_id: str,
    text: str | None,
    image: str | None,
    client_id: str | None,
) -> tuple[Message, bool]:
    """Store a message and announce it to both people; (message, created).

    The same `client_id` from the same sender returns the first message (created=False).
    """
    receiver_pk, text, image, client_id = message_check(
        sender_id=sender.pk, receiver_id=receiver_id, text=text, image=image, client_id=client_id
    )
    sent = _store_sync(sender.pk, receiver_pk, text, image, client_id)
    if sent.created:
        realtime.notify_users(
            [sent.message.sender_id, sent.message.receiver_id], "newMessage", sent.payload
        )
        if sent.payload["prevId"] is None:
            pair = (str(sent.message.sender_id), str(sent.message.receiver_id))
            transaction.on_commit(lambda: async_to_sync(presence_introduce)(*pair))
    return sent.message, sent.created


def _store_sync(
    sender_id: Any, receiver_pk: Any, text: str, image: str | None, client_id: str | None
) -> Sent:
    if image:
        # Before the costly image work: a retry needs none, and a wrong receiver gets nothing.
        existing = _existing(sender_id, client_id)
        if existing is not None:
            return existing
        if not selectors.user_qs(user_id=receiver_pk, active_only=True).exists():
            raise ServiceError(selectors.USER_NOT_FOUND, status=404)
    wait = _limit_hit(sender_id)
    stored = ""
    if image and wait is None:
        # Stored before the row exists: a bad image or a storage outage leaves nothing behind.
        stored = image_store(image_decode(image, max_side=IMAGE_MAX_SIDE), folder=IMAGE_FOLDER)
    try:
        sent = write(message_store, sender_id, receiver_pk, text, stored, client_id, wait)
    except WriterBusy as exc:
        images_delete([stored])
        _limit_refund(sender_id)
        raise ServiceError(SERVER_BUSY, status=503, retry_after=BUSY_RETRY_AFTER) from exc
    except BaseException:
        images_delete([stored])
        raise
    if not sent.created:
        images_delete([stored])
        if wait is None:
            _limit_refund(sender_id)  # a retry is not a new message
    return sent


async def message_send_async(
    *, sender_id: Any, receiver_id: object, text: object, client_id: object
) -> Sent:
    """The WebSocket's `sendMessage`: the same rules as REST for a text message."""
    receiver_pk, text, _, client_id = message_check(
        sender_id=sender_id, receiver_id=receiver_id, text=text, image=None, client_id=client_id
    )
    wait = _limit_hit(sender_id)
    if wait is not None and client_id is None:
        raise ServiceError(TOO_MANY_MESSAGES, status=429, retry_after=wait)
    try:
        sent = await awrite(message_store, sender_id, receiver_pk, text, "", client_id, wait)
    except WriterBusy as exc:
        _limit_refund(sender_id)
        raise ServiceError(SERVER_BUSY, status=503, retry_after=BUSY_RETRY_AFTER) from exc
    if sent.created:
        await realtime.notify_users_now(
            [sent.message.sender_id, sent.message.receiver_id], "newMessage", sent.payload
        )
        if sent.payload["prevId"] is None:  # a new conversation: presence between them now
            await presence_introduce(str(sent.message.sender_id), str(sent.message.receiver_id))
    elif wait is None:
        _limit_refund(sender_id)
    return sent
