"""Checking and storing user images (avatars and chat images).

Pillow decides what an upload is; only JPEG, PNG, WEBP and GIF pass, and every image is
re-encoded, which drops EXIF (GPS included) and anything smuggled after the pixels. An
animation keeps its first frame only.

Memory is bounded twice: a few decodes at a time per process (`chatproject.image_slots`), and
each decode within IMAGE_DECODE_MAX_PIXELS of what it will hold, estimated from the header
before any pixel is decoded (`chatproject.image_cost`). JPEGs are decoded already scaled down.
"""

import binascii
import io
import logging
import re
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, ImageOps

from chatproject.errors import ServiceError
from chatproject.image_cost import decode_cost
from chatproject.image_slots import decode_slot

logger = logging.getLogger(__name__)

ALLOWED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
# Phones often write multi-picture JPEGs (depth or gain maps); Pillow reports them as MPO.
# They are JPEGs to a browser, so they pass and are re-encoded as plain JPEG.
JPEG_LIKE = {"MPO"}
# Only these parsers ever see an upload: Pillow's other plugins (EPS, PSD, ...) are not tried.
PILLOW_FORMATS = ["JPEG", "PNG", "WEBP", "GIF"]
DATA_URL = re.compile(r"^data:(?P<mime>[\w/+.-]*)(?:;[\w=.-]+)*;base64,", re.IGNORECASE)
ASCII_WHITESPACE = " \t\n\r\x0b\x0c"
BASE64_STEP = 1 << 18  # characters decoded at a time (a multiple of 4): under 1 ms of GIL each

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
    """Turn a data-URL or bare base64 string into a re-encoded, size-checked image.

    Everything after the first look at the text runs in one of this process's decode slots
    (`chatproject.image_slots`): uploads waiting for a slot hold no decoded bytes or pixels.
    """
    if not isinstance(payload, str) or not payload or payload.isspace():
        raise ImageRejected(NOT_AN_IMAGE)
    with decode_slot():
        return _reencode(_raw_file(payload), max_side=max_side)


def _raw_file(payload: str) -> io.BytesIO:
    """The file inside a data URL or base64 text, within IMAGE_MAX_BYTES, ready to read."""
    match = DATA_URL.match(payload)
    encoded = payload[match.end() :] if match else payload
    # Line-wrapped base64 (MIME style) is accepted. `in` scans at memchr speed; a regular
    # expression over megabytes of text would hold the GIL (and stall chat) for tens of ms.
    if any(space in encoded for space in ASCII_WHITESPACE):
        encoded = "".join(encoded.split())
    if len(encoded) * 3 // 4 > settings.IMAGE_MAX_BYTES + 3:
        raise ImageRejected(TOO_LARGE, status=413)
    raw = io.BytesIO()
    try:
        # In steps, so other threads (chat requests) get the GIL between them.
        for start in range(0, len(encoded), BASE64_STEP):
            raw.write(binascii.a2b_base64(encoded[start : start + BASE64_STEP], strict_mode=True))
    except ValueError as exc:  # binascii.Error, or text that is not ASCII
        raise ImageRejected(NOT_AN_IMAGE) from exc
    if raw.tell() > settings.IMAGE_MAX_BYTES:
        raise ImageRejected(TOO_LARGE, status=413)
    raw.seek(0)
    return raw


def _fitted(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """`size` scaled down (never up) so its longest side is at most `max_side`."""
    width, height = size
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _reencode(raw: io.BytesIO, *, max_side: int) -> CleanImage:
    try:
        img = Image.open(raw, formats=PILLOW_FORMATS)
    except Image.DecompressionBombError as exc:  # the header alone claims far too many pixels
        raise ImageRejected(TOO_MANY_PIXELS, status=413) from exc
    except Exception as exc:  # whatever Pillow raises on hostile bytes means "no"
        raise ImageRejected(NOT_AN_IMAGE) from exc
    # Closing the image frees its pixels at once, whatever happens below.
    with img:
        fmt = "JPEG" if img.format in JPEG_LIKE else img.format
        if fmt not in ALLOWED_FORMATS:
            raise ImageRejected(NOT_AN_IMAGE)
        # Checked on the header, before any pixel is decoded: a tiny file can claim a huge canvas.
        source_size = img.size
        if source_size[0] * source_size[1] > settings.IMAGE_MAX_PIXELS:
            raise ImageRejected(TOO_MANY_PIXELS, status=413)
        # A JPEG is decoded straight at 1/2, 1/4 or 1/8 scale when that still covers the
        # output; other formats ignore the draft and decode at full size.
        img.draft(None, _fitted(source_size, max_side))
        if decode_cost(img, raw, source_size) > settings.IMAGE_DECODE_MAX_PIXELS:
            raise ImageRejected(TOO_MANY_PIXELS, status=413)
        return _encode(img, fmt, max_side=max_side)


def _encode(img: Image.Image, fmt: str, *, max_side: int) -> CleanImage:
    """Decode (only the first frame of an animation), scale, rotate and write `img` as `fmt`."""
    # Into a real file: Pillow then encodes without holding the GIL (into memory, an optimized
    # JPEG holds it for ~0.1 s, stalling every other request meanwhile).
    with tempfile.TemporaryFile() as out:
        try:
            # thumbnail() decodes, reduce()s by a whole factor, then resamples, all in place:
            # the full-size pixels are dropped as soon as the reduced copy exists.
            img.thumbnail((max_side, max_side))
            ImageOps.exif_transpose(img, in_place=True)  # on the small picture: no big copy
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
        out.seek(0)
        return CleanImage(content=out.read(), extension=ALLOWED_FORMATS[fmt])


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


@contextmanager
def images_deleted_on_error(names: list[str]) -> Iterator[None]:
    """Delete freshly stored images again if the block that records them fails.

    Wrap the database write (the `transaction.atomic()` block) that makes a row point at them:
    when it raises, no row does, and the files must not outlive the request.
    """
    try:
        yield
    except BaseException:
        images_delete(names)
        raise
