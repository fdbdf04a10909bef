"""Where attachment bytes live: store, delete, open, and the URL a download is sent to.

Locally they go through the default storage under `attachments/` in MEDIA_ROOT, a folder the
public `/media/` route refuses (chatproject/urls.py): only the checked download view
(attachments/views.py) reads them. On Cloudinary they are private raw uploads, which no public
URL reaches; the download view redirects to a signed URL that lives ATTACHMENT_URL_TTL seconds.
Stored names are random: nothing the client chose names a path.
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
import uuid
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage

from chatproject.errors import ServiceError

logger = logging.getLogger(__name__)

FOLDER = "attachments"
STORAGE_DOWN = "File storage is unavailable, please try again later"
# Cloudinary takes big files in parts of at least 5 MB: one part is what an upload holds.
CLOUDINARY_PART_BYTES = 6 * 1024 * 1024
CLOUDINARY_OPTIONS = {"resource_type": "raw", "type": "private"}
ASCII_NAME_MAX = 100
_NOT_NAME_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def on_cloudinary() -> bool:
    """Whether media go to Cloudinary (the default storage's backend says so)."""
    return "cloudinary" in settings.STORAGES["default"]["BACKEND"].lower()


def ascii_name(name: str) -> str:
    """An ASCII form of a file name (Cloudinary names its downloads after the public id)."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    safe = _NOT_NAME_SAFE.sub("_", folded).strip("._")[-ASCII_NAME_MAX:].lstrip("._")
    return safe or "file"


def attachment_file_store(file: File, *, name: str) -> str:
    """Save the bytes; the storage name (local path or Cloudinary public id). 503 when the
    storage fails."""
    key = uuid.uuid4().hex
    try:
        if on_cloudinary():
            import cloudinary.uploader

            file.seek(0)
            result = cloudinary.uploader.upload_large(
                file,
                public_id=f"{FOLDER}/{key}/{ascii_name(name)}",
                chunk_size=CLOUDINARY_PART_BYTES,
                timeout=settings.CLOUDINARY_UPLOAD_TIMEOUT,
                **CLOUDINARY_OPTIONS,
            )
            return result["public_id"]
        return default_storage.save(f"{FOLDER}/{key}", file)
    except Exception as exc:  # any storage failure: disk, network, credentials, quota
        logger.warning("attachment storage failed: %s", exc)
        raise ServiceError(STORAGE_DOWN, status=503, retry_after=5) from exc


def attachment_files_delete(names: list[str]) -> None:
    """Remove stored files; a storage hiccup is logged, never fatal."""
    for name in names:
        if not name:
            continue
        try:
            if on_cloudinary():
                import cloudinary.uploader

                cloudinary.uploader.destroy(
                    name,
                    invalidate=True,
                    timeout=settings.CLOUDINARY_UPLOAD_TIMEOUT,
                    **CLOUDINARY_OPTIONS,
                )
            else:
                default_storage.delete(name)
        except Exception as exc:  # the file stays; the row that named it is gone
            logger.warning("could not delete stored attachment %s: %s", name, exc)


def attachment_file_open(name: str) -> IO[bytes]:
    """The stored bytes, for the local download (the caller closes it)."""
    return default_storage.open(name, "rb")


def attachment_file_signed_url(name: str) -> str:
    """A Cloudinary URL that downloads the private file for ATTACHMENT_URL_TTL seconds."""
    import cloudinary.utils

    options: dict[str, Any] = {
        **CLOUDINARY_OPTIONS,
        "attachment": True,
        "expires_at": int(time.time()) + settings.ATTACHMENT_URL_TTL,
    }
    return cloudinary.utils.private_download_url(name, "", **options)
