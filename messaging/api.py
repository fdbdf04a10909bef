"""`/api/messages/`: contacts, history, sending and read receipts (see shared/API.md)."""

from django.http import HttpRequest
from ninja import Router, Status

from accounts.auth import cookie_auth
from messaging import receipts, selectors, sending
from messaging.schemas import ContactOut, MessageOut, ReadIn, ReadOut, SendIn, SentMessageOut

router = Router(tags=["messages"], auth=cookie_auth)

MARKED_READ = "Messages marked as read"


@router.get("users", response=list[ContactOut], by_alias=True)
def users(request: HttpRequest) -> list[dict]:
    return selectors.user_contacts(user=request.auth)


@router.get("{user_id}", response=list[MessageOut], by_alias=True)
def history(
    request: HttpRequest,
    user_id: str,
    before: str | None = None,
    after: str | None = None,
    limit: str | None = None,
) -> list[dict]:
    return selectors.message_history(
        user=request.auth, other_id=user_id, before=before, after=after, limit=limit
    )


def _send(request: HttpRequest, user_id: str, body: SendIn) -> Status:
    message, created = sending.message_send(
        sender=request.auth,
        receiver_id=user_id,
        text=body.text,
        image=body.image,
        client_id=body.clientId,
    )
    # 201 for a new message, 200 when a retried clientId returns the first one.
    return Status(201 if created else 200, selectors.message_event(message))


# The old README documented `send/<id>`, the old client posts to `<id>`: both are served.
@router.post("send/{user_id}", response={200: SentMessageOut, 201: SentMessageOut}, by_alias=True)
def send_legacy(request: HttpRequest, user_id: str, body: SendIn) -> Status:
    return _send(request, user_id, body)


@router.post("{user_id}", response={200: SentMessageOut, 201: SentMessageOut}, by_alias=True)
def send(request: HttpRequest, user_id: str, body: SendIn) -> Status:
    return _send(request, user_id, body)


@router.post("{user_id}/read", response=ReadOut)
def read(request: HttpRequest, user_id: str, body: ReadIn) -> dict:
    updated = receipts.messages_mark_read(reader=request.auth, other_id=user_id, up_to=body.upTo)
    return {"message": MARKED_READ, "updated": updated}
