"""`/api/conversations/<id>/mute`: mute or unmute a conversation for yourself."""

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import StrictBool

from accounts.auth import cookie_auth
from chatproject.schemas import error_responses
from messaging.muting import conversation_mute

router = Router(tags=["conversations"], auth=cookie_auth)


class MuteIn(Schema):
    muted: StrictBool | None = None


class MuteOut(Schema):
    conversationId: str
    muted: bool


@router.post(
    "{conversation_id}/mute",
    response={200: MuteOut, **error_responses(400, 401, 403, 404, 413)},
    summary="Mute or unmute a conversation",
    description="`{muted: true|false}` (400 otherwise). A muted conversation still updates but"
    " does not notify, and its unread count is shown quietly; the conversation JSON carries"
    " `muted`. Your other tabs hear `conversationMuted`. 404 for a conversation you were never in.",
)
def mute(request: HttpRequest, conversation_id: str, body: MuteIn) -> dict:
    return conversation_mute(user=request.auth, conversation_id=conversation_id, muted=body.muted)
