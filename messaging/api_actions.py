"""Message actions at `/api/conversations/<id>/messages/<messageId>`: edit, delete for everyone,
react (docs/MESSAGING.md, "Message actions"). Each endpoint calls one service."""

from django.http import HttpRequest
from ninja import Router

from accounts.auth import cookie_auth
from chatproject.schemas import error_responses
from messaging import editing, reactions
from messaging.schemas import ConversationMessageOut, MessageEditIn, ReactionIn, ReactionsOut

router = Router(tags=["message actions"], auth=cookie_auth)

MESSAGE = "{conversation_id}/messages/{message_id}"


@router.patch(
    MESSAGE,
    response={200: ConversationMessageOut, **error_responses(400, 401, 403, 404, 413, 429, 503)},
    by_alias=True,
    summary="Edit one of your messages",
    description="`{text}`, checked like a send (400 empty or over 5,000 characters; a picture"
    " may lose its caption). Answers the Message with `editedAt`; every member hears"
    " `messageUpdated`. 403 for someone else's message, a system line, or once you left; 400"
    " for a deleted message; 429 (`Retry-After`) when editing too fast.",
)
def message_edit(
    request: HttpRequest, conversation_id: str, message_id: str, body: MessageEditIn
) -> dict:
    return editing.message_edit(
        editor=request.auth, conversation_id=conversation_id, message_id=message_id, text=body.text
    )


@router.delete(
    MESSAGE,
    response={200: ConversationMessageOut, **error_responses(401, 403, 404, 503)},
    by_alias=True,
    summary="Delete one of your messages for everyone",
    description="Answers the tombstone: `deletedAt` set, `text`, `image` and `replyTo` null,"
    " no reactions; the message keeps its place (`seq`) and its picture file is removed. Every"
    " member hears `messageDeleted`. A repeat answers the same tombstone. 403 for someone"
    " else's message, a system line, or once you left.",
)
def message_delete(request: HttpRequest, conversation_id: str, message_id: str) -> dict:
    return editing.message_delete(
        actor=request.auth, conversation_id=conversation_id, message_id=message_id
    )


@router.post(
    f"{MESSAGE}/reactions",
    response={200: ReactionsOut, **error_responses(400, 401, 403, 404, 413, 429, 503)},
    summary="Add or take back a reaction",
    description="`{emoji}`: one emoji (skin tones, flags and joined ones included), added, or"
    " taken back if it was yours already. Answers the message's whole list; every member hears"
    " `reactionChanged`. 400 for anything but one emoji, past `REACTIONS_MAX_KINDS` different"
    " emoji, or on a deleted message; 403 once you left; 429 (`Retry-After`) when too fast.",
)
def reaction_toggle(
    request: HttpRequest, conversation_id: str, message_id: str, body: ReactionIn
) -> dict:
    return reactions.reaction_toggle(
        user=request.auth, conversation_id=conversation_id, message_id=message_id, emoji=body.emoji
    )
