"""Writes for messaging: sending, delivery and read receipts, deletion.

Every change that a connected client should see is announced through `messaging.realtime`,
which sends after the database commit.
"""

from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from accounts.selectors import iso
from chatproject.errors import ServiceError
from chatproject.ids import parse_pk
from chatproject.images import image_decode, image_store, images_delete, images_deleted_on_error
from chatproject.ratelimit import rate_limit_hit
from messaging import realtime, selectors
from messaging.models import CLIENT_ID_MAX_LENGTH, TEXT_MAX_LENGTH, Message

EMPTY_MESSAGE = "Message text or image is required"
TEXT_TOO_LONG = f"Message text must be at most {TEXT_MAX_LENGTH} characters"
TEXT_NOT_A_STRING = "Message text must be a string"
CLIENT_ID_INVALID = f"clientId must be a string of at most {CLIENT_ID_MAX_LENGTH} characters"
NOT_YOURSELF = "You cannot send a message to yourself"
TOO_MANY_MESSAGES = "You are sending messages too fast, please wait a moment"
UP_TO_REQUIRED = "upTo is required"
INVALID_MESSAGE = "Invalid message"

IMAGE_MAX_SIDE = 2048
IMAGE_FOLDER = "messages"
DELETE_BATCH = 500


def _clean_input(
    text: object, image: object, client_id: object
) -> tuple[str, str | None, str | None]:
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
    return text, image or None, client_id


def message_send(
    *,
    sender: User,
    receiver_id: str,
    text: str | None,
    image: str | None,
    client_id: str | None,
) -> tuple[Message, bool]:
    """Store a message and announce it to both people; (message, created).

    The same `client_id` from the same sender returns the first message (created=False), even
    when two retries race each other.
    """
    if parse_pk(User, receiver_id) == sender.pk:
        raise ServiceError(NOT_YOURSELF)
    receiver = selectors.user_get(user_id=receiver_id, active_only=True)
    text, image, client_id = _clean_input(text, image, client_id)
    if client_id is not None:
        existing = selectors.message_by_client_id_qs(
            sender_id=sender.pk, client_id=client_id
        ).first()
        if existing is not None:
            return existing, False
    # Counted after validation and the retry check, before the costly image work.
    wait = rate_limit_hit(
        f"message-send:{sender.pk}",
        limit=settings.MESSAGE_RATE_PER_USER,
        window=settings.MESSAGE_RATE_WINDOW,
    )
    if wait:
        raise ServiceError(TOO_MANY_MESSAGES, status=429, retry_after=wait)
    # Stored before the row exists: a bad image or a storage outage leaves nothing behind.
    stored = (
        image_store(image_decode(image, max_side=IMAGE_MAX_SIDE), folder=IMAGE_FOLDER)
        if image
        else ""
    )
    message = Message(
        sender=sender, receiver=receiver, text=text, image=stored, client_id=client_id
    )
    try:
        # Whatever stops the row from being written (a duplicate, a refusal, a database error)
        # also deletes the image stored for it.
        with images_deleted_on_error([stored]), transaction.atomic():
            # Foreign keys were just checked and the unique (sender, client_id) is left to the
            # database, so full_clean runs no queries of its own.
            message.full_clean(
                exclude=["sender", "receiver"], validate_unique=False, validate_constraints=False
            )
            message.save()
            realtime.notify_users(
                [sender.pk, receiver.pk], "newMessage", selectors.message_public(message)
            )
    except IntegrityError:
        first = None
        if client_id is not None:
            first = selectors.message_by_client_id_qs(
                sender_id=sender.pk, client_id=client_id
            ).first()
        if first is None:
            raise
        return first, False  # a concurrent retry with the same clientId got in first
    except ValidationError as exc:
        raise ServiceError(INVALID_MESSAGE, errors=exc.message_dict) from exc
    return message, True


def messages_mark_delivered(*, receiver: User, up_to: str | None = None) -> int:
    """Mark messages to `receiver` delivered (all, or those up to `up_to`); rows changed.

    Each sender concerned hears `messagesDelivered` once; a call that changes nothing (another
    tab got there first) announces nothing.
    """
    up_to_pk = None
    if up_to is not None:
        up_to_pk = parse_pk(Message, up_to)
        if up_to_pk is None:
            raise ServiceError(selectors.MESSAGE_NOT_FOUND, status=404)
    with transaction.atomic():
        newest = list(selectors.undelivered_by_sender_qs(receiver_id=receiver.pk, up_to=up_to_pk))
        if not newest:
            return 0
        now = timezone.now()
        # Bounded by the newest id seen, so a message arriving meanwhile waits for its own
        # receipt instead of being marked without its sender hearing of it.
        changed = selectors.undelivered_qs(
            receiver_id=receiver.pk, up_to=max(row["last_id"] for row in newest)
        ).update(delivered_at=now, updated_at=now)
        if changed:
            for row in newest:
                realtime.notify_users(
                    [row["sender_id"]],
                    "messagesDelivered",
                    {"userId": str(receiver.pk), "upTo": str(row["last_id"]), "at": iso(now)},
                )
    return changed


def messages_mark_read(*, reader: User, other_id: str, up_to: str | None) -> int:
    """Mark `other_id`'s messages to `reader` up to `up_to` read (and delivered); rows changed.

    `up_to` must be a message of this conversation (404 otherwise); `other` hears
    `messagesRead` when something changed.
    """
    if not up_to:
        raise ServiceError(UP_TO_REQUIRED, errors={"upTo": [UP_TO_REQUIRED]})
    other = selectors.user_get(user_id=other_id)
    up_to_pk = selectors.conversation_message_pk(
        user_id=reader.pk, other_id=other.pk, message_id=up_to
    )
    with transaction.atomic():
        now = timezone.now()
        changed = selectors.unread_qs(
            reader_id=reader.pk, other_id=other.pk, up_to=up_to_pk
        ).update(read_at=now, delivered_at=Coalesce("delivered_at", Value(now)), updated_at=now)
        if changed:
            realtime.notify_users(
                [other.pk],
                "messagesRead",
                {"userId": str(reader.pk), "upTo": str(up_to_pk), "at": iso(now)},
            )
    return changed


def messages_delete(*, messages: QuerySet[Message]) -> tuple[int, int]:
    """Delete messages and, once the deletion commits, their stored images.

    Returns (messages deleted, images deleted). Rows go by primary key in batches, so a
    queryset filtered across relations (admin search) deletes on MongoDB too, where a delete
    may only touch one collection.
    """
    deleted, images = 0, []
    with transaction.atomic():
        while batch := list(messages.order_by("id").values_list("pk", "image")[:DELETE_BATCH]):
            count, _ = selectors.messages_by_ids_qs([pk for pk, _ in batch]).delete()
            if not count:
                break  # nothing more can go; never loop on rows that will not delete
            deleted += count
            images += [image for _, image in batch if image]
        transaction.on_commit(lambda: images_delete(images))
    return deleted, len(images)


def messages_purge(*, older_than: datetime, dry_run: bool = False) -> tuple[int, int]:
    """Delete every message created before `older_than` with its image, or only count them.

    Returns (messages, images) deleted, or that would be.
    """
    old = selectors.messages_older_than_qs(older_than=older_than)
    if dry_run:
        return old.count(), old.exclude(image="").count()
    return messages_delete(messages=old)
