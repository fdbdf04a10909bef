"""Writes for messaging: deletion and purging (sending: sending.py; receipts: receipts.py)."""

from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet

from chatproject.images import images_delete
from messaging import selectors
from messaging.models import Message

DELETE_BATCH = 500


def messages_delete(*, messages: QuerySet[Message]) -> tuple[int, int]:
    """Delete messages and, once the deletion commits, their stored images.

    Returns (messages deleted, images deleted). Rows go by primary key in batches, so a
    queryset filtered across relations (admin search) deletes on MongoDB too, where a delete
    may only touch one collection.
    """
    deleted, images = 0, []
    with transaction.atomic():
        while batch := list(messages.order_by("id").values_list("pk", "image")[:DELETE_BATCH]):
            count, _ = selectors.messages_by_ids_qs([pk for pk, _ in batch]).delete()
            if not count:
                break  # nothing more can go; never loop on rows that will not delete
            deleted += count
            images += [image for _, image in batch if image]
        transaction.on_commit(lambda: images_delete(images))
    return deleted, len(images)


def messages_purge(*, older_than: datetime, dry_run: bool = False) -> tuple[int, int]:
    """Delete every message created before `older_than` with its image, or only count them.

    Returns (messages, images) deleted, or that would be.
    """
    old = selectors.messages_older_than_qs(older_than=older_than)
    if dry_run:
        return old.count(), old.exclude(image="").count()
    return messages_delete(messages=old)
