"""`/api/conversations/`: the sidebar, direct conversations and groups, their messages and
receipts (docs/MESSAGING.md, "Conversations"). Each endpoint calls one selector or service."""

from django.http import HttpRequest, HttpResponse
from ninja import Router, Status

from accounts.auth import cookie_auth
from chatproject.errors import ServiceError
from chatproject.json_response import JsonAnswer
from chatproject.schemas import error_responses
from messaging import conversation_selectors, groups, receipts, sending
from messaging.api import MARKED_READ, SEND_DESCRIPTION, SEND_ERRORS
from messaging.direct import direct_conversation_start
from messaging.schemas import (
    ConversationCreateIn,
    ConversationDetailOut,
    ConversationMessageOut,
    ConversationOut,
    ConversationSentMessageOut,
    ConversationUpdateIn,
    LeftOut,
    MembersAddIn,
    MessageReceiptsOut,
    ReadIn,
    ReadOut,
    RoleIn,
    SendIn,
)

router = Router(tags=["conversations"], auth=cookie_auth)

DIRECT_OR_GROUP = "Give either userId (a direct conversation) or a title and memberIds (a group)"
LEFT_GROUP = "You left the group"

DETAIL = {200: ConversationDetailOut}

# The sidebar, the messages page and the send answer skip Ninja's response validation (the
# same bytes, chatproject/json_response.py).
SIDEBAR_JSON = JsonAnswer(list[ConversationOut])
MESSAGES_JSON = JsonAnswer(list[ConversationMessageOut])
SENT_JSON = JsonAnswer(ConversationSentMessageOut)


def _detail(request: HttpRequest, conversation_id: object) -> dict:
    return conversation_selectors.conversation_detail(
        user=request.auth, conversation_id=conversation_id
    )


@router.get(
    "",
    response={200: list[ConversationOut], **error_responses(401)},
    by_alias=True,
    summary="List my conversations (the sidebar)",
    description="Direct conversations and groups you are or were in, newest activity first, with"
    " `unreadCount` and `lastMessage` as you may see them (a group you left stays as it was"
    " when you left).",
)
def conversation_list(request: HttpRequest) -> HttpResponse:
    sidebar = conversation_selectors.conversation_list(user=request.auth)
    return SIDEBAR_JSON.response(request, sidebar)


@router.post(
    "",
    response={
        200: ConversationDetailOut,
        201: ConversationDetailOut,
        **error_responses(400, 401, 403, 404, 413, 503),
    },
    by_alias=True,
    summary="Start a direct conversation or create a group",
    description="`{userId}`: the direct conversation with that person, 201 when created now, 200"
    " when it existed (404 unknown or deactivated person, 400 yourself). `{title, memberIds,"
    " picture?}`: a new group (201) with you as its admin; `picture` is a data URL or base64"
    " image (413 when too large, 503 when image storage is unavailable).",
)
def conversation_create(request: HttpRequest, body: ConversationCreateIn) -> Status:
    is_direct = body.userId is not None
    if is_direct == (body.title is not None or body.memberIds is not None):
        raise ServiceError(DIRECT_OR_GROUP)
    if is_direct:
        conversation_id, created = direct_conversation_start(
            user=request.auth, other_id=body.userId
        )
    else:
        conversation_id = groups.group_create(
            creator=request.auth, title=body.title, member_ids_=body.memberIds, picture=body.picture
        ).pk
        created = True
    return Status(201 if created else 200, _detail(request, conversation_id))


@router.get(
    "{conversation_id}",
    response={**DETAIL, **error_responses(401, 404)},
    by_alias=True,
    summary="Read one conversation with its members",
    description="Members who left are listed with `leftAt`. 404 for an unknown or malformed id"
    " and for a conversation you are not in.",
)
def conversation_detail(request: HttpRequest, conversation_id: str) -> dict:
    return _detail(request, conversation_id)


@router.patch(
    "{conversation_id}",
    response={**DETAIL, **error_responses(400, 401, 403, 404, 413, 503)},
    by_alias=True,
    summary="Rename a group or change its picture",
    description="Any member: `title` (1-100 characters) and/or `picture` (a data URL or base64"
    " image). 403 once you left the group; 400 for a direct conversation.",
)
def conversation_update(request: HttpRequest, conversation_id: str, body: ConversationUpdateIn):
    groups.group_update(
        actor=request.auth, conversation_id=conversation_id, title=body.title, picture=body.picture
    )
    return _detail(request, conversation_id)


@router.post(
    "{conversation_id}/members",
    response={**DETAIL, **error_responses(400, 401, 403, 404, 413)},
    by_alias=True,
    summary="Add people to a group",
    description="Any member may add active people (404 for an unknown or deactivated one, 400 for"
    " someone already in it or past `GROUP_MAX_MEMBERS`); they read from now on.",
)
def members_add(request: HttpRequest, conversation_id: str, body: MembersAddIn) -> dict:
    groups.members_add(actor=request.auth, conversation_id=conversation_id, user_ids=body.userIds)
    return _detail(request, conversation_id)


@router.delete(
    "{conversation_id}/members/{user_id}",
    response={**DETAIL, **error_responses(400, 401, 403, 404)},
    by_alias=True,
    summary="Remove someone from a group",
    description="Admins only (403 otherwise). They keep what they had, read-only, and receive"
    " nothing more. To leave yourself, use `leave` (400).",
)
def member_remove(request: HttpRequest, conversation_id: str, user_id: str) -> dict:
    groups.member_remove(actor=request.auth, conversation_id=conversation_id, user_id=user_id)
    return _detail(request, conversation_id)


@router.post(
    "{conversation_id}/leave",
    response={200: LeftOut, **error_responses(400, 401, 403, 404)},
    summary="Leave a group",
    description="What you had stays visible to you, read-only. A group left by its last admin"
    " makes its longest-standing member admin. 403 if you already left.",
)
def group_leave(request: HttpRequest, conversation_id: str) -> dict:
    groups.group_leave(user=request.auth, conversation_id=conversation_id)
    return {"message": LEFT_GROUP}


@router.put(
    "{conversation_id}/members/{user_id}/role",
    response={**DETAIL, **error_responses(400, 401, 403, 404, 413)},
    by_alias=True,
    summary="Make a member an admin or a member again",
    description='Admins only (403 otherwise). `role` is "admin" or "member" (400 otherwise).',
)
def member_role(request: HttpRequest, conversation_id: str, user_id: str, body: RoleIn) -> dict:
    groups.member_role(
        actor=request.auth, conversation_id=conversation_id, user_id=user_id, role=body.role
    )
    return _detail(request, conversation_id)


@router.get(
    "{conversation_id}/messages",
    response={200: list[ConversationMessageOut], **error_responses(400, 401, 404)},
    by_alias=True,
    summary="Read the messages of a conversation",
    description="The newest `limit` messages (1-100, default 50), oldest first; `before=<id>`"
    " pages back, `after=<id>` catches up (not both: 400); `around=<id>` is the page centred on"
    " that message (a reply's original, a search result; alone: 400). Someone who left reads"
    " up to when they left. 404 for a conversation that isn't yours, or a cursor you may not"
    " see.",
)
def messages(
    request: HttpRequest,
    conversation_id: str,
    before: str | None = None,
    after: str | None = None,
    around: str | None = None,
    limit: str | None = None,
) -> HttpResponse:
    page = conversation_selectors.conversation_messages(
        user=request.auth,
        conversation_id=conversation_id,
        before=before,
        after=after,
        around=around,
        limit=limit,
    )
    return MESSAGES_JSON.response(request, page)


@router.post(
    "{conversation_id}/messages",
    response={200: ConversationSentMessageOut, 201: ConversationSentMessageOut, **SEND_ERRORS},
    by_alias=True,
    summary="Send a message to a conversation",
    description=SEND_DESCRIPTION + " Only its current members post (404 otherwise).",
)
def message_send(request: HttpRequest, conversation_id: str, body: SendIn) -> HttpResponse:
    sent = sending.conversation_message_send(
        sender=request.auth,
        conversation_id=conversation_id,
        text=body.text,
        image=body.image,
        client_id=body.clientId,
        reply_to=body.replyTo,
        attachment_id=body.attachmentId,
    )
    return SENT_JSON.response(request, sent.payload, 201 if sent.created else 200)


@router.post(
    "{conversation_id}/read",
    response={200: ReadOut, **error_responses(400, 401, 403, 404, 413)},
    summary="Mark a conversation read up to a message",
    description="`upTo` must be a message of this conversation that you may see (404"
    " otherwise); the others hear it (`messagesRead`, or `cursorMoved` in a group).",
)
def read(request: HttpRequest, conversation_id: str, body: ReadIn) -> dict:
    updated = receipts.conversation_mark_read(
        reader=request.auth, conversation_id=conversation_id, up_to=body.upTo
    )
    return {"message": MARKED_READ, "updated": updated}


@router.get(
    "{conversation_id}/messages/{message_id}/receipts",
    response={200: MessageReceiptsOut, **error_responses(401, 404)},
    summary="See who received and read a message",
    description="The other members whose delivered and read cursors passed the message, with"
    " the time each got there.",
)
def message_receipts(request: HttpRequest, conversation_id: str, message_id: str) -> dict:
    return conversation_selectors.message_receipts(
        user=request.auth, conversation_id=conversation_id, message_id=message_id
    )
