"""The JSON shape of an attachment (pure: no queries)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from attachments.models import Attachment

DOWNLOAD_PREFIX = "/api/attachments/"


def attachment_url(attachment: Attachment) -> str:
    """The checked download path (attachments/views.py); the name is only there for people
    and for the browser's "save as", the id decides."""
    return f"{DOWNLOAD_PREFIX}{attachment.pk}/{quote(attachment.name, safe='')}"


def attachment_public(attachment: Attachment) -> dict[str, Any]:
    """`{_id, name, size, type, url}`: `name` is the sender's (cleaned), `type` what the bytes
    are, `url` where members download it."""
    return {
        "_id": str(attachment.pk),
        "name": attachment.name,
        "size": attachment.size,
        "type": attachment.content_type,
        "url": attachment_url(attachment),
    }
