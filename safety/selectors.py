"""Reads: blocks, the people directory, the reports queue's context."""

from __future__ import annotations

import unicodedata
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet

from accounts.models import User, normalize_email
from chatproject.errors import ServiceError
from chatproject.images import image_url  # noqa: F401 (the API's shapes use it)
from messaging.models import Message
from safety.cache import blocks_of
from safety.models import Block, Report

QUERY_MAX_LENGTH = 100
DIRECTORY_LIMIT = 20
# Candidates read per search before ranking: enough that the best DIRECTORY_LIMIT are among
# them for any real name query, bounded whatever the size of the user table.
DIRECTORY_CANDIDATES = 200
Q_REQUIRED = "Type a name or an email to search for"
Q_TOO_LONG = f"The search may be at most {QUERY_MAX_LENGTH} characters"
Q_INVALID = "The search may not contain control characters"


# --- Query builders ---------------------------------------------------------------------------


def block_rows_qs(*, user_id: Any) -> QuerySet:
    """(blocker, blocked) pairs with `user_id` on either side."""
    return Block.objects.filter(Q(blocker_id=user_id) | Q(blocked_id=user_id)).values_list(
        "blocker_id", "blocked_id"
    )


def blocks_made_qs(*, user_id: Any) -> QuerySet[Block]:
    return Block.objects.filter(blocker_id=user_id).select_related("blocked").order_by("-id")


def directory_qs(*, text: str, among: list[Any] | None, exclude: list[Any]) -> QuerySet[User]:
    """Active users whose name or email contains `text` (case ignored), maybe only `among`."""
    qs = User.objects.filter(is_active=True).filter(
        Q(full_name__icontains=text) | Q(email__icontains=text)
    )
    if among is not None:
        qs = qs.filter(pk__in=among)
    if exclude:
        qs = qs.exclude(pk__in=exclude)
    return qs.defer("password").order_by("full_name", "id")[:DIRECTORY_CANDIDATES]


def user_by_email_qs(email: str) -> QuerySet[User]:
    return User.objects.filter(email=normalize_email(email), is_active=True).defer("password")


def context_messages_qs(*, conversation_id: Any, seq: int, around: int) -> QuerySet[Message]:
    """The messages of a conversation from `around` before `seq` to `around` after it."""
    return (
        Message.objects.filter(
            conversation_id=conversation_id, seq__gte=seq - around, seq__lte=seq + around
        )
        .select_related("sender")
        .order_by("seq")
    )


def open_reports_qs() -> QuerySet[Report]:
    return Report.objects.filter(status=Report.Status.OPEN)


# --- Composed reads ---------------------------------------------------------------------------


def directory_query(value: object) -> str:
    """The search text, or 400 naming `q`."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise ServiceError(Q_REQUIRED, errors={"q": [Q_REQUIRED]})
    if len(text) > QUERY_MAX_LENGTH:
        raise ServiceError(Q_TOO_LONG, errors={"q": [Q_TOO_LONG]})
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in text):
        raise ServiceError(Q_INVALID, errors={"q": [Q_INVALID]})
    return text


def _rank(user: User, text: str, *, exact: Any, contacts: set[Any]) -> tuple[Any, ...]:
    name = user.full_name.casefold()
    folded = text.casefold()
    starts = name.startswith(folded) or any(w.startswith(folded) for w in name.split())
    return (user.pk != exact, user.pk not in contacts, not starts, name, str(user.pk))


def directory_search(*, user: User, q: object) -> list[dict[str, Any]]:
    """People `user` may start a chat with, for the search text `q` (docs/SAFETY.md).

    An exact email finds any active person; other matches (name or email containing the
    text) come from everyone with DIRECTORY_VISIBLE=all, only from the people who share a
    conversation with `user` with `contacts`. Never `user`, never anyone in a block with them.
    Emails are shown only for contacts and for the exact match (the caller typed it).
    Order: the exact match, contacts, names starting with the text, then by name.
    """
    from messaging.selectors import contact_ids

    text = directory_query(q)
    hidden = [user.pk, *blocks_of(user.pk).either]
    hidden_set = {str(pk) for pk in hidden}
    contacts = contact_ids(user.pk)
    exact = None
    found: dict[Any, User] = {}
    if "@" in text:
        match = user_by_email_qs(text).first()
        if match is not None and str(match.pk) not in hidden_set:
            exact = match.pk
            found[match.pk] = match
    among = None if settings.DIRECTORY_VISIBLE == "all" else list(contacts)
    if among is None or among:
        for person in directory_qs(text=text, among=among, exclude=hidden):
            found.setdefault(person.pk, person)
    ranked = sorted(found.values(), key=lambda u: _rank(u, text, exact=exact, contacts=contacts))
    return [
        {
            "_id": str(person.pk),
            "fullName": person.full_name,
            "profilePic": image_url(person.profile_pic),
            "email": person.email if person.pk == exact or person.pk in contacts else None,
            "isContact": person.pk in contacts,
        }
        for person in ranked[:DIRECTORY_LIMIT]
    ]


def report_context(report: Report, *, around: int = 3) -> list[Message]:
    """The reported message with a few before and after it (the admin's view)."""
    message = report.message
    return list(
        context_messages_qs(conversation_id=message.conversation_id, seq=message.seq, around=around)
    )
