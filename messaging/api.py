"""`/api/messages/`: contacts, history, sending and read receipts (see shared/API.md)."""

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse
from ninja import Router

from accounts.auth import cookie_auth
from chatproject.json_response import JsonAnswer
from chatproject.schemas import error_responses
from messaging import receipts, selectors, sending
from messaging.schemas import ContactOut, MessageOut, ReadIn, ReadOut, SendIn, SentMessageOut

router = Router(tags=["messages"], auth=cookie_auth)

# The contact list, the history page and the send answer skip Ninja's response validation (the
# same bytes): 500 contacts took ~20 ms to validate.
CONTACTS_JSON = JsonAnswer(list[ContactOut])
HISTORY_JSON = JsonAnswer(list[MessageOut])
SENT_JSON = JsonAnswer(SentMessageOut)

MARKED_READ = "Messages marked as read"
SEND_ERRORS = error_responses(400, 401, 403, 404, 413, 429, 503)
SEND_DESCRIPTION = (
    "`text` and/or `image` (a data URL or base64) and/or `attachmentId` (a file uploaded with"
    " `POST /api/conversations/<id>/attachments`). 201 for a new message; 200 when a retried"
    " `clientId` returns the first one, so a retry never duplicates. `replyTo` (optional): the"
    " id of a message of the same conversation it answers (400 when it is not one you can see,"
    " deleted, or a system line). 429 (with `Retry-After`) when sending too fast; 503 when"
    " image storage is unavailable."
)


@router.get(
    "users",
    response={200: list[ContactOut], **error_responses(401)},
    by_alias=True,
    summary="List the other people, with unread counts",
    description="Every other active user with `unreadCount` and `lastMessage`, most recent"
    " conversation first.",
)
def users(request: HttpRequest) -> HttpResponse:
    return CONTACTS_JSON.response(request, selectors.user_contacts(user=request.auth))


@router.get(
    "{user_id}",
    response={200: list[MessageOut], **error_responses(400, 401, 404)},
    by_alias=True,
    summary="Read the conversation with a user",
    description="The newest `limit` messages (1-100, default 50), oldest first; `before=<id>`"
    " pages back, `after=<id>` catches up (not both: 400). 404 for an unknown user or cursor.",
)
def history(
    request: HttpRequest,
    user_id: str,
    before: str | None = None,
    after: str | None = None,
    limit: str | None = None,
) -> HttpResponse:
    page = selectors.message_history(
        user=request.auth, other_id=user_id, before=before, after=after, limit=limit
    )
    return HISTORY_JSON.response(request, page)


async def _send(request: HttpRequest, user_id: str, body: SendIn) -> HttpResponse:
    if body.image:
        # Pictures are decoded in a thread (bounded by the image slots), then stored like text.
        sent = await sync_to_async(sending.message_send)(
            sender=request.auth,
            receiver_id=user_id,
            text=body.text,
            image=body.image,
            client_id=body.clientId,
            reply_to=body.replyTo,
            attachment_id=body.attachmentId,
        )
    else:
        # Text stays on the event loop: the database writer does the rest (the hot path).
        sent = await sending.message_send_async(
            sender_id=request.auth.pk,
            receiver_id=user_id,
            text=body.text,
            client_id=body.clientId,
            reply_to=body.replyTo,
            attachment_id=body.attachmentId,
        )
    # 201 for a new message, 200 when a retried clientId returns the first one.
    return SENT_JSON.response(request, sent.payload, 201 if sent.created else 200)


# The old README documented `send/<id>`, the old client posts to `<id>`: both are served.
@router.post(
    "send/{user_id}",
    response={200: SentMessageOut, 201: SentMessageOut, **SEND_ERRORS},
    by_alias=True,
    summary="Send a message to a user (older path)",
    description=SEND_DESCRIPTION,
)
async def send_legacy(request: HttpRequest, user_id: str, body: SendIn) -> HttpResponse:
    return await _send(request, user_id, body)


@router.post(
    "{user_id}",
    response={200: SentMessageOut, 201: SentMessageOut, **SEND_ERRORS},
    by_alias=True,
    summary="Send a message to a user",
    description=SEND_DESCRIPTION,
)
async def send(request: HttpRequest, user_id: str, body: SendIn) -> HttpResponse:
    return await _send(request, user_id, body)


@router.post(
    "{user_id}/read",
    response={200: ReadOut, **error_responses(400, 401, 403, 404, 413)},
    summary="Mark a conversation read up to a message",
    description="Marks the user's messages to you read (and delivered) up to `upTo`, which must"
    " be a message of this conversation (404 otherwise); they hear `messagesRead`.",
)
def read(request: HttpRequest, user_id: str, body: ReadIn) -> dict:
    updated = receipts.messages_mark_read(reader=request.auth, other_id=user_id, up_to=body.upTo)
    return {"message": MARKED_READ, "updated": updated}
