"""`/api/users/search`, `/api/blocks`, `/api/messages/<id>/report` (docs/SAFETY.md). Each
endpoint calls one selector or service."""

from django.http import HttpRequest
from ninja import Router, Status

from accounts.auth import cookie_auth
from accounts.selectors import iso
from chatproject.errors import ServiceError
from chatproject.schemas import error_responses
from safety import selectors, services
from safety.models import Block, Report
from safety.schemas import (
    BlockedUserOut,
    BlockIn,
    DirectoryUserOut,
    ReportIn,
    ReportOut,
    UnblockedOut,
)

users_router = Router(tags=["people"], auth=cookie_auth)
blocks_router = Router(tags=["blocks"], auth=cookie_auth)
reports_router = Router(tags=["reports"], auth=cookie_auth)

NOT_BLOCKED = "You do not block this person"


@users_router.get(
    "search",
    response={200: list[DirectoryUserOut], **error_responses(400, 401)},
    by_alias=True,
    summary="Find people to chat with",
    description="`q`: a name or an email (1-100 characters, 400 otherwise). An exact email finds"
    " any active person; other matches (name or email containing `q`, case ignored) come from"
    " everyone when `DIRECTORY_VISIBLE=all` (the default), only from people you share a"
    " conversation with when `contacts`. Never you, never anyone in a block with you; at most"
    " 20: the exact match, then your contacts, then names starting with `q`, then by name."
    " `email` is null except for contacts and the exact match.",
)
def user_search(request: HttpRequest, q: str | None = None) -> list[dict]:
    return selectors.directory_search(user=request.auth, q=q)


def _blocked_shape(block: Block) -> dict:
    return {
        "_id": str(block.blocked_id),
        "fullName": block.blocked.full_name,
        "profilePic": selectors.image_url(block.blocked.profile_pic),
        "blockedAt": iso(block.created_at),
    }


@blocks_router.get(
    "",
    response={200: list[BlockedUserOut], **error_responses(401)},
    by_alias=True,
    summary="List the people you block",
    description="Latest first (the settings page's list, each with Unblock).",
)
def block_list(request: HttpRequest) -> list[dict]:
    return [_blocked_shape(b) for b in selectors.blocks_made_qs(user_id=request.auth.pk)]


@blocks_router.post(
    "",
    response={
        200: BlockedUserOut,
        201: BlockedUserOut,
        **error_responses(400, 401, 403, 404, 413),
    },
    by_alias=True,
    summary="Block a person",
    description="`{userId}`. 201 when blocked now, 200 when you already did (404 unknown person,"
    " 400 yourself). From then on neither of you can message the other (403), start a"
    " conversation or add the other to a group; their typing and presence stop reaching you"
    " and yours them; their direct conversation leaves your sidebar until you unblock. They"
    " are not told.",
)
def block_add(request: HttpRequest, body: BlockIn) -> Status:
    block, created = services.block_add(user=request.auth, other_id=body.userId)
    return Status(201 if created else 200, _blocked_shape(block))


@blocks_router.delete(
    "{user_id}",
    response={200: UnblockedOut, **error_responses(401, 403, 404)},
    summary="Unblock a person",
    description="200 `{userId, blocked: false}`; 404 when you do not block them. Everything"
    " works again as before.",
)
def block_remove(request: HttpRequest, user_id: str) -> dict:
    if not services.block_remove(user=request.auth, other_id=user_id):
        raise ServiceError(NOT_BLOCKED, status=404)
    return {"userId": user_id, "blocked": False}


def _report_shape(report: Report) -> dict:
    return {
        "_id": str(report.pk),
        "messageId": str(report.message_id),
        "reason": report.reason,
        "status": report.status,
        "createdAt": iso(report.created_at),
    }


@reports_router.post(
    "{message_id}/report",
    response={200: ReportOut, 201: ReportOut, **error_responses(400, 401, 403, 404, 413, 429)},
    by_alias=True,
    summary="Report a message to the moderators",
    description="`{reason, note?}`: reason is spam, harassment, hate, sexual, violence or other;"
    " note up to 500 characters. Any message you can see in a conversation you are in, but not"
    " your own, a deleted one or a system line (400); 404 otherwise. 201 for a new report; 200"
    " with the same report when yours on this message is still open. 429 (`Retry-After`) past"
    " `REPORT_RATE_PER_USER` reports per `REPORT_RATE_WINDOW`.",
)
def report(request: HttpRequest, message_id: str, body: ReportIn) -> Status:
    created_report, created = services.report_create(
        reporter=request.auth, message_id=message_id, reason=body.reason, note=body.note
    )
    return Status(201 if created else 200, _report_shape(created_report))
