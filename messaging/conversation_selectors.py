"""Reads for `/api/conversations/`: the sidebar, one conversation, who has a message.

The rules of selectors.py hold here too: each query is built by a `*_qs` function that
tests/test_mongo_compile.py compiles for MongoDB, and there are no joins (related rows are read
by id in one more query and put together in Python). Every read is "as this member sees it":
someone who left sees the conversation as it was when they left.
"""

from __future__ import annotations

import copy
from typing import Any

from django.db.models import Count, Min, Q, QuerySet

from accounts.models import User
from accounts.selectors import iso, user_public
from attachments.selectors import files_by_message
from chatproject.errors import ServiceError
from chatproject.ids import parse_pk
from messaging import pagesql
from messaging.models import Conversation, Membership, Message, ReceiptMark
from messaging.presence import presence_online_ids
from messaging.receipts import direct_members
from messaging.selectors import (
    CONVERSATION_NOT_FOUND,
    MESSAGE_NOT_FOUND,
    conversation_history,
    conversations_by_ids_qs,
    members_qs,
    membership_sees,
    memberships_of_qs,
    message_in_conversation_qs,
)
from messaging.shapes import conversation_activity, conversation_public, member_public
from safety.cache import blocks_of

# --- Query builders ---------------------------------------------------------------------------


def member_counts_qs(*, conversation_ids: list[Any]) -> QuerySet:
    """How many people are in each conversation now: rows `{conversation_id, n}`."""
    return (
        members_qs(conversation_ids=conversation_ids)
        .filter(left_at__isnull=True)
        .values("conversation_id")
        .annotate(n=Count("id"))
        .order_by()
    )


def users_by_ids_qs(ids: list[Any]) -> QuerySet[User]:
    # The hash is never shown, so it is never loaded.
    return User.objects.filter(pk__in=ids).defer("password").order_by()


def last_messages_qs(*, ids: list[Any], at: list[tuple[Any, int]]) -> QuerySet[Message]:
    """Messages by id, and by (conversation, seq) pairs: the newest message someone who left
    may still see is the one at the end of their window, not the conversation's head."""
    condition = Q(pk__in=ids)
    for conversation_id, seq in at:
        condition |= Q(conversation_id=conversation_id, seq=seq)
    return Message.objects.filter(condition).order_by()


def message_sender_qs(*, conversation_id: Any, message_id: Any) -> QuerySet:
    """(pk, seq, sender) of one message of this conversation."""
    return Message.objects.filter(conversation_id=conversation_id, pk=message_id).values_list(
        "pk", "seq", "sender_id"
    )


def receipt_times_qs(*, conversation_id: Any, user_ids: list[Any], seq: int) -> QuerySet:
    """When each member's cursors (delivered, read) first reached `seq`: rows `{user_id, kind,
    at}`. A cursor only moves forward, so its first move at or past `seq` is its earliest."""
    return (
        ReceiptMark.objects.filter(
            conversation_id=conversation_id, user_id__in=user_ids, up_to_seq__gte=seq
        )
        .values("user_id", "kind")
        .annotate(at=Min("at"))
        .order_by()
    )


# --- What a member may see ------------------------------------------------------------------


def conversation_mine(*, user: User, conversation_id: object) -> tuple[Conversation, Membership]:
    """The conversation and the user's membership, current or past. Unknown, malformed and
    other people's conversations are the same 404, so an id reveals nothing."""
    pk = parse_pk(Conversation, conversation_id)
    conversation = pagesql.conversation(pk) if pk is not None else None
    mine = pagesql.membership(pk, user.pk) if conversation is not None else None
    if conversation is None or mine is None:
        raise ServiceError(CONVERSATION_NOT_FOUND, status=404)
    return conversation, mine


def conversation_message_mine(
    *, user: User, conversation_id: object, message_id: object
) -> tuple[Conversation, Membership, Message]:
    """A message of one of the user's conversations that they may see (inside their window),
    with the conversation and their membership; 404 for anything else, as for an unknown id."""
    conversation, mine = conversation_mine(user=user, conversation_id=conversation_id)
    pk = parse_pk(Message, message_id)
    message = (
        message_in_conversation_qs(conversation_id=conversation.pk, message_id=pk).first()
        if pk is not None
        else None
    )
    if message is None or not membership_sees(mine, message.seq):
        raise ServiceError(MESSAGE_NOT_FOUND, status=404)
    return conversation, mine, message


def _last_wanted(conversation: Conversation, mine: Membership) -> tuple[Any, Any]:
    """(message id, None) for the conversation's head, or (None, (conversation, seq)) for the
    end of the window of someone who left before the head."""
    until = mine.visible_until_seq
    if until is None or conversation.last_seq <= until:
        return conversation.last_message_id, None
    return None, (conversation.pk, until)


def _last_messages(seen: list[tuple[Conversation, Membership]]) -> dict[tuple[Any, Any], Message]:
    """The newest message each member may see of each conversation, keyed by (conversation
    pk, user pk): one query for all of them."""
    ids, at = set(), set()
    for conversation, member in seen:
        message_id, pair = _last_wanted(conversation, member)
        if message_id is not None:
            ids.add(message_id)
        elif pair is not None:
            at.add(pair)
    if not ids and not at:
        return {}
    found: dict[Any, list[Message]] = {}
    for message in last_messages_qs(ids=list(ids), at=sorted(at, key=str)):
        found.setdefault(message.conversation_id, []).append(message)
    last = {}
    for conversation, member in seen:
        wanted_id, pair = _last_wanted(conversation, member)
        for message in found.get(conversation.pk, []):
            if (message.pk == wanted_id or (pair and message.seq == pair[1])) and membership_sees(
                member, message.seq
            ):
                last[(conversation.pk, member.user_id)] = message
    return last


def _peer_id(conversation: Conversation, user_id: Any) -> Any:
    return next((pk for pk in direct_members(conversation) if pk != user_id), None)


def _shape(
    conversation: Conversation,
    mine: Membership,
    last: Message | None,
    *,
    member_count: int,
    users: dict[Any, User],
    online: set[str],
    files: dict[Any, dict[str, Any]],
) -> dict[str, Any]:
    last_file = files.get(last.pk) if last is not None else None
    shape = conversation_public(conversation, mine=mine, last_message=last, last_file=last_file)
    shape["memberCount"] = member_count
    shape["peer"] = None
    if conversation.kind == Conversation.Kind.DIRECT:
        peer = users.get(_peer_id(conversation, mine.user_id))
        if peer is not None:
            shape["peer"] = user_public(peer, online=str(peer.pk) in online)
    return shape


# --- The sidebar ------------------------------------------------------------------------------


def conversation_list(*, user: User) -> list[dict[str, Any]]:
    """Every conversation the user is or was in, newest activity first, with unreadCount and
    lastMessage as they may see them.

    Six queries whatever the number of conversations or messages: my memberships, those
    conversations, their last messages, their files, member counts, the direct conversations'
    other people.
    """
    mine = {m.conversation_id: m for m in memberships_of_qs(user_id=user.pk)}
    if not mine:
        return []
    conversations = list(conversations_by_ids_qs(list(mine)))
    blocks = blocks_of(user.pk)  # cached: no query when warm (safety/cache.py)
    if blocks.blocking:  # hidden from the blocker's sidebar until unblocked
        conversations = [
            c
            for c in conversations
            if c.kind != Conversation.Kind.DIRECT
            or str(_peer_id(c, user.pk)) not in blocks.blocking
        ]
    last = _last_messages([(c, mine[c.pk]) for c in conversations])
    files = files_by_message([m.pk for m in last.values()])
    counts = {
        row["conversation_id"]: row["n"]
        for row in member_counts_qs(conversation_ids=[c.pk for c in conversations])
    }
    peer_ids = {
        _peer_id(c, user.pk) for c in conversations if c.kind == Conversation.Kind.DIRECT
    } - {None}
    users = {u.pk: u for u in users_by_ids_qs(list(peer_ids))} if peer_ids else {}
    online = (presence_online_ids() - blocks.either) if users else set()

    def newest_first(conversation: Conversation) -> tuple[Any, ...]:
        # By time to the microsecond, then by message id (ids order all messages): two
        # conversations written in the same millisecond still sort by which came last.
        seen = last.get((conversation.pk, user.pk))
        activity = conversation_activity(conversation, mine[conversation.pk], seen)
        padded = (str(seen.pk) if seen else "").rjust(24, "0")
        return (activity, padded, str(conversation.pk).rjust(24, "0"))

    return [
        _shape(
            conversation,
            mine[conversation.pk],
            last.get((conversation.pk, user.pk)),
            member_count=counts.get(conversation.pk, 0),
            users=users,
            online=online,
            files=files,
        )
        for conversation in sorted(conversations, key=newest_first, reverse=True)
    ]


# --- One conversation -----------------------------------------------------------------------


def _as_seen_by(members: list[Membership], viewer: Membership) -> list[Membership]:
    """The members someone who left may see: those who were there before they left, with
    cursors no further than the viewer's window (what came after is none of their business)."""
    if viewer.active:
        return members
    until = viewer.visible_until_seq or 0
    seen = []
    for member in members:
        if member.joined_at > viewer.left_at:
            continue
        member = copy.copy(member)
        for kind in ("read", "delivered"):
            if getattr(member, f"{kind}_seq") > until:
                setattr(member, f"{kind}_seq", until)
                setattr(member, f"{kind}_at", None)
        seen.append(member)
    return seen


def _details(
    conversation: Conversation, members: list[Membership], viewers: list[Membership]
) -> dict[Any, dict[str, Any]]:
    """The detail JSON for each viewer (user pk -> shape). Three queries: the last messages,
    their files and the members' accounts."""
    last = _last_messages([(conversation, viewer) for viewer in viewers])
    files = files_by_message(list({m.pk for m in last.values()}))
    users = {u.pk: u for u in users_by_ids_qs([m.user_id for m in members])}
    online = presence_online_ids()
    count = sum(1 for m in members if m.active)
    members = sorted(members, key=lambda m: (m.joined_at, str(m.user_id)))
    details = {}
    for viewer in viewers:
        shape = _shape(
            conversation,
            viewer,
            last.get((conversation.pk, viewer.user_id)),
            member_count=count,
            users=users,
            online=online,
            files=files,
        )
        shape["members"] = [
            {
                **member_public(member),
                "user": user_public(users[member.user_id], online=str(member.user_id) in online),
            }
            for member in _as_seen_by(members, viewer)
            if member.user_id in users
        ]
        details[viewer.user_id] = shape
    return details


def conversation_detail(*, user: User, conversation_id: object) -> dict[str, Any]:
    """One conversation of the user's with its members (those who left too, with `leftAt`)."""
    conversation, _ = conversation_mine(user=user, conversation_id=conversation_id)
    members = list(members_qs(conversation_ids=[conversation.pk]))
    mine = next(m for m in members if m.user_id == user.pk)
    return _details(conversation, members, [mine])[user.pk]


def conversation_details_for(conversation_id: Any, user_ids: list[Any]) -> dict[Any, dict]:
    """The conversation as each of `user_ids` sees it (for `conversationCreated`)."""
    conversation = conversations_by_ids_qs([conversation_id]).first()
    if conversation is None:
        return {}
    members = list(members_qs(conversation_ids=[conversation_id]))
    wanted = set(user_ids)
    viewers = [m for m in members if m.user_id in wanted]
    return _details(conversation, members, viewers) if viewers else {}


# --- Its messages -----------------------------------------------------------------------------


def conversation_messages(
    *,
    user: User,
    conversation_id: object,
    before: str | None = None,
    after: str | None = None,
    around: str | None = None,
    limit: object = None,
) -> list[dict[str, Any]]:
    """A page of one of the user's conversations, as far as their window goes."""
    conversation, mine = conversation_mine(user=user, conversation_id=conversation_id)
    return conversation_history(
        conversation=conversation,
        membership=mine,
        before=before,
        after=after,
        around=around,
        limit=limit,
    )


def _receipt_rows(
    members: list[Membership], kind: str, seq: int, times: dict[tuple[Any, str], Any]
) -> list[dict[str, Any]]:
    rows = []
    for member in members:
        if getattr(member, f"{kind}_seq") < seq:
            continue
        at = times.get((member.user_id, kind))
        if kind == ReceiptMark.Kind.DELIVERED:
            at = at or times.get((member.user_id, ReceiptMark.Kind.READ))  # reading delivers
        rows.append((at or getattr(member, f"{kind}_at"), str(member.user_id)))
    rows.sort(key=lambda row: (row[0] is None, row[0] or 0, row[1]))
    return [{"userId": user_id, "at": iso(at)} for at, user_id in rows]


def message_receipts(*, user: User, conversation_id: object, message_id: object) -> dict[str, Any]:
    """Who of the other members has a message and who read it, and since when.

    Everyone whose window holds the message, except its sender; times are the first cursor
    move that reached it (ReceiptMark), or the cursor's own time. Five queries whatever the
    size of the group: the conversation, my membership, the message, the members, the marks.
    """
    conversation, mine = conversation_mine(user=user, conversation_id=conversation_id)
    pk = parse_pk(Message, message_id)
    row = (
        message_sender_qs(conversation_id=conversation.pk, message_id=pk).first()
        if pk is not None
        else None
    )
    if row is None or not membership_sees(mine, row[1]):
        raise ServiceError(MESSAGE_NOT_FOUND, status=404)
    pk, seq, sender_id = row
    others = [
        m
        for m in members_qs(conversation_ids=[conversation.pk])
        if m.user_id != sender_id and membership_sees(m, seq)
    ]
    reached = [m.user_id for m in others if m.delivered_seq >= seq or m.read_seq >= seq]
    times = {}
    if reached:
        times = {
            (row["user_id"], row["kind"]): row["at"]
            for row in receipt_times_qs(conversation_id=conversation.pk, user_ids=reached, seq=seq)
        }
    return {
        "messageId": str(pk),
        "seq": seq,
        "deliveredTo": _receipt_rows(others, ReceiptMark.Kind.DELIVERED, seq, times),
        "readBy": _receipt_rows(others, ReceiptMark.Kind.READ, seq, times),
    }
