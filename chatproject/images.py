"""Checking and storing user images (avatars and chat images).

Pillow decides what an upload is; only JPEG, PNG, WEBP and GIF pass, and every image is
re-encoded, which drops EXIF (GPS included) and anything smuggled after the pixels.
"""

import base64
import binascii
import io
import logging
import re
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, ImageOps

from chatproject.errors import ServiceError

logger = logging.getLogger(__name__)

ALLOWED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
# Phones often write multi-picture JPEGs (depth or gain maps); Pillow reports them as MPO.
# They are JPEGs to a browser, so they pass and are re-encoded as plain JPEG.
JPEG_LIKE = {"MPO"}
# Only these parsers ever see an upload: Pillow's other plugins (EPS, PSD, ...) are not tried.
PILLOW_FORMATS = ["JPEG", "PNG", "WEBP", "GIF"]
DATA_URL = re.compile(r"^data:(?P<mime>[\w/+.-]*)(?:;[\w=.-]+)*;base64,", re.IGNORECASE)

NOT_AN_IMAGE = "Image must be a JPEG, PNG, WEBP or GIF picture"
TOO_LARGE = "Image is too large"
TOO_MANY_PIXELS = "Image dimensions are too large"
STORAGE_DOWN = "Image storage is unavailable, please try again later"


class ImageRejected(ServiceError):
    """An upload that is not a usable image, too big, or could not be stored."""


@dataclass(frozen=True)
class CleanImage:
    content: bytes
    extension: str


def image_decode(payload: str, *, max_side: int) -> CleanImage:
    """Turn a data-URL or bare base64 string into a re-encoded, size-checked image."""
    if not isinstance(payload, str) or not payload.strip():
        raise ImageRejected(NOT_AN_IMAGE)
    match = DATA_URL.match(payload)
    encoded = payload[match.end() :] if match else payload
    encoded = "".join(encoded.split())
    if len(encoded) * 3 // 4 > settings.IMAGE_MAX_BYTES + 3:
        raise ImageRejected(TOO_LARGE, status=413)
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImageRejected(NOT_AN_IMAGE) from exc
    if len(raw) > settings.IMAGE_MAX_BYTES:
        raise ImageRejected(TOO_LARGE, status=413)
    return _reencode(raw, max_side=max_side)


def _reencode(raw: bytes, *, max_side: int) -> CleanImage:
    try:
        with Image.open(io.BytesIO(raw), formats=PILLOW_FORMATS) as probe:
            fmt = "JPEG" if probe.format in JPEG_LIKE else probe.format
            width, height = probe.size
    except Image.DecompressionBombError as exc:  # the header alone claims far too many pixels
        raise ImageRejected(TOO_MANY_PIXELS, status=413) from exc
    except Exception as exc:  # whatever Pillow raises on hostile bytes means "no"
        raise ImageRejected(NOT_AN_IMAGE) from exc
    if fmt not in ALLOWED_FORMATS:
        raise ImageRejected(NOT_AN_IMAGE)
    # Checked on the header, before any pixel is decoded: a tiny file can claim a huge canvas.
    if width * height > settings.IMAGE_MAX_PIXELS:
        raise ImageRejected(TOO_MANY_PIXELS, status=413)
    try:
        with Image.open(io.BytesIO(raw), formats=PILLOW_FORMATS) as img:
            img.load()
            img = ImageOps.exif_transpose(img)
            img.thumbnail((max_side, max_side))
            out = io.BytesIO()
            # Pillow writes EXIF only when asked to, so none of these saves carry it over.
            if fmt == "JPEG":
                img.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
            elif fmt == "GIF":
                img.save(out, "GIF")
            elif fmt == "WEBP":
                img.save(out, "WEBP", quality=85)
            else:
                img.save(out, "PNG", optimize=True)
    except Exception as exc:  # truncated or corrupt pixel data, odd modes
        raise ImageRejected(NOT_AN_IMAGE) from exc
    return CleanImage(content=out.getvalue(), extension=ALLOWED_FORMATS[fmt])


def image_store(image: CleanImage, *, folder: str) -> str:
    """Save through the default storage (local disk or Cloudinary); returns the storage name."""
    name = f"{folder}/{uuid.uuid4().hex}.{image.extension}"
    try:
        return default_storage.save(name, ContentFile(image.content))
    except Exception as exc:  # any storage backend failure (network, auth, quota)
        logger.warning("image storage failed: %s", exc)
        raise ImageRejected(STORAGE_DOWN, status=503) from exc


def image_url(name: str) -> str:
    """Public URL of a stored image ("" when there is none)."""
    if not name:
        return ""
    if name.startswith(("http://", "https://")):
        return name
    return default_storage.url(name)


def images_delete(names: list[str]) -> None:
    """Remove stored images; a storage hiccup is logged, never fatal."""
    for name in names:
        if not name or name.startswith(("http://", "https://")):
            continue
        try:
            default_storage.delete(name)
        except Exception as exc:  # any storage backend failure (disk, network, auth)
            logger.warning("could not delete stored image %s: %s", name, exc)
