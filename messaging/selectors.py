"""Reads for messaging: conversations, pages of messages, receipts, the seed API's contact list.

Every query is built by a `*_qs` function so tests/test_mongo_compile.py can prove that each one
compiles to a MongoDB aggregation pipeline. The queries stay inside what django-mongodb-backend
translates: filters, `Count` grouping, slicing; no subqueries, no joins (related rows are read
by id in a second query and put together in Python).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.db.models import Case, Count, QuerySet, Value, When

from accounts.models import User
from accounts.selectors import user_public
from attachments.selectors import files_by_message
from attachments.shapes import attachment_public
from chatproject.errors import ServiceError
from chatproject.ids import parse_pk
from messaging import pagesql
from messaging.conversion import direct_key
from messaging.models import Conversation, Membership, Message, Reaction, ReceiptMark
from messaging.presence import presence_online_ids
from messaging.shapes import (
    NO_RECEIPT,
    Receipt,
    message_preview,
    message_public,
    reactions_public,
    unread_count,
)
from safety.cache import blocks_of

USER_NOT_FOUND = "User not found"
MESSAGE_NOT_FOUND = "Message not found"
CONVERSATION_NOT_FOUND = "Conversation not found"
BAD_LIMIT = "limit must be a whole number from 1 to 100"
BEFORE_AND_AFTER = "Use either before or after, not both"
AROUND_ALONE = "around cannot be combined with before or after"

PAGE_DEFAULT = 50
PAGE_MAX = 100


# --- Query builders ---------------------------------------------------------------------------


def user_qs(*, user_id: Any, active_only: bool = False) -> QuerySet[User]:
    qs = User.objects.filter(pk=user_id)
    return qs.filter(is_active=True) if active_only else qs


def contacts_qs(
    *, user: User, first: list[Any] = (), exclude: list[Any] = (), limit: int | None = None
) -> QuerySet[User]:
    """Other active users (sorted again in Python, with the conversation data): at most
    `limit`, the people in `first` (conversation partners) before the others, by name."""
    # The hash is never shown, so it is never loaded; every other field stays, so a field the
    # User shape gains later cannot turn into one deferred-load query per contact.
    qs = User.objects.filter(is_active=True).exclude(pk=user.pk).defer("password")
    if exclude:
        qs = qs.exclude(pk__in=list(exclude))
    if limit is None:
        return qs.order_by()
    if first:
        partner = Case(When(pk__in=list(first), then=Value(0)), default=Value(1))
        qs = qs.annotate(partner=partner).order_by("partner", "full_name", "id")
    else:
        qs = qs.order_by("full_name", "id")
    return qs[:limit]


def memberships_of_qs(*, user_id: Any) -> QuerySet[Membership]:
    """Every conversation a user is or was in (one row each)."""
    return Membership.objects.filter(user_id=user_id).order_by()


def members_qs(*, conversation_ids: list[Any]) -> QuerySet[Membership]:
    return Membership.objects.filter(conversation_id__in=conversation_ids).order_by()


def membership_qs(*, conversation_id: Any, user_id: Any) -> QuerySet[Membership]:
    return Membership.objects.filter(conversation_id=conversation_id, user_id=user_id)


def conversations_by_ids_qs(ids: list[Any]) -> QuerySet[Conversation]:
    return Conversation.objects.filter(pk__in=ids).order_by()


def conversation_by_key_qs(key: str) -> QuerySet[Conversation]:
    return Conversation.objects.filter(direct_key=key)


def messages_by_ids_qs(ids: list[Any]) -> QuerySet[Message]:
    return Message.objects.filter(pk__in=ids)


def conversation_page_qs(
    *,
    conversation_id: Any,
    seq_from: int = 0,
    seq_until: int | None = None,
    before_seq: int | None = None,
    after_seq: int | None = None,
    limit: int,
) -> QuerySet[Message]:
    """A page of one conversation: after a seq ascending, otherwise newest first.

    One range of the unique (conversation, seq) index, so the database stops after `limit`
    rows; the seq bounds keep it to what the reader may see (from when they joined, until
    they left). Seq, not id, orders a conversation: on MongoDB ids made by two processes in
    the same second may not follow the order of the writes; seqs always do.
    """
    low, high = page_bounds(
        seq_from=seq_from, seq_until=seq_until, before_seq=before_seq, after_seq=after_seq
    )
    qs = Message.objects.filter(conversation_id=conversation_id, seq__gt=low)
    if high is not None:
        qs = qs.filter(seq__lte=high)
    if after_seq is not None:
        return qs.order_by("seq")[:limit]
    return qs.order_by("-seq")[:limit]


def page_bounds(
    *,
    seq_from: int = 0,
    seq_until: int | None = None,
    before_seq: int | None = None,
    after_seq: int | None = None,
    **_: Any,
) -> tuple[int, int | None]:
    """(low, high) of a page's range: low < seq <= high (no upper bound: None)."""
    low = seq_from if after_seq is None else max(seq_from, after_seq)
    high = seq_until
    if before_seq is not None:
        high = before_seq - 1 if high is None else min(high, before_seq - 1)
    return low, high


def message_in_conversation_qs(*, conversation_id: Any, message_id: Any) -> QuerySet[Message]:
    return Message.objects.filter(conversation_id=conversation_id, pk=message_id)


def reactions_qs(message_ids: list[Any]) -> QuerySet[Reaction]:
    """The reactions of these messages, in the order they were made."""
    return Reaction.objects.filter(message_id__in=message_ids).order_by("created_at", "id")


def reply_originals_qs(ids: list[Any]) -> QuerySet[Message]:
    """The messages replies quote: only what a quote shows."""
    return (
        Message.objects.filter(pk__in=ids)
        .only("id", "sender_id", "text", "image", "deleted_at")
        .order_by()
    )


def message_by_client_id_qs(*, sender_id: Any, client_id: str) -> QuerySet[Message]:
    return Message.objects.filter(sender_id=sender_id, client_id=client_id)


def receipt_marks_qs(
    *, conversation_id: Any, user_id: Any, kind: str, from_seq: int, limit: int
) -> QuerySet[ReceiptMark]:
    """A member's cursor moves of one kind from `from_seq` on, oldest first."""
    return ReceiptMark.objects.filter(
        conversation_id=conversation_id, user_id=user_id, kind=kind, up_to_seq__gte=from_seq
    ).order_by("up_to_seq")[:limit]


def messages_older_than_qs(*, older_than: Any) -> QuerySet[Message]:
    return Message.objects.filter(created_at__lt=older_than)


def conversation_counts_qs() -> QuerySet:
    """Messages per conversation (chat_stats)."""
    return Message.objects.values("conversation_id").annotate(n=Count("id")).order_by()


# --- Lookups ------------------------------------------------------------------------------------


def user_get(*, user_id: object, active_only: bool = False) -> User:
    """The user `user_id` names; 404 when malformed, unknown (or deactivated, if asked)."""
    pk = parse_pk(User, user_id)
    user = user_qs(user_id=pk, active_only=active_only).first() if pk is not None else None
    if user is None:
        raise ServiceError(USER_NOT_FOUND, status=404)
    return user


def direct_conversation(*, user_id: Any, other_id: Any) -> Conversation | None:
    """The direct conversation of two people, if they ever wrote to each other."""
    return conversation_by_key_qs(direct_key(user_id, other_id)).first()


def message_seq(*, conversation_id: Any, message_id: object) -> tuple[Any, int]:
    """(pk, seq) of `message_id` if it belongs to this conversation, else 404.

    Another conversation's message answers exactly like an unknown one, so ids reveal nothing.
    """
    pk = parse_pk(Message, message_id)
    row = pagesql.message_seq(conversation_id, pk) if pk is not None else None
    if row is None:
        raise ServiceError(MESSAGE_NOT_FOUND, status=404)
    return row


def online_user_ids() -> set[str]:
    """Ids (strings) of users with an open socket on any server process."""
    return presence_online_ids()


def contact_ids(user_id: object) -> set[Any]:
    """Pks of the people who share a conversation with `user_id` and are still in it."""
    pk = parse_pk(User, user_id)
    if pk is None:
        return set()
    mine = [m.conversation_id for m in memberships_of_qs(user_id=pk).only("conversation_id")]
    if not mine:
        return set()
    others = members_qs(conversation_ids=mine).filter(left_at__isnull=True).exclude(user_id=pk)
    return set(others.values_list("user_id", flat=True))


# --- Receipts -----------------------------------------------------------------------------------


def _first_mark_times(marks: list[tuple[int, Any]], seqs: list[int]) -> dict[int, Any]:
    """For each seq, the time of the first cursor move that reached it (marks: (up_to_seq,
    at) sorted by seq)."""
    reached = [up_to_seq for up_to_seq, _ in marks]
    times = {}
    for seq in seqs:
        index = bisect_left(reached, seq)
        if index < len(marks):
            times[seq] = marks[index][1]
    return times


def direct_receipts(conversation: Conversation, messages: list[Message]) -> dict[Any, Receipt]:
    """deliveredAt/readAt of a direct conversation's messages: when the receiver's cursors
    first passed each one. One read whatever the page size (pagesql.receipt_marks: one per
    receiver and kind on MongoDB)."""
    if conversation.kind != Conversation.Kind.DIRECT or not messages:
        return {}
    by_receiver: dict[Any, list[Message]] = {}
    for message in messages:
        if message.receiver_id is not None:
            by_receiver.setdefault(message.receiver_id, []).append(message)
    kinds = (ReceiptMark.Kind.DELIVERED, ReceiptMark.Kind.READ)
    seqs = {
        receiver_id: sorted(m.seq for m in theirs) for receiver_id, theirs in by_receiver.items()
    }
    # Cursor moves have distinct seqs: from the lowest seq on, the first mark at or past the
    # highest is at most this many marks away.
    wanted = [
        (receiver_id, kind, s[0], s[-1] - s[0] + 2)
        for receiver_id, s in seqs.items()
        for kind in kinds
    ]
    marks = pagesql.receipt_marks(conversation.pk, wanted)
    receipts: dict[Any, Receipt] = {}
    for receiver_id, theirs in by_receiver.items():
        times = {
            kind: _first_mark_times(marks[receiver_id, kind], seqs[receiver_id]) for kind in kinds
        }
        for m in theirs:
            read = times[ReceiptMark.Kind.READ].get(m.seq)
            delivered = times[ReceiptMark.Kind.DELIVERED].get(m.seq) or read
            receipts[m.pk] = Receipt(delivered_at=delivered, read_at=read)
    return receipts


def _extras(
    messages: list[Message],
    reactions_of: Callable[[list[Any]], Iterable[tuple[Any, str, Any]]],
    originals_of: Callable[[list[Any]], Iterable[Message]],
) -> tuple[dict[Any, Message], dict[Any, list[dict[str, Any]]]]:
    live = [m for m in messages if m.deleted_at is None]
    reactions: dict[Any, list[dict[str, Any]]] = {}
    if live:
        rows: dict[Any, list[tuple[str, Any]]] = {}
        for message_id, emoji, user_id in reactions_of([m.pk for m in live]):
            rows.setdefault(message_id, []).append((emoji, user_id))
        reactions = {message_id: reactions_public(r) for message_id, r in rows.items()}
    wanted = {m.reply_to_id for m in live if m.reply_to_id is not None}
    originals = {o.pk: o for o in originals_of(list(wanted))} if wanted else {}
    return originals, reactions


def _reaction_rows(message_ids: list[Any]) -> Iterable[tuple[Any, str, Any]]:
    return reactions_qs(message_ids).values_list("message_id", "emoji", "user_id")


def message_extras(
    messages: list[Message],
) -> tuple[dict[Any, Message], dict[Any, list[dict[str, Any]]]]:
    """What the whole Message shape adds to rows: (originals the replies quote, by id;
    reactions, by message id). One query each whatever the number of messages; none for the
    originals when nothing replies, none at all for tombstones (they carry neither)."""
    return _extras(messages, _reaction_rows, reply_originals_qs)


def messages_public(conversation: Conversation, messages: list[Message]) -> list[dict[str, Any]]:
    """Rows as the whole Message JSON, with receipts, files, quotes and reactions read in bulk
    (a statement each for all the rows, see messaging/pagesql.py; none for an empty page)."""
    if not messages:
        return []
    receipts = direct_receipts(conversation, messages)
    files = {a.message_id: attachment_public(a) for a in pagesql.files([m.pk for m in messages])}
    originals, reactions = _extras(messages, pagesql.reactions, pagesql.reply_originals)
    return [
        message_public(
            m,
            receipts.get(m.pk, NO_RECEIPT),
            files.get(m.pk),
            original=originals.get(m.reply_to_id),
            reactions=reactions.get(m.pk, []),
        )
        for m in messages
    ]


# --- Composed reads: the seed API --------------------------------------------------------------


def _recency(entry: tuple[Conversation, Message] | None) -> Any:
    return entry[1].pk if entry is not None else 0


def user_contacts(*, user: User) -> list[dict[str, Any]]:
    """Every other active user with `unreadCount` and `lastMessage`, latest conversation first.

    Six queries whatever the number of users, conversations or messages: users, my
    memberships, their conversations, the last messages, the other members' cursors, the
    files of the last messages.
    """
    mine = {m.conversation_id: m for m in memberships_of_qs(user_id=user.pk)}
    conversations = [
        c
        for c in conversations_by_ids_qs(list(mine))
        if c.kind == Conversation.Kind.DIRECT and c.last_message_id is not None
    ]
    last_messages = {
        m.pk: m for m in messages_by_ids_qs([c.last_message_id for c in conversations])
    }
    others = {
        m.conversation_id: m
        for m in members_qs(conversation_ids=[c.pk for c in conversations]).exclude(user_id=user.pk)
    }
    by_peer: dict[Any, tuple[Conversation, Message]] = {}
    for conversation in conversations:
        other, last = others.get(conversation.pk), last_messages.get(conversation.last_message_id)
        if other is not None and last is not None:
            by_peer[other.user_id] = (conversation, last)
    # At most CONTACTS_MAX people, partners first; none in a block with me (cached: no query
    # when warm). Never the whole user table on a server with 100,000 accounts.
    blocked = blocks_of(user.pk).either
    hidden = [parse_pk(User, pk) for pk in blocked]
    contacts = list(
        contacts_qs(
            user=user,
            first=[pk for pk in by_peer if str(pk) not in blocked],
            exclude=hidden,
            limit=settings.CONTACTS_MAX,
        )
    )
    online = online_user_ids() - blocked
    files = files_by_message([last.pk for _, last in by_peer.values()])

    # Name order first; the stable second sort then puts recent conversations on top.
    contacts.sort(key=lambda c: (c.full_name.casefold(), str(c.pk)))
    contacts.sort(key=lambda c: (c.pk in by_peer, _recency(by_peer.get(c.pk))), reverse=True)
    result = []
    for contact in contacts:
        last_shape, unread = None, 0
        if contact.pk in by_peer:
            conversation, last = by_peer[contact.pk]
            member, other = mine[conversation.pk], others[conversation.pk]
            unread = unread_count(conversation.last_seq, member)
            receipt = NO_RECEIPT
            if last.receiver_id == other.user_id:
                receipt = Receipt(
                    delivered_at=other.delivered_at if last.seq <= other.delivered_seq else None,
                    read_at=other.read_at if last.seq <= other.read_seq else None,
                )
            last_shape = message_preview(last, receipt, files.get(last.pk))
        result.append(
            {
                **user_public(contact, online=str(contact.pk) in online),
                "unreadCount": unread,
                "lastMessage": last_shape,
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


def membership_sees(membership: Membership, seq: int) -> bool:
    """Message `seq` is inside this member's window (after they joined, until they left)."""
    if seq <= membership.visible_from_seq:
        return False
    return membership.visible_until_seq is None or seq <= membership.visible_until_seq


def conversation_history(
    *,
    conversation: Conversation,
    membership: Membership,
    before: str | None = None,
    after: str | None = None,
    around: str | None = None,
    limit: object = None,
) -> list[dict[str, Any]]:
    """A page of a conversation as this member may see it, oldest first.

    Default: the newest `limit` messages. `before`: the `limit` messages older than it.
    `after`: the `limit` oldest messages newer than it (catch-up; repeat with the last id
    while a full page comes back). `around`: `limit` messages centred on it (jumping to a
    reply's original). A cursor that is not a message of this conversation -> 404.
    """
    size = page_limit(limit)
    if around and (before or after):
        raise ServiceError(AROUND_ALONE)
    if before and after:
        raise ServiceError(BEFORE_AND_AFTER)
    cursors = {}
    for name, value in (("before", before), ("after", after), ("around", around)):
        if value:
            seq = message_seq(conversation_id=conversation.pk, message_id=value)[1]
            if not membership_sees(membership, seq):  # a message they may not see names nothing
                raise ServiceError(MESSAGE_NOT_FOUND, status=404)
            cursors[f"{name}_seq"] = seq
    window = {
        "conversation_id": conversation.pk,
        "seq_from": membership.visible_from_seq,
        "seq_until": membership.visible_until_seq,
    }
    if around:
        page = _page_around(window, cursors["around_seq"], size)
    else:
        page = pagesql.page(limit=size, **window, **cursors)
        if not after:
            page.reverse()  # fetched newest first to take the newest page
    return messages_public(conversation, page)


def _page_around(window: dict[str, Any], seq: int, size: int) -> list[Message]:
    """`size` messages around `seq`: as many older as newer, the page filled from the other
    side near either end. Two index ranges (it and older, newer), oldest first."""
    older = pagesql.page(before_seq=seq + 1, limit=size, **window)  # it first
    newer = pagesql.page(after_seq=seq, limit=size - 1, **window) if size > 1 else []
    target, older = older[:1], older[1:]
    want_older = (size - 1) // 2
    if len(newer) < size - 1 - want_older:
        want_older = size - 1 - len(newer)
    want_older = min(want_older, len(older))
    older = older[:want_older]
    older.reverse()
    return older + target + newer[: size - 1 - want_older]


def message_history(
    *,
    user: User,
    other_id: str,
    before: str | None = None,
    after: str | None = None,
    limit: object = None,
) -> list[dict[str, Any]]:
    """The seed API's page of the conversation with `other_id` (their direct conversation)."""
    size = page_limit(limit)
    if before and after:
        raise ServiceError(BEFORE_AND_AFTER)
    other_pk = parse_pk(User, other_id)
    other = pagesql.user(other_pk) if other_pk is not None else None
    if other is None:
        raise ServiceError(USER_NOT_FOUND, status=404)
    conversation = pagesql.conversation_by_key(direct_key(user.pk, other.pk))
    membership = pagesql.membership(conversation.pk, user.pk) if conversation is not None else None
    if conversation is None or membership is None:
        if before or after:  # no conversation: no message of it can be a cursor
            raise ServiceError(MESSAGE_NOT_FOUND, status=404)
        return []
    return conversation_history(
        conversation=conversation, membership=membership, before=before, after=after, limit=size
    )


# --- Operator statistics --------------------------------------------------------------------------


def chat_stats(*, since: Any, top: int = 5) -> dict[str, Any]:
    """Counts for `chat_stats`: users, messages (total and since `since`), conversations and
    members, the busiest conversations. `top` needs one pass over per-conversation counts."""
    recent = Message.objects.filter(created_at__gte=since)
    counts = sorted(
        ((row["n"], row["conversation_id"]) for row in conversation_counts_qs().iterator()),
        key=lambda item: (-item[0], str(item[1])),
    )[:top]
    busiest = {c.pk: c for c in conversations_by_ids_qs([cid for _, cid in counts])}
    members: dict[Any, list[Any]] = {}
    for row in members_qs(conversation_ids=list(busiest)).values("conversation_id", "user_id"):
        members.setdefault(row["conversation_id"], []).append(row["user_id"])
    people = {
        u.pk: u
        for u in User.objects.filter(pk__in={uid for ids in members.values() for uid in ids}).only(
            "full_name", "email"
        )
    }

    def name(uid: Any) -> str:
        user = people.get(uid)
        return f"{user.full_name} <{user.email}>" if user else f"(deleted user {uid})"

    top_rows = []
    for n, cid in counts:
        conversation = busiest.get(cid)
        uids = sorted(members.get(cid, []), key=str)
        top_rows.append(
            {
                "conversation": str(cid),
                "kind": conversation.kind if conversation else None,
                "title": conversation.title if conversation else "",
                "users": [str(uid) for uid in uids],
                "names": [name(uid) for uid in uids],
                "messages": n,
            }
        )
    group_ids = list(
        Conversation.objects.filter(kind=Conversation.Kind.GROUP).values_list("pk", flat=True)
    )
    return {
        "users": User.objects.count(),
        "activeUsers": User.objects.filter(is_active=True).count(),
        "messages": Message.objects.count(),
        "messagesToday": recent.count(),
        "sendersToday": recent.aggregate(n=Count("sender_id", distinct=True))["n"],
        "conversations": Conversation.objects.count(),
        "groups": len(group_ids),
        "groupMembers": members_qs(conversation_ids=group_ids).filter(left_at__isnull=True).count(),
        "topConversations": top_rows,
    }
