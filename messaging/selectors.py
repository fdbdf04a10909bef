"""Reads for messaging: the contact list, conversation pages, and the Message JSON shape.

Every query is built by a `*_qs` function so tests/test_mongo_compile.py can prove that each one
compiles to a MongoDB aggregation pipeline. The queries stay inside what django-mongodb-backend
translates: filters, `Max`/`Count` grouping, slicing; no subqueries, no joins in hot paths.
"""

from itertools import chain
from typing import Any

from django.db.models import Count, Max, Q, QuerySet

from accounts.models import User
from accounts.selectors import iso, user_public
from chatproject.errors import ServiceError
from chatproject.ids import parse_pk
from chatproject.images import image_url
from messaging.models import Message
from messaging.presence import presence_online_ids

USER_NOT_FOUND = "User not found"
MESSAGE_NOT_FOUND = "Message not found"
BAD_LIMIT = "limit must be a whole number from 1 to 100"
BEFORE_AND_AFTER = "Use either before or after, not both"

PAGE_DEFAULT = 50
PAGE_MAX = 100


# --- Query builders ---------------------------------------------------------------------------


def user_qs(*, user_id: Any, active_only: bool = False) -> QuerySet[User]:
    qs = User.objects.filter(pk=user_id)
    return qs.filter(is_active=True) if active_only else qs


def contacts_qs(*, user: User) -> QuerySet[User]:
    """Every other active user (sorted in Python, with the conversation data)."""
    # The hash is never shown, so it is never loaded; every other field stays, so a field the
    # User shape gains later cannot turn into one deferred-load query per contact.
    return User.objects.filter(is_active=True).exclude(pk=user.pk).defer("password").order_by()


def conversation_summaries_qs(*, user: User) -> QuerySet:
    """One row per direction of each of the user's conversations: newest id, unread count."""
    return (
        Message.objects.filter(Q(sender=user) | Q(receiver=user))
        .values("sender_id", "receiver_id")
        .annotate(last_id=Max("id"), unread=Count("id", filter=Q(read_at__isnull=True)))
        .order_by()  # no sort: the rows are combined in Python
    )


def contact_ids(user_id: object) -> set[Any]:
    """Pks of the people who share a conversation with `user_id` (wrote to or were written to).

    Two distinct-value reads of the (sender, receiver) index; their cost grows with the user's
    history until conversations have members of their own (issue 10).
    """
    pk = parse_pk(User, user_id)
    if pk is None:
        return set()
    sent = Message.objects.filter(sender_id=pk).values_list("receiver_id", flat=True).distinct()
    received = Message.objects.filter(receiver_id=pk).values_list("sender_id", flat=True)
    return set(sent.order_by()) | set(received.distinct().order_by())


def messages_by_ids_qs(ids: list[Any]) -> QuerySet[Message]:
    return Message.objects.filter(pk__in=ids)


def conversation_qs(*, user_id: Any, other_id: Any) -> QuerySet[Message]:
    """The messages between two people, both directions, and nobody else's."""
    return Message.objects.filter(
        Q(sender_id=user_id, receiver_id=other_id) | Q(sender_id=other_id, receiver_id=user_id)
    )


def message_page_direction_qs(
    *, sender_id: Any, receiver_id: Any, before: Any = None, after: Any = None, limit: int
) -> QuerySet[Message]:
    """One direction of a page: `after` ascending from a cursor, otherwise newest first.

    One direction is one range of the (sender, receiver, id) index, so the database stops after
    `limit` rows; an OR of both directions makes SQLite sort the whole conversation instead.
    """
    qs = Message.objects.filter(sender_id=sender_id, receiver_id=receiver_id)
    if after is not None:
        return qs.filter(pk__gt=after).order_by("id")[:limit]
    if before is not None:
        qs = qs.filter(pk__lt=before)
    return qs.order_by("-id")[:limit]


def message_page(
    *, user_id: Any, other_id: Any, before: Any = None, after: Any = None, limit: int
) -> list[Message]:
    """A page of the conversation, in the order it was fetched (`after`: oldest first)."""
    directions = {(user_id, other_id), (other_id, user_id)}
    rows = chain.from_iterable(
        message_page_direction_qs(
            sender_id=sender, receiver_id=receiver, before=before, after=after, limit=limit
        )
        for sender, receiver in directions
    )
    return sorted(rows, key=lambda message: message.pk, reverse=after is None)[:limit]


def message_by_client_id_qs(*, sender_id: Any, client_id: str) -> QuerySet[Message]:
    return Message.objects.filter(sender_id=sender_id, client_id=client_id)


def undelivered_qs(*, receiver_id: Any, up_to: Any = None) -> QuerySet[Message]:
    qs = Message.objects.filter(receiver_id=receiver_id, delivered_at__isnull=True)
    return qs.filter(pk__lte=up_to) if up_to is not None else qs


def undelivered_from_qs(*, receiver_id: Any, sender_id: Any, up_to: Any) -> QuerySet[Message]:
    return Message.objects.filter(
        receiver_id=receiver_id, delivered_at__isnull=True, sender_id=sender_id, pk__lte=up_to
    )


def undelivered_by_sender_qs(*, receiver_id: Any, up_to: Any = None) -> QuerySet:
    """Per sender, the newest message to `receiver_id` not yet delivered."""
    return (
        undelivered_qs(receiver_id=receiver_id, up_to=up_to)
        .values("sender_id")
        .annotate(last_id=Max("id"))
        .order_by()
    )


def unread_qs(*, reader_id: Any, other_id: Any, up_to: Any) -> QuerySet[Message]:
    return Message.objects.filter(
        sender_id=other_id, receiver_id=reader_id, pk__lte=up_to, read_at__isnull=True
    )


def messages_older_than_qs(*, older_than: Any) -> QuerySet[Message]:
    return Message.objects.filter(created_at__lt=older_than)


# --- Shapes and lookups ---------------------------------------------------------------------------


def message_public(msg: Message) -> dict[str, Any]:
    """The contract's Message shape; `text` and `image` are null when absent."""
    return {
        "_id": str(msg.pk),
        "senderId": str(msg.sender_id),
        "receiverId": str(msg.receiver_id),
        "text": msg.text or None,
        "image": image_url(msg.image) or None,
        "createdAt": iso(msg.created_at),
        "updatedAt": iso(msg.updated_at),
        "clientId": msg.client_id or None,
        "deliveredAt": iso(msg.delivered_at),
        "readAt": iso(msg.read_at),
    }


def message_prev_id(message: Message) -> str | None:
    """Id of the message before `message` in its conversation; None when it is the first.

    Sent with every new message (`prevId`) so a client can tell that it missed one. Exact on
    SQLite: sends commit one at a time, so every smaller id was committed before this one.
    Computed once per message object.
    """
    if not hasattr(message, "_prev_id"):
        pair = (message.sender_id, message.receiver_id)
        ids = [
            pk
            for sender, receiver in {pair, pair[::-1]}
            for pk in message_page_direction_qs(
                sender_id=sender, receiver_id=receiver, before=message.pk, limit=1
            ).values_list("pk", flat=True)
        ]
        message._prev_id = str(max(ids)) if ids else None
    return message._prev_id


def message_event(message: Message) -> dict[str, Any]:
    """A new message as `newMessage` and the send endpoints carry it: the Message plus `prevId`."""
    return {**message_public(message), "prevId": message_prev_id(message)}


def user_get(*, user_id: object, active_only: bool = False) -> User:
    """The user `user_id` names; 404 when malformed, unknown (or deactivated, if asked)."""
    pk = parse_pk(User, user_id)
    user = user_qs(user_id=pk, active_only=active_only).first() if pk is not None else None
    if user is None:
        raise ServiceError(USER_NOT_FOUND, status=404)
    return user


def conversation_message_pk(*, user_id: Any, other_id: Any, message_id: object) -> Any:
    """The pk of `message_id` if it belongs to this pair's conversation, else 404.

    Another pair's message answers exactly like an unknown one, so ids reveal nothing.
    """
    pk = parse_pk(Message, message_id)
    if pk is None or not (
        conversation_qs(user_id=user_id, other_id=other_id).filter(pk=pk).exists()
    ):
        raise ServiceError(MESSAGE_NOT_FOUND, status=404)
    return pk


def online_user_ids() -> set[str]:
    """Ids (strings) of users with an open socket on any server process."""
    return presence_online_ids()


# --- Composed reads -------------------------------------------------------------------------------


def user_contacts(*, user: User) -> list[dict[str, Any]]:
    """Every other active user with `unreadCount` and `lastMessage`, latest conversation first.

    Three queries whatever the number of users or messages: users, per-conversation summary,
    and the last messages themselves.
    """
    contacts = list(contacts_qs(user=user))
    last_ids: dict[Any, Any] = {}
    unread: dict[Any, int] = {}
    for row in conversation_summaries_qs(user=user):
        incoming = row["receiver_id"] == user.pk
        other = row["sender_id"] if incoming else row["receiver_id"]
        if incoming:
            unread[other] = row["unread"]
        if other not in last_ids or row["last_id"] > last_ids[other]:
            last_ids[other] = row["last_id"]
    wanted = [last_ids[c.pk] for c in contacts if c.pk in last_ids]
    last_messages = {m.pk: m for m in messages_by_ids_qs(wanted)} if wanted else {}
    online = online_user_ids()

    # Name order first; the stable second sort then puts recent conversations on top.
    contacts.sort(key=lambda c: (c.full_name.casefold(), str(c.pk)))
    contacts.sort(key=lambda c: (c.pk in last_ids, last_ids.get(c.pk, 0)), reverse=True)
    result = []
    for contact in contacts:
        last = last_messages.get(last_ids.get(contact.pk))
        result.append(
            {
                **user_public(contact, online=str(contact.pk) in online),
                "unreadCount": unread.get(contact.pk, 0),
                "lastMessage": message_public(last) if last else None,
            }
        )
    return result


def page_limit(value: object) -> int:
    """`limit` from a query string: 1..100, 50 when absent; 400 otherwise."""
    if value is None or value == "":
        return PAGE_DEFAULT
    try:
        limit = int(str(value).strip(), 10)
    except ValueError:
        limit = 0
    if not 1 <= limit <= PAGE_MAX:
        raise ServiceError(BAD_LIMIT, errors={"limit": [BAD_LIMIT]})
    return limit


def message_history(
    *,
    user: User,
    other_id: str,
    before: str | None = None,
    after: str | None = None,
    limit: object = None,
) -> list[dict[str, Any]]:
    """A page of the conversation with `other_id`, oldest first.

    Default: the newest `limit` messages. `before`: the `limit` messages older than it.
    `after`: the `limit` oldest messages newer than it (catch-up; repeat with the last id
    while a full page comes back). A cursor that is not a message of this conversation -> 404.
    """
    size = page_limit(limit)
    if before and after:
        raise ServiceError(BEFORE_AND_AFTER)
    other = user_get(user_id=other_id)
    cursors = {}
    for name, value in (("before", before), ("after", after)):
        if value:
            cursors[name] = conversation_message_pk(
                user_id=user.pk, other_id=other.pk, message_id=value
            )
    page = message_page(user_id=user.pk, other_id=other.pk, limit=size, **cursors)
    if not after:
        page.reverse()  # fetched newest first to take the newest page
    return [message_public(m) for m in page]


# --- Operator statistics --------------------------------------------------------------------------


def pair_counts_qs() -> QuerySet:
    """Messages per (sender, receiver) direction; both directions make one conversation."""
    return Message.objects.values("sender_id", "receiver_id").annotate(n=Count("id")).order_by()


def chat_stats(*, since: Any, top: int = 5) -> dict[str, Any]:
    """Counts for `chat_stats`: users, messages (total and since `since`), top conversations.

    `top` needs one pass over the per-direction counts, which is one row per pair of people
    who ever wrote to each other, never one per message.
    """
    recent = Message.objects.filter(created_at__gte=since)
    pairs: dict[tuple[str, str], int] = {}
    for row in pair_counts_qs().iterator():
        key = tuple(sorted((str(row["sender_id"]), str(row["receiver_id"]))))
        pairs[key] = pairs.get(key, 0) + row["n"]
    busiest = sorted(pairs.items(), key=lambda item: (-item[1], item[0]))[:top]
    ids = {uid for (a, b), _ in busiest for uid in (a, b)}
    people = {
        str(u.pk): u
        for u in User.objects.filter(pk__in=[parse_pk(User, uid) for uid in ids]).only(
            "full_name", "email"
        )
    }

    def name(uid: str) -> str:
        user = people.get(uid)
        return f"{user.full_name} <{user.email}>" if user else f"(deleted user {uid})"

    return {
        "users": User.objects.count(),
        "activeUsers": User.objects.filter(is_active=True).count(),
        "messages": Message.objects.count(),
        "messagesToday": recent.count(),
        "sendersToday": recent.aggregate(n=Count("sender_id", distinct=True))["n"],
        "topConversations": [
            {"users": [a, b], "names": [name(a), name(b)], "messages": n} for (a, b), n in busiest
        ],
    }
