"""`/api/search/`: message search (docs/SEARCH.md). The endpoint calls one selector."""

from datetime import date
from typing import Literal

from django.conf import settings
from django.http import HttpRequest
from ninja import Query, Router

from accounts.auth import cookie_auth
from chatproject.errors import ServiceError
from chatproject.local_limits import local_windows
from chatproject.schemas import error_responses
from search.schemas import SearchOut
from search.selectors import Q_MAX_LENGTH, message_search

router = Router(tags=["search"], auth=cookie_auth)

TOO_MANY_SEARCHES = "You are searching too fast, please wait a moment"


def _search_limit(user_id: object) -> None:
    wait = local_windows.hit(
        f"search:{user_id}",
        limit=settings.SEARCH_RATE_PER_USER,
        window=settings.SEARCH_RATE_WINDOW,
    )
    if wait is not None:
        raise ServiceError(TOO_MANY_SEARCHES, status=429, retry_after=wait)


@router.get(
    "messages",
    response={200: SearchOut, **error_responses(400, 401, 404, 429)},
    by_alias=True,
    summary="Search my messages",
    description="Messages you may see (in conversations you are in, or were in until you left)"
    " containing every word of `q` as a word or the start of one, case and accents ignored,"
    " newest first. Deleted messages and system lines are never found. Filters:"
    " `conversationId`, `from` (a sender's user id), `has=file|image`, `since`/`until` (ISO"
    " dates, UTC, both inclusive). Page with `before=<nextBefore>`; `limit` 1-50 (20)."
    " 400 names the field at fault; 404 for a conversation you are not in.",
)
def search_messages(
    request: HttpRequest,
    q: str = Query("", max_length=Q_MAX_LENGTH, description="The words to find."),
    before: str | None = Query(None, description="A result's id: older results only."),
    limit: str | None = Query(None, description="Results per page, 1-50 (20)."),
    conversationId: str | None = Query(None, description="Only this conversation."),
    sender: str | None = Query(None, alias="from", description="Only messages from this user."),
    has: Literal["file", "image"] | None = Query(None, description="Only messages with one."),
    since: date | None = Query(None, description="From this day on (YYYY-MM-DD, UTC)."),  # noqa: B008
    until: date | None = Query(None, description="Up to this day, included (YYYY-MM-DD)."),  # noqa: B008
) -> dict:
    _search_limit(request.auth.pk)
    return message_search(
        user=request.auth,
        q=q,
        before=before,
        limit=limit,
        conversation_id=conversationId,
        sender_id=sender,
        has=has,
        since=since,
        until=until,
    )
