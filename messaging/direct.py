"""The direct conversation of two people: found or created, remembered per process.

The seed API names a conversation by the other person (`/api/messages/<userId>`); everything
underneath works on conversations. A pair's conversation never changes once it exists, so its id
is kept in a small per-process map and a send to someone already talked to costs no lookup.
"""

from __future__ import annotations

import threading
from typing import Any

from asgiref.sync import async_to_sync
from django.db import IntegrityError, transaction

from accounts.models import User
from chatproject.errors import ServiceError
from messaging.announce import conversation_created_announce
from messaging.conversion import direct_key
from messaging.models import Conversation, Membership
from messaging.presence import presence_introduce
from messaging.selectors import USER_NOT_FOUND, user_get
from messaging.writer import aread, awrite, write
from safety.services import send_check

DIRECT_WITH_YOURSELF = "You cannot start a conversation with yourself"

_ids: dict[str, Any] = {}
_lock = threading.Lock()
_MAX = 100_000


def _remember(key: str, conversation_id: Any) -> Any:
    with _lock:
        if len(_ids) >= _MAX:
            _ids.clear()
        _ids[key] = conversation_id
    return conversation_id


def direct_conversation_create(first_id: Any, second_id: Any) -> Any:
    """A writer job: the pair's conversation id, creating it (and both members) if needed."""
    return direct_conversation_open(first_id, second_id)[0]


def direct_conversation_open(first_id: Any, second_id: Any) -> tuple[Any, bool]:
    """A writer job: (the pair's conversation id, True if it was created now by `first_id`)."""
    key = direct_key(first_id, second_id)
    found = Conversation.objects.filter(direct_key=key).values_list("pk", flat=True).first()
    if found is not None:
        return found, False
    if User.objects.filter(pk__in=[first_id, second_id], is_active=True).count() != 2:
        raise ServiceError(USER_NOT_FOUND, status=404)  # never a conversation with nobody
    send_check(first_id, second_id)  # a block: no new conversation either way (403)
    try:
        with transaction.atomic():  # a concurrent first message may create it first
            conversation = Conversation.objects.create(
                kind=Conversation.Kind.DIRECT, direct_key=key, created_by_id=first_id
            )
            Membership.objects.bulk_create(
                [
                    Membership(conversation=conversation, user_id=user_id)
                    for user_id in (first_id, second_id)
                ]
            )
    except IntegrityError:
        return Conversation.objects.filter(direct_key=key).values_list("pk", flat=True).get(), False
    return conversation.pk, True


def direct_conversation_start(*, user: User, other_id: object) -> tuple[Any, bool]:
    """The conversation of `user` with `other_id` (an active person, not themselves), created
    if needed: (its id, created). A new one appears in both people's sidebars at once."""
    other = user_get(user_id=other_id, active_only=True)
    if other.pk == user.pk:
        raise ServiceError(DIRECT_WITH_YOURSELF, errors={"userId": [DIRECT_WITH_YOURSELF]})
    conversation_id, created = write(direct_conversation_open, user.pk, other.pk)
    _remember(direct_key(user.pk, other.pk), conversation_id)
    if created:
        people = [user.pk, other.pk]
        transaction.on_commit(lambda: conversation_created_announce(conversation_id, people))
        pair = (str(user.pk), str(other.pk))  # they may now see each other come and go
        transaction.on_commit(lambda: async_to_sync(presence_introduce)(*pair))
    return conversation_id, created


def direct_conversation_id(first_id: Any, second_id: Any) -> Any:
    """From sync code: the id of the pair's conversation (created on first use)."""
    key = direct_key(first_id, second_id)
    known = _ids.get(key)
    if known is not None:
        return known
    return _remember(key, write(direct_conversation_create, first_id, second_id))


async def adirect_conversation_id(first_id: Any, second_id: Any) -> Any:
    """From async code: the id of the pair's conversation (created on first use)."""
    key = direct_key(first_id, second_id)
    known = _ids.get(key)
    if known is not None:
        return known
    return _remember(key, await awrite(direct_conversation_create, first_id, second_id))


def direct_ids_forget() -> None:
    """Tests: databases come and go under the same ids."""
    with _lock:
        _ids.clear()


def direct_conversation_find(first_id: Any, second_id: Any) -> Any:
    """A reader job: the pair's conversation id, or None (never creates one)."""
    return (
        Conversation.objects.filter(direct_key=direct_key(first_id, second_id))
        .values_list("pk", flat=True)
        .first()
    )


async def adirect_conversation_find(first_id: Any, second_id: Any) -> Any:
    """From async code: the id of the pair's conversation if they ever talked, else None."""
    key = direct_key(first_id, second_id)
    known = _ids.get(key)
    if known is not None:
        return known
    found = await aread(direct_conversation_find, first_id, second_id)
    return _remember(key, found) if found is not None else None
