"""Writes for attachments: upload, attach to the message that sends it, delete, sweep.

The upload stores the file and a row without a message; a send (messaging/sending.py) names
the row's id and `attachment_attach` points it at the new message in the same write. Files
leave storage only after the rows that name them are gone (`transaction.on_commit`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import QuerySet

from accounts.models import User
from attachments import selectors
from attachments.checks import clean_name, file_type, name_for_type
from attachments.models import Attachment
from attachments.shapes import attachment_public
from attachments.storage import attachment_file_store, attachment_files_delete
from chatproject.errors import ServiceError
from chatproject.ids import parse_pk
from chatproject.ratelimit import rate_limit_hit

TOO_MANY_UPLOADS = "You are uploading files too fast, please wait a moment"
NOT_A_MEMBER_NOW = "You are no longer in this conversation"
ATTACHMENT_UNAVAILABLE = "This file cannot be sent: upload it again"

DELETE_BATCH = 500


def _unavailable() -> ServiceError:
    return ServiceError(ATTACHMENT_UNAVAILABLE, errors={"attachmentId": [ATTACHMENT_UNAVAILABLE]})


# --- Upload -----------------------------------------------------------------------------------


def attachment_upload_check(*, uploader: User, conversation_id: object) -> Any:
    """Before the body is read: the uploader is within the upload limit (429) and a current
    member of the conversation (404 never one, 403 no longer). The conversation's pk."""
    from messaging.conversation_selectors import conversation_mine

    wait = rate_limit_hit(
        f"attachment-upload:{uploader.pk}",
        limit=settings.ATTACHMENT_RATE_PER_USER,
        window=settings.ATTACHMENT_RATE_WINDOW,
    )
    if wait is not None:
        raise ServiceError(TOO_MANY_UPLOADS, status=429, retry_after=wait)
    conversation, mine = conversation_mine(user=uploader, conversation_id=conversation_id)
    if not mine.active:
        raise ServiceError(NOT_A_MEMBER_NOW, status=403)
    return conversation.pk


def attachment_upload(*, uploader: User, conversation_id: Any, file: UploadedFile) -> Attachment:
    """Check the file (type from its bytes, 400 when refused), store it (503 when storage is
    down) and record it, not sent yet: only its uploader sees it until a send carries it."""
    name = clean_name(file.name)
    content_type = file_type(file, name=name)
    name = name_for_type(name, content_type)
    size = file.size
    storage_name = attachment_file_store(file, name=name)
    try:
        return Attachment.objects.create(
            conversation_id=conversation_id,
            uploader=uploader,
            storage_name=storage_name,
            name=name,
            size=size,
            content_type=content_type,
        )
    except BaseException:
        attachment_files_delete([storage_name])  # no row names it: it must not stay
        raise


# --- Sending (runs inside the send's write: messaging/sending.py) ----------------------------


def attachment_pk(value: object) -> Any:
    """The pk an `attachmentId` names (None when absent); 400 when it cannot name one."""
    if value is None or value == "":
        return None
    pk = parse_pk(Attachment, value)
    if pk is None:
        raise _unavailable()
    return pk


def attachment_for_send(*, attachment_id: Any, sender_id: Any, conversation_id: Any) -> Attachment:
    """The upload a send carries: the sender's own, in this conversation, not sent yet; 400
    otherwise (the same answer for each, so nobody learns of another's uploads)."""
    attachment = selectors.attachment_qs(attachment_id=attachment_id).first()
    if (
        attachment is None
        or attachment.uploader_id != sender_id
        or attachment.conversation_id != conversation_id
        or attachment.message_id is not None
    ):
        raise _unavailable()
    return attachment


def attachment_attach(*, attachment: Attachment, message_id: Any) -> dict[str, Any]:
    """Point the upload at its message (in the send's transaction); the message's `file`
    JSON. 400 when another send took it first (the caller's transaction then undoes the
    message; on MongoDB, which has none, that race leaves the message without its file)."""
    taken = Attachment.objects.filter(
        pk=attachment.pk, message__isnull=True, uploader_id=attachment.uploader_id
    ).update(message_id=message_id)
    if not taken:
        raise _unavailable()
    attachment.message_id = message_id
    return attachment_public(attachment)


# --- Deleting ---------------------------------------------------------------------------------


def _delete(attachments: QuerySet[Attachment]) -> int:
    """Delete these rows now and their files once that commits. Rows go by pk in batches, so
    a queryset filtered across relations (the admin's) deletes on MongoDB too."""
    deleted, names = 0, []
    with transaction.atomic():
        while batch := list(
            attachments.order_by("pk").values_list("pk", "storage_name")[:DELETE_BATCH]
        ):
            count, _ = Attachment.objects.filter(pk__in=[pk for pk, _ in batch]).delete()
            if not count:
                break  # never loop on rows that will not delete
            deleted += count
            names += [name for _, name in batch]
        transaction.on_commit(lambda: attachment_files_delete(names))
    return deleted


def attachments_delete(
    *, message_ids: Sequence[Any] = (), conversation_ids: Sequence[Any] = ()
) -> int:
    """Delete the files of these messages (delete for everyone, purges, the admin), and every
    upload to these conversations (deleted conversations): the rows now, the stored bytes
    after the commit. How many went."""
    deleted = 0
    if message_ids:
        deleted += _delete(selectors.attachments_of_messages_qs(message_ids=list(message_ids)))
    if conversation_ids:
        deleted += _delete(selectors.attachments_in_qs(conversation_ids=list(conversation_ids)))
    return deleted


def attachments_remove(*, attachments: QuerySet[Attachment]) -> int:
    """Delete these attachments (the admin's delete), their files after the commit."""
    return _delete(attachments)


def attachments_sweep(*, created_before: datetime, dry_run: bool = False) -> int:
    """Delete uploads never sent that were made before `created_before` (or only count them)."""
    unsent = selectors.unsent_before_qs(created_before=created_before)
    if dry_run:
        return unsent.count()
    return _delete(unsent)
