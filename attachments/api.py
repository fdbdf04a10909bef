"""`POST /api/conversations/<id>/attachments`: upload a file to send (docs/MESSAGING.md,
"Attachments"). A send then names it with `attachmentId`."""

from django.http import HttpRequest
from ninja import Router, Status

from accounts.auth import cookie_auth
from attachments import services
from attachments.schemas import AttachmentOut
from attachments.shapes import attachment_public
from attachments.uploads import FILE_FIELD, upload_receive
from chatproject.schemas import error_responses

router = Router(tags=["attachments"], auth=cookie_auth)

# The body is read by attachments/uploads.py (streamed to disk, capped), not by a Ninja
# parameter, so the membership and rate checks run before any byte of it is parsed.
MULTIPART_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {FILE_FIELD: {"type": "string", "format": "binary"}},
                    "required": [FILE_FIELD],
                }
            }
        },
    }
}


@router.post(
    "{conversation_id}/attachments",
    response={201: AttachmentOut, **error_responses(400, 401, 403, 404, 413, 429, 503)},
    by_alias=True,
    summary="Upload a file to send in a conversation",
    description="Multipart `file`, up to `ATTACHMENT_MAX_BYTES`. Its type is decided from its"
    " content and must be one of `ATTACHMENT_TYPES`; programs, scripts, HTML, SVG and XML are"
    " refused (400). Then send a message with `attachmentId` set to the answer's `_id`. 404"
    " for a conversation you were never in, 403 once you left; 429 with `Retry-After`; 503 with"
    " `Retry-After` when storage is down or too many files are being uploaded at once.",
    openapi_extra=MULTIPART_BODY,
)
def attachment_upload(request: HttpRequest, conversation_id: str) -> Status:
    conversation_pk = services.attachment_upload_check(
        uploader=request.auth, conversation_id=conversation_id
    )
    attachment = services.attachment_upload(
        uploader=request.auth, conversation_id=conversation_pk, file=upload_receive(request)
    )
    return Status(201, attachment_public(attachment))
