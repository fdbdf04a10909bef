"""Writes for messaging: deleting messages for good and conversations, purging (sending:
sending.py; receipts: receipts.py; group membership: groups.py; editing and deleting a message
for everyone: editing.py; reactions: reactions.py)."""

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from attachments.services import attachments_delete
from chatproject.images import images_delete
from messaging import realtime, selectors
from messaging.members import member_ids
from messaging.models import Conversation, Message

DELETE_BATCH = 500


def messages_delete(*, messages: QuerySet[Message]) -> tuple[int, int]:
    """Delete messages and, once the deletion commits, their stored images and files.

    Returns (messages deleted, images deleted). Rows go by primary key in batches, so a
    queryset filtered across relations (admin search) deletes on MongoDB too, where a delete
    may only touch one collection. Conversations whose last message went point at the newest
    one left (their sidebar row follows).
    """
    deleted, images, touched = 0, [], set()
    with transaction.atomic():
        while batch := list(
            messages.order_by("id").values_list("pk", "image", "conversation_id")[:DELETE_BATCH]
        ):
            _, per_model = selectors.messages_by_ids_qs([pk for pk, _, _ in batch]).delete()
            # Not the total: reactions and edit histories go with their messages.
            count = per_model.get(Message._meta.label, 0)
            if not count:
                break  # nothing more can go; never loop on rows that will not delete
            deleted += count
            attachments_delete(message_ids=[pk for pk, _, _ in batch])
            images += [image for _, image, _ in batch if image]
            touched |= {conversation_id for _, _, conversation_id in batch}
        conversations_point_at_newest(touched)
        transaction.on_commit(lambda: images_delete(images))
    return deleted, len(images)


def conversations_point_at_newest(conversation_ids: set[Any]) -> None:
    """Repair `last_message` after deletions (`last_seq` stays: seqs are never reused)."""
    for conversation in selectors.conversations_by_ids_qs(list(conversation_ids)):
        newest = selectors.conversation_page_qs(conversation_id=conversation.pk, limit=1).first()
        if newest is None or newest.pk != conversation.last_message_id:
            Conversation.objects.filter(pk=conversation.pk).update(
                last_message_id=newest.pk if newest else None,
                last_message_at=newest.created_at if newest else None,
            )


def conversations_delete(*, conversations: QuerySet[Conversation]) -> int:
    """Delete conversations with their messages (and images), and tell their members."""
    doomed = list(conversations.values_list("pk", flat=True))
    told = {pk: member_ids(pk) for pk in doomed}
    with transaction.atomic():
        for pk in doomed:
            messages_delete(messages=Message.objects.filter(conversation_id=pk))
        attachments_delete(conversation_ids=doomed)  # uploads never sent
        deleted = (
            Conversation.objects.filter(pk__in=doomed).delete()[1].get(Conversation._meta.label, 0)
        )
        for pk, users in told.items():
            realtime.notify_users(users, "conversationDeleted", {"conversationId": str(pk)})
    return deleted


def messages_purge(*, older_than: datetime, dry_run: bool = False) -> tuple[int, int]:
    """Delete every message created before `older_than` with its image and file, or only
    count them.

    Returns (messages, images) deleted, or that would be.
    """
    old = selectors.messages_older_than_qs(older_than=older_than)
    if dry_run:
        return old.count(), old.exclude(image="").count()
    return messages_delete(messages=old)
