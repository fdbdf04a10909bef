"""Sending a message: the checks, the limit, the stored row and its announcement.

Two doors, one set of rules: `message_send` for sync callers (the REST endpoints, which may
carry an image) and `message_send_async` for the WebSocket's `sendMessage` (text only), which
never leaves the event loop except for the database writer (messaging/writer.py). Both store
through `message_store`, a writer job, and announce `newMessage` once it has committed.

Either may carry a file uploaded before (`attachmentId`, attachments/): the same writer job
checks it and points it at the message, so a plain text send costs no query for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from accounts.models import User
from accounts.user_cache import cache as user_cache
from attachments.selectors import files_by_message
from attachments.services import attachment_attach, attachment_for_send, attachment_pk
from chatproject.errors import ServiceError
from chatproject.ids import parse_pk
from chatproject.images import image_decode, image_store, images_delete
from chatproject.local_limits import local_windows
from messaging import hotsql, realtime, selectors
from messaging.direct import adirect_conversation_id, direct_conversation_id
from messaging.members import aconversation_member_ids, conversation_member_ids
from messaging.models import CLIENT_ID_MAX_LENGTH, TEXT_MAX_LENGTH, Conversation, Message
from messaging.presence import presence_introduce
from messaging.receipts import direct_members
from messaging.shapes import message_event, message_public
from messaging.writer import WriterBusy, awrite, write
from safety.services import send_check

EMPTY_MESSAGE = "Message text or image is required"
TEXT_TOO_LONG = f"Message text must be at most {TEXT_MAX_LENGTH} characters"
TEXT_NOT_A_STRING = "Message text must be a string"
CLIENT_ID_INVALID = f"clientId must be a string of at most {CLIENT_ID_MAX_LENGTH} characters"
NOT_YOURSELF = "You cannot send a message to yourself"
TOO_MANY_MESSAGES = "You are sending messages too fast, please wait a moment"
SERVER_BUSY = "The server is busy, please try again in a moment"
INVALID_MESSAGE = "Invalid message"
REPLY_TO_INVALID = "replyTo must be a message of this conversation that you can see"
REPLY_TO_UNAVAILABLE = "You cannot reply to a deleted message or to a system line"

IMAGE_MAX_SIDE = 2048
IMAGE_FOLDER = "messages"
BUSY_RETRY_AFTER = 1  # seconds: the writer's queue drains in well under that


@dataclass(frozen=True)
class Sent:
    """A send's outcome: the message (new, or the first one for a retried clientId)."""

    message: Message
    created: bool
    payload: dict[str, Any]  # the Message JSON with prevId, as answered and announced


def receiver_check(*, sender_id: Any, receiver_id: object) -> Any:
    """The pk of the person a direct send goes to (404 malformed, 400 yourself)."""
    receiver_pk = parse_pk(User, receiver_id)
    if receiver_pk is None:
        raise ServiceError(selectors.USER_NOT_FOUND, status=404)
    if receiver_pk == sender_id:
        raise ServiceError(NOT_YOURSELF)
    return receiver_pk


def content_check(
    *, text: object, image: object, client_id: object, attachment_id: object = None
) -> tuple[str, str | None, str | None]:
    """Validate what is sent, without touching the database: (text, image, clientId). Text,
    an image or a file (`attachment_id`, checked by the writer job) must be there."""
    if text is not None and not isinstance(text, str):
        raise ServiceError(TEXT_NOT_A_STRING, errors={"text": [TEXT_NOT_A_STRING]})
    text = text if text and text.strip() else ""
    if not text and not image and attachment_id in (None, ""):
        raise ServiceError(EMPTY_MESSAGE)
    if len(text) > TEXT_MAX_LENGTH:
        raise ServiceError(TEXT_TOO_LONG, errors={"text": [TEXT_TOO_LONG]})
    if client_id is not None and not isinstance(client_id, str):
        raise ServiceError(CLIENT_ID_INVALID, errors={"clientId": [CLIENT_ID_INVALID]})
    client_id = (client_id or "").strip() or None
    if client_id is not None and len(client_id) > CLIENT_ID_MAX_LENGTH:
        raise ServiceError(CLIENT_ID_INVALID, errors={"clientId": [CLIENT_ID_INVALID]})
    return text, (image or None), client_id


def _reply_refused(sentence: str) -> ServiceError:
    return ServiceError(sentence, errors={"replyTo": [sentence]})


def reply_check(reply_to: object) -> Any:
    """The pk `replyTo` names, None when there is none; 400 when it cannot name a message."""
    if reply_to is None or reply_to == "":
        return None
    pk = parse_pk(Message, reply_to)
    if pk is None:
        raise _reply_refused(REPLY_TO_INVALID)
    return pk


def reply_original(sender_id: Any, conversation_id: Any, reply_to_pk: Any) -> Message:
    """The message a reply answers (a writer job's read): one of this conversation's, inside
    the sender's window, neither deleted nor a system line; 400 otherwise."""
    window_from = (
        selectors.membership_qs(conversation_id=conversation_id, user_id=sender_id)
        .filter(left_at__isnull=True)
        .values_list("visible_from_seq", flat=True)
        .first()
    )
    if window_from is None:
        raise NotAMember
    original = selectors.message_in_conversation_qs(
        conversation_id=conversation_id, message_id=reply_to_pk
    ).first()
    if original is None or original.seq <= window_from:
        raise _reply_refused(REPLY_TO_INVALID)
    if original.deleted_at is not None or original.kind == Message.Kind.SYSTEM:
        raise _reply_refused(REPLY_TO_UNAVAILABLE)
    return original


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
    if first is None:
        return None
    prev = (
        selectors.conversation_page_qs(
            conversation_id=first.conversation_id, before_seq=first.seq, limit=1
        )
        .values_list("pk", flat=True)
        .first()
    )
    originals, reactions = selectors.message_extras([first])
    payload = message_public(
        first,
        file=files_by_message([first.pk]).get(first.pk),
        original=originals.get(first.reply_to_id),
        reactions=reactions.get(first.pk, []),
    )
    return Sent(first, False, {**payload, "prevId": str(prev) if prev is not None else None})


def message_store(
    sender_id: Any,
    conversation_id: Any,
    receiver_pk: Any,
    text: str,
    image_name: str,
    client_id: str | None,
    over_limit: int | None,
    reply_to_pk: Any = None,
    attachment_id: Any = None,
) -> Sent:
    """The database part of a send, run by the writer: a writer job, committed by the caller.

    A clientId stored before returns the first message (a retry is never refused by the limit
    and never stored twice, even when two retries race: the unique index decides). Otherwise
    `over_limit` (seconds to wait) refuses with 429. The message takes the conversation's next
    seq. A reply (`reply_to_pk`) reads its original first; a file (`attachment_id`, a pk) must
    be the sender's upload to this conversation, not sent yet (400): it is checked before the
    insert and taken after it, in the same job. A plain message reads nothing more.
    """
    if over_limit is not None or reply_to_pk is not None:
        existing = _existing(sender_id, client_id)
        if existing is not None:
            return existing
    if over_limit is not None:
        raise ServiceError(TOO_MANY_MESSAGES, status=429, retry_after=over_limit)
    original = None
    if reply_to_pk is not None:
        original = reply_original(sender_id, conversation_id, reply_to_pk)
    attachment = None
    if attachment_id is not None:
        try:
            attachment = attachment_for_send(
                attachment_id=attachment_id, sender_id=sender_id, conversation_id=conversation_id
            )
        except ServiceError:
            existing = _existing(sender_id, client_id)  # a retry: the first send took the file
            if existing is not None:
                return existing
            raise
    message = Message(
        sender_id=sender_id,
        receiver_id=receiver_pk,
        text=text,
        image=image_name,
        client_id=client_id,
        reply_to_id=reply_to_pk,
    )
    try:
        prev_id = message_append(conversation_id, message)
    except Duplicate:
        existing = _existing(sender_id, client_id)
        if existing is None:
            raise
        return existing  # a retry (maybe racing the first) with the same clientId
    file = None
    if attachment is not None:  # another send taking it meanwhile: 400, the job undone
        file = attachment_attach(attachment=attachment, message_id=message.pk)
    return Sent(message, True, message_event(message, prev_id, file, original=original))


class Duplicate(IntegrityError):
    """This sender used this clientId before: nothing was stored."""


def message_append(conversation_id: Any, message: Message) -> Any:
    """Store `message` as the conversation's next one, from its sender (who must be an active
    member; 404 otherwise); returns the id of the message before it (None for the first).

    In a direct conversation the message names the other person as its receiver (the seed
    API's `receiverId`), who must still be active. Runs inside a transaction (the writer's, or a
    service's): the conversation's head is read and moved within it, so seqs never repeat or
    skip (SQLite: one writer at a time; MongoDB: the unique (conversation, seq) index refuses a
    collision, and the caller may retry). Four statements, whatever the history (hotsql).
    """
    head = hotsql.conversation_head(conversation_id)
    if head is None:
        raise ServiceError(selectors.CONVERSATION_NOT_FOUND, status=404)
    last_seq, prev_id, key = head
    if key is not None and message.kind == Message.Kind.TEXT:
        receiver_pk = next((p for p in _pair(key) if p != message.sender_id), None)
        receiver = user_cache.user(receiver_pk) if receiver_pk is not None else None
        if receiver is None or not receiver.is_active:
            raise ServiceError(selectors.USER_NOT_FOUND, status=404)
        send_check(message.sender_id, receiver_pk)  # 403 across a block (cached: no query)
        message.receiver_id = receiver_pk
    seq, now = last_seq + 1, timezone.now()
    message.conversation_id, message.seq, message.created_at = conversation_id, seq, now
    if not hotsql.message_insert(message):
        raise Duplicate
    # One's own message is never unread (and writing marks nothing read). Not a member: the
    # job's savepoint takes the insert back.
    if not hotsql.sent_since_read_bump(conversation_id, message.sender_id):
        raise NotAMember
    hotsql.conversation_head_move(conversation_id, seq, message.pk, now)
    return prev_id


def _pair(key: str) -> list[Any]:
    to_python = User._meta.pk.to_python
    return [to_python(part) for part in key.split(":") if part]


class NotAMember(ServiceError):
    """Only the conversation's current members write to it (the same 404 as an unknown one)."""

    def __init__(self) -> None:
        super().__init__(selectors.CONVERSATION_NOT_FOUND, status=404)


def message_send(
    *,
    sender: User,
    receiver_id: str,
    text: str | None,
    image: str | None,
    client_id: str | None,
    reply_to: object = None,
    attachment_id: object = None,
) -> Sent:
    """Store a message to `receiver_id` (their direct conversation) and announce it to both
    people. The same `client_id` from the same sender returns the first message
    (`created` False). `reply_to`: the id of the message it answers."""
    receiver_pk = receiver_check(sender_id=sender.pk, receiver_id=receiver_id)
    text, image, client_id = content_check(
        text=text, image=image, client_id=client_id, attachment_id=attachment_id
    )
    reply_to_pk = reply_check(reply_to)
    file_pk = attachment_pk(attachment_id)
    if image:
        # Before the costly image work: a retry needs none, and a wrong receiver gets nothing.
        existing = _existing(sender.pk, client_id)
        if existing is not None:
            return existing
    if not selectors.user_qs(user_id=receiver_pk, active_only=True).exists():
        raise ServiceError(selectors.USER_NOT_FOUND, status=404)
    conversation_id = direct_conversation_id(sender.pk, receiver_pk)
    sent = _store_sync(
        sender.pk, conversation_id, receiver_pk, text, image, client_id, reply_to_pk, file_pk
    )
    if sent.created:
        announce_new_message(sent)
    return sent


def conversation_message_send(
    *,
    sender: User,
    conversation_id: object,
    text: str | None,
    image: str | None,
    client_id: str | None,
    reply_to: object = None,
    attachment_id: object = None,
) -> Sent:
    """Store a message in a conversation the sender is in now, and announce it to its members.

    The rules of `message_send`; only the conversation's current members post (404 for anyone
    else, as for an unknown id). In a direct conversation the message names the other person
    as its receiver, so the seed API shows it like any other."""
    pk = parse_pk(Conversation, conversation_id)
    conversation = selectors.conversations_by_ids_qs([pk]).first() if pk is not None else None
    member = (
        selectors.membership_qs(conversation_id=pk, user_id=sender.pk)
        .filter(left_at__isnull=True)
        .exists()
        if conversation is not None
        else False
    )
    if not member:
        raise NotAMember
    text, image, client_id = content_check(
        text=text, image=image, client_id=client_id, attachment_id=attachment_id
    )
    reply_to_pk = reply_check(reply_to)
    file_pk = attachment_pk(attachment_id)
    if image:
        existing = _existing(sender.pk, client_id)  # a retry needs no image work
        if existing is not None:
            return existing
    receiver_pk = None
    if conversation.kind == Conversation.Kind.DIRECT:
        receiver_pk = next(p for p in direct_members(conversation) if p != sender.pk)
    sent = _store_sync(
        sender.pk, conversation.pk, receiver_pk, text, image, client_id, reply_to_pk, file_pk
    )
    if sent.created:
        announce_new_message(sent)
    return sent


def _store_sync(
    sender_id: Any,
    conversation_id: Any,
    receiver_pk: Any,
    text: str,
    image: str | None,
    client_id: str | None,
    reply_to_pk: Any = None,
    file_pk: Any = None,
) -> Sent:
    wait = _limit_hit(sender_id)
    stored = ""
    if image and wait is None:
        # Stored before the row exists: a bad image or a storage outage leaves nothing behind.
        stored = image_store(image_decode(image, max_side=IMAGE_MAX_SIDE), folder=IMAGE_FOLDER)
    args = (
        sender_id,
        conversation_id,
        receiver_pk,
        text,
        stored,
        client_id,
        wait,
        reply_to_pk,
        file_pk,
    )
    try:
        sent = write(message_store, *args)
    except (WriterBusy, OperationalError) as exc:  # full queue, database locked or away
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


def announce_new_message(sent: Sent) -> None:
    """From sync code, after the commit: `newMessage` to every member's sockets."""
    message = sent.message
    members = conversation_member_ids(message.conversation_id, message)
    realtime.notify_users(members, "newMessage", sent.payload)
    if sent.payload["prevId"] is None and message.receiver_id is not None:
        pair = (str(message.sender_id), str(message.receiver_id))
        transaction.on_commit(lambda: async_to_sync(presence_introduce)(*pair))


async def message_send_async(
    *,
    sender_id: Any,
    receiver_id: object = None,
    conversation_id: object = None,
    text: object,
    client_id: object,
    reply_to: object = None,
    attachment_id: object = None,
) -> Sent:
    """The WebSocket's `sendMessage` (and REST text sends): the same rules as REST for a text
    message (and a file uploaded before), to a person (`to`, their direct conversation) or to a
    conversation the sender is in, maybe in reply to one of its messages (`reply_to`)."""
    reply_to_pk = reply_check(reply_to)
    content = {"text": text, "image": None, "client_id": client_id, "attachment_id": attachment_id}
    if conversation_id is not None:
        conversation_pk = parse_pk(Conversation, conversation_id)
        if conversation_pk is None:
            raise ServiceError(selectors.CONVERSATION_NOT_FOUND, status=404)
        text, _, client_id = content_check(**content)
        # A direct conversation's message names its receiver, whichever way it was addressed:
        # message_append takes it from the conversation's key (no extra read here).
        receiver_pk = None
    else:
        receiver_pk = receiver_check(sender_id=sender_id, receiver_id=receiver_id)
        text, _, client_id = content_check(**content)
        conversation_pk = await adirect_conversation_id(sender_id, receiver_pk)
    file_pk = attachment_pk(attachment_id)
    wait = _limit_hit(sender_id)
    if wait is not None and client_id is None:
        raise ServiceError(TOO_MANY_MESSAGES, status=429, retry_after=wait)
    args = (
        sender_id,
        conversation_pk,
        receiver_pk,
        text,
        "",
        client_id,
        wait,
        reply_to_pk,
        file_pk,
    )
    try:
        sent = await awrite(message_store, *args)
    except (WriterBusy, OperationalError) as exc:  # full queue, database locked or away
        _limit_refund(sender_id)
        raise ServiceError(SERVER_BUSY, status=503, retry_after=BUSY_RETRY_AFTER) from exc
    if sent.created:
        members = await aconversation_member_ids(sent.message.conversation_id, sent.message)
        await realtime.notify_users_now(members, "newMessage", sent.payload)
        message = sent.message
        if sent.payload["prevId"] is None and message.receiver_id is not None:
            await presence_introduce(str(message.sender_id), str(message.receiver_id))
    elif wait is None:
        _limit_refund(sender_id)
    return sent
