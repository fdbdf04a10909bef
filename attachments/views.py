"""The download: `GET /api/attachments/<id>/<name>`, checked on every request.

Only someone who may see the file's message gets it (attachments/selectors.py); anyone else,
and any unknown or malformed id, gets the same 404. Local files are streamed from storage a
piece at a time; on Cloudinary the answer is a redirect to a signed URL that expires in
ATTACHMENT_URL_TTL seconds. Either way the file is a download, never a page: `attachment`
disposition, `nosniff`, and a sandbox CSP in case a browser renders it anyway.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import IO
from urllib.parse import quote

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.views.decorators.http import require_safe

from accounts.auth import NO_TOKEN
from accounts.models import User
from accounts.tokens import atoken_user
from attachments.models import Attachment
from attachments.selectors import ATTACHMENT_NOT_FOUND, attachment_for_download
from attachments.storage import attachment_file_open, attachment_file_signed_url, on_cloudinary
from chatproject.errors import ServiceError

CHUNK_BYTES = 128 * 1024  # read from storage, and held, per step of a download
DOWNLOAD_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox",
    "Cross-Origin-Resource-Policy": "same-origin",
    # Per person, and asked again each time: access ends when the message is deleted.
    "Cache-Control": "private, no-cache",
}


def content_disposition(name: str) -> str:
    """`attachment` with the name twice: an ASCII stand-in, and the exact name in RFC 5987
    form (`filename*=UTF-8''...`), which modern browsers use. Safe for any name."""
    fallback = "".join(ch if " " <= ch <= "~" and ch not in '"\\' else "_" for ch in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


async def _requester(request: HttpRequest) -> User | None:
    """The `jwt` cookie's user, or a staff member logged in to the admin (moderation)."""
    user = await atoken_user(request.COOKIES.get(settings.JWT_COOKIE_NAME))
    if user is not None:
        return user
    session_user = await request.auser()
    return session_user if session_user.is_authenticated and session_user.is_staff else None


async def _chunks(file: IO[bytes]) -> AsyncIterator[bytes]:
    # An async iterator: Django would read a sync one whole into memory before sending it.
    read = sync_to_async(file.read, thread_sensitive=False)
    try:
        while chunk := await read(CHUNK_BYTES):
            yield chunk
    finally:
        await sync_to_async(file.close, thread_sensitive=False)()


async def _local(attachment: Attachment) -> HttpResponse:
    try:
        file = await sync_to_async(attachment_file_open, thread_sensitive=False)(
            attachment.storage_name
        )
    except FileNotFoundError:
        return JsonResponse({"message": ATTACHMENT_NOT_FOUND}, status=404)
    response = StreamingHttpResponse(_chunks(file), content_type=attachment.content_type)
    response["Content-Length"] = str(attachment.size)
    response["Content-Disposition"] = content_disposition(attachment.name)
    return response


@require_safe
async def attachment_download(request: HttpRequest, attachment_id: str, name: str) -> HttpResponse:
    user = await _requester(request)
    if user is None:
        return JsonResponse({"message": NO_TOKEN}, status=401)
    try:
        attachment = await sync_to_async(attachment_for_download)(
            user=user, attachment_id=attachment_id
        )
    except ServiceError as exc:
        return JsonResponse({"message": exc.message}, status=exc.status)
    if on_cloudinary():
        response: HttpResponse = HttpResponseRedirect(
            attachment_file_signed_url(attachment.storage_name)
        )
    else:
        response = await _local(attachment)
    for header, value in DOWNLOAD_HEADERS.items():
        response[header] = value
    if on_cloudinary():
        response["Cache-Control"] = "private, no-store"  # the signed URL expires
    return response
