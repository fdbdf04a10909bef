"""Receiving an uploaded file: streamed to a temporary file on disk, capped at ATTACHMENT_MAX_BYTES.

Django's default handlers keep a small file in memory and stop nowhere; here every file goes
to disk as it is parsed (64 KB at a time), a body whose Content-Length already says "too big"
is not parsed at all, and parsing stops at the first byte over the limit.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler
from django.http import HttpRequest, QueryDict
from django.http.multipartparser import MultiPartParserError
from django.utils.datastructures import MultiValueDict

from chatproject.errors import ServiceError

FILE_FIELD = "file"
FILE_REQUIRED = "Send the file as multipart/form-data in a field named file"
FILE_TOO_LARGE = "The file is too large"
# Room for the part headers and boundaries around the file in a multipart body.
MULTIPART_OVERHEAD = 64 * 1024


class CappedUploadHandler(TemporaryFileUploadHandler):
    """Every file to a temporary file; `too_large` once the files pass `limit` bytes."""

    def __init__(self, request: HttpRequest, *, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.received = 0
        self.too_large = False

    def handle_raw_input(
        self,
        input_data: Any,
        META: dict[str, Any],  # noqa: N803 - Django's signature
        content_length: int,
        boundary: bytes,
        encoding: str | None = None,
    ) -> tuple[QueryDict, MultiValueDict] | None:
        if content_length > self.limit + MULTIPART_OVERHEAD:
            self.too_large = True
            return QueryDict(), MultiValueDict()  # nothing is parsed
        return None

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > self.limit:
            self.too_large = True
            # Under ASGI the body is on disk already: no need to read the rest of it.
            raise StopUpload(connection_reset=True)
        return super().receive_data_chunk(raw_data, start)


def upload_receive(request: HttpRequest) -> UploadedFile:
    """The `file` part of a multipart request, on disk; 400 when there is none, 413 when the
    files are bigger than ATTACHMENT_MAX_BYTES."""
    if request.content_type != "multipart/form-data":
        raise ServiceError(FILE_REQUIRED, errors={FILE_FIELD: [FILE_REQUIRED]})
    handler = CappedUploadHandler(request, limit=settings.ATTACHMENT_MAX_BYTES)
    request.upload_handlers = [handler]
    try:
        files = request.FILES
    except (MultiPartParserError, RequestDataTooBig, SuspiciousOperation) as exc:
        raise ServiceError(FILE_REQUIRED, errors={FILE_FIELD: [FILE_REQUIRED]}) from exc
    if handler.too_large:
        raise ServiceError(FILE_TOO_LARGE, status=413, errors={FILE_FIELD: [FILE_TOO_LARGE]})
    upload = files.get(FILE_FIELD)
    if upload is None:
        raise ServiceError(FILE_REQUIRED, errors={FILE_FIELD: [FILE_REQUIRED]})
    return upload
