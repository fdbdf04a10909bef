"""Reads for attachments: the files of messages (one query per page) and who may download one.

Every query is built by a `*_qs` function that tests/test_mongo_compile.py compiles for
MongoDB; none joins.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from accounts.models import User
from attachments.models import Attachment
from attachments.shapes import attachment_public
from chatproject.errors import ServiceError
from chatproject.ids import parse_pk
from messaging.models import Membership, Message

ATTACHMENT_NOT_FOUND = "File not found"
# Staff with this permission (moderators, in the admin) may download any attachment.
MODERATOR_PERMISSION = "attachments.view_attachment"


# --- Query builders ---------------------------------------------------------------------------


def attachment_qs(*, attachment_id: Any) -> QuerySet[Attachment]:
    return Attachment.objects.filter(pk=attachment_id)


def attachments_of_messages_qs(*, message_ids: list[Any]) -> QuerySet[Attachment]:
    return Attachment.objects.filter(message_id__in=message_ids).order_by()


def attachments_in_qs(*, conversation_ids: list[Any]) -> QuerySet[Attachment]:
    return Attachment.objects.filter(conversation_id__in=conversation_ids).order_by()


def unsent_before_qs(*, created_before: datetime) -> QuerySet[Attachment]:
    """Uploads never sent, made before that time (the sweep's)."""
    return Attachment.objects.filter(message__isnull=True, created_at__lt=created_before)


def member_window_qs(*, conversation_id: Any, user_id: Any) -> QuerySet[Membership]:
    return Membership.objects.filter(conversation_id=conversation_id, user_id=user_id)


def message_seq_qs(*, conversation_id: Any, message_id: Any) -> QuerySet:
    return Message.objects.filter(conversation_id=conversation_id, pk=message_id).values_list(
        "seq", flat=True
    )


# --- Reads ------------------------------------------------------------------------------------


def files_by_message(message_ids: list[Any]) -> dict[Any, dict[str, Any]]:
    """The `file` JSON of each of these messages that carries one: one query, none for none."""
    if not message_ids:
        return {}
    return {
        attachment.message_id: attachment_public(attachment)
        for attachment in attachments_of_messages_qs(message_ids=message_ids)
    }


def attachment_for_download(*, user: User, attachment_id: object) -> Attachment:
    """The attachment, if `user` may download it; 404 otherwise, as for an unknown id.

    Whoever may see its message may: a member whose window holds it (one who left keeps what
    they could see). An upload not sent yet is its uploader's alone. Moderators (staff with
    MODERATOR_PERMISSION) may download any.
    """
    # messaging.selectors imports this module (for the pages' files): imported when used.
    from messaging.selectors import membership_sees

    pk = parse_pk(Attachment, attachment_id)
    attachment = attachment_qs(attachment_id=pk).first() if pk is not None else None
    if attachment is None:
        raise ServiceError(ATTACHMENT_NOT_FOUND, status=404)
    if user.is_staff and user.has_perm(MODERATOR_PERMISSION):
        return attachment
    if attachment.message_id is None:
        if attachment.uploader_id != user.pk:
            raise ServiceError(ATTACHMENT_NOT_FOUND, status=404)
        return attachment
    member = member_window_qs(conversation_id=attachment.conversation_id, user_id=user.pk).first()
    seq = (
        message_seq_qs(
            conversation_id=attachment.conversation_id, message_id=attachment.message_id
        ).first()
        if member is not None
        else None
    )
    if seq is None or not membership_sees(member, seq):
        raise ServiceError(ATTACHMENT_NOT_FOUND, status=404)
    return attachment
