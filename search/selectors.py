"""Message search: the messages a person may see that contain the words, newest first.

Who sees what is messaging's rule: a member reads the messages of a conversation after they
joined (`visible_from_seq`) and, once out of it, until they left (`visible_until_seq`). Every
search is bounded by those windows, inside the database on SQLite (FTS5, search/fts.py) and in
a bounded scan on MongoDB (docs/SEARCH.md, "MongoDB"). Deleted messages and system lines are
never found. Results carry the whole Message shape pages use (receipts left null: the page the
result opens carries them), the conversation's name, the sender and a snippet as data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import connections, router
from django.db.models import QuerySet

from accounts.models import User
from attachments.models import Attachment
from attachments.selectors import files_by_message
from chatproject.errors import ServiceError
from chatproject.ids import parse_pk
from messaging.models import Conversation, Membership, Message
from messaging.selectors import conversations_by_ids_qs, members_qs, message_extras
from messaging.shapes import NO_RECEIPT, message_public
from search import text
from search.cursor import PREFIX as CURSOR_PREFIX
from search.cursor import seal, unseal
from search.fts import FTS_TABLE

Q_MAX_LENGTH = 200
LIMIT_DEFAULT = 20
LIMIT_MAX = 50
# Work per request is bounded: at most this many index hits (SQLite) or candidate rows
# (MongoDB) are looked at; when a page is cut short, nextBefore lets the client go on from
# where the scan stopped (an opaque cursor then, so it never names a message it may not see).
FTS_SCAN = 10_000
WHOLE_INLINE_MAX = 1000
BOUNDED_INLINE_MAX = 100
PREFIX_INDEXED = 6  # the longest prefix the FTS5 table indexes (search/fts.py)
MONGO_SCAN = 500
SEQ_MAX = 2**63 - 1

Q_REQUIRED = "Type a word to search for"
Q_TOO_LONG = f"q must be at most {Q_MAX_LENGTH} characters"
BAD_LIMIT = f"limit must be a whole number from 1 to {LIMIT_MAX}"
BAD_BEFORE = "before must be a message id"
BAD_FROM = "from must be a user id"
BAD_RANGE = "since must not be after until"
CONVERSATION_NOT_FOUND = "Conversation not found"
HAS_VALUES = ("file", "image")


@dataclass(frozen=True)
class Filters:
    sender_id: Any = None
    has: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    before_id: Any = None


def _bad(field: str, message: str) -> ServiceError:
    return ServiceError(message, errors={field: [message]})


def search_limit(value: object) -> int:
    if value is None or value == "":
        return LIMIT_DEFAULT
    try:
        limit = int(str(value).strip(), 10)
    except ValueError:
        limit = 0
    if not 1 <= limit <= LIMIT_MAX:
        raise _bad("limit", BAD_LIMIT)
    return limit


def _day_start(day: date | None, *, plus: int = 0) -> datetime | None:
    if day is None:
        return None
    return datetime.combine(day + timedelta(days=plus), time.min, tzinfo=UTC)


# --- Query builders (compiled for MongoDB in tests/test_mongo_compile.py) ------------------------


def windows_qs(*, user_id: Any) -> QuerySet:
    """(conversation, visible_from_seq, visible_until_seq) of every conversation the user is
    or was in."""
    return (
        Membership.objects.filter(user_id=user_id)
        .order_by()
        .values_list("conversation_id", "visible_from_seq", "visible_until_seq")
    )


def mongo_candidates_qs(
    *, conversation_ids: list[Any], terms: list[str], filters: Filters, scan: int = MONGO_SCAN
) -> QuerySet[Message]:
    """The fallback without a full-text index: the newest live text messages of these
    conversations containing every term (case-insensitive substring), at most `scan`; the
    caller keeps those in the reader's windows whose words start with the terms."""
    qs = Message.objects.filter(
        conversation_id__in=conversation_ids, kind=Message.Kind.TEXT, deleted_at__isnull=True
    )
    for term in terms:
        qs = qs.filter(text__icontains=term)
    if filters.sender_id is not None:
        qs = qs.filter(sender_id=filters.sender_id)
    if filters.has == "image":
        qs = qs.exclude(image="")
    if filters.since is not None:
        qs = qs.filter(created_at__gte=filters.since)
    if filters.until is not None:
        qs = qs.filter(created_at__lt=filters.until)
    if filters.before_id is not None:
        qs = qs.filter(pk__lt=filters.before_id)
    return qs.order_by("-pk").only("id", "conversation_id", "seq", "text")[:scan]


def attached_message_ids_qs(message_ids: list[Any]) -> QuerySet:
    return Attachment.objects.filter(message_id__in=message_ids).values_list(
        "message_id", flat=True
    )


def results_messages_qs(ids: list[Any]) -> QuerySet[Message]:
    return Message.objects.filter(pk__in=ids).order_by()


def people_qs(ids: set[Any]) -> QuerySet[User]:
    return User.objects.filter(pk__in=ids).only("id", "full_name", "profile_pic").order_by()


# --- Candidates ---------------------------------------------------------------------------------


def _connection() -> Any:
    return connections[router.db_for_read(Message)]


def _windows_sql(windows: list[tuple[Any, int, int | None]], user_id: Any) -> tuple[str, list[Any]]:
    """The reader's windows as SQL: whole conversations in one IN list (an index SQLite
    builds once), the few with bounds (joined late, left) each with its seq range. Past a
    thousand conversations (or a hundred bounded ones) the lists would near SQLite's limit on
    parameters: the memberships are then read by a subquery (and the bounds from JSON)."""
    whole = [cid for cid, lo, hi in windows if lo == 0 and hi is None]
    bounded = [(cid, lo, hi) for cid, lo, hi in windows if lo != 0 or hi is not None]
    parts, params = [], []
    if len(whole) > WHOLE_INLINE_MAX:
        q = _connection().ops.quote_name
        parts.append(
            f"m.conversation_id IN (SELECT conversation_id FROM {q(Membership._meta.db_table)}"
            " WHERE user_id = %s AND visible_from_seq = 0 AND visible_until_seq IS NULL)"
        )
        params.append(user_id)
    elif whole:
        parts.append(f"m.conversation_id IN ({', '.join(['%s'] * len(whole))})")
        params += whole
    if len(bounded) > BOUNDED_INLINE_MAX:
        parts.append(
            "EXISTS (SELECT 1 FROM json_each(%s) w WHERE w.value ->> 0 = m.conversation_id"
            " AND m.seq > w.value ->> 1 AND m.seq <= w.value ->> 2)"
        )
        params.append(json.dumps([[c, lo, SEQ_MAX if hi is None else hi] for c, lo, hi in bounded]))
    else:
        for cid, lo, hi in bounded:
            parts.append("(m.conversation_id = %s AND m.seq > %s AND m.seq <= %s)")
            params += [cid, lo, SEQ_MAX if hi is None else hi]
    return f"({' OR '.join(parts)})", params


def _sqlite_ids(
    windows: list[tuple[Any, int, int | None]],
    terms: list[str],
    filters: Filters,
    limit: int,
    user_id: Any,
) -> tuple[list[Any], Any]:
    """(ids, where the scan stopped when it was cut short).

    The index is walked newest first (backwards by rowid) and SQLite stops after `limit`
    rows in the reader's windows that pass the filters. Two bounds keep it fast whatever the
    words: the scan covers at most FTS_SCAN hits (a first query finds the rowid where they
    end), and every term is looked up through the prefix indexes (FTS5 would otherwise merge
    every word a long prefix starts into one list in memory): a term longer than the longest
    indexed prefix is searched by that prefix, and the rows are checked against the whole
    term here, batch after batch.
    """
    connection = _connection()
    ops = connection.ops
    q = ops.quote_name
    msg = Message._meta.db_table
    att = Attachment._meta.db_table
    indexed = [term[:PREFIX_INDEXED] for term in terms]
    check = indexed != terms
    match = text.fts_match(indexed)
    scan = f"{FTS_TABLE} MATCH %s"
    scan_params: list[Any] = [match]
    if filters.before_id is not None:
        scan += f" AND {FTS_TABLE}.rowid < %s"
        scan_params.append(filters.before_id)
    boundary_sql = (
        f"SELECT rowid FROM {FTS_TABLE} WHERE {scan} ORDER BY rowid DESC LIMIT 1 OFFSET %s"
    )
    windows_sql, windows_params = _windows_sql(windows, user_id)
    where = [windows_sql, "m.deleted_at IS NULL", "m.kind = 'text'"]
    params: list[Any] = [*windows_params]
    if filters.sender_id is not None:
        where.append("m.sender_id = %s")
        params.append(filters.sender_id)
    if filters.since is not None:
        where.append("m.created_at >= %s")
        params.append(ops.adapt_datetimefield_value(filters.since))
    if filters.until is not None:
        where.append("m.created_at < %s")
        params.append(ops.adapt_datetimefield_value(filters.until))
    if filters.has == "image":
        where.append("m.image != ''")
    elif filters.has == "file":
        where.append(f"EXISTS (SELECT 1 FROM {q(att)} a WHERE a.message_id = m.id)")
    batch = limit * 4 if check else limit
    ids: list[Any] = []
    with connection.cursor() as cursor:
        cursor.execute(boundary_sql, [*scan_params, FTS_SCAN - 1])
        row = cursor.fetchone()
        boundary = row[0] if row else None
        low = f" AND {FTS_TABLE}.rowid >= %s" if boundary is not None else ""
        sql = (
            f"SELECT m.id, m.text FROM {FTS_TABLE} JOIN {q(msg)} m ON m.id = {FTS_TABLE}.rowid "
            f"WHERE {scan}{low} AND {{upper}}{' AND '.join(where)} "
            f"ORDER BY {FTS_TABLE}.rowid DESC LIMIT %s"
        )
        upper: Any = None
        while True:
            bounds = [*scan_params, *([boundary] if boundary is not None else [])]
            page_sql = sql.replace("{upper}", f"{FTS_TABLE}.rowid < %s AND " if upper else "")
            cursor.execute(page_sql, [*bounds, *([upper] if upper else []), *params, batch])
            rows = cursor.fetchall()
            ids += [i for i, body in rows if not check or text.text_matches(body, terms)]
            if len(ids) >= limit or len(rows) < batch:
                break
            upper = rows[-1][0]
            batch = min(batch * 4, 2000)  # the start of the word matched, not the rest: go faster
    if len(ids) >= limit:
        return ids[:limit], None
    return ids, boundary


def _mongo_ids(
    windows: list[tuple[Any, int, int | None]], terms: list[str], filters: Filters, limit: int
) -> tuple[list[Any], Any]:
    """(ids, where the scan stopped when it was cut short)."""
    seen = {cid: (lo, SEQ_MAX if hi is None else hi) for cid, lo, hi in windows}
    rows = list(mongo_candidates_qs(conversation_ids=list(seen), terms=terms, filters=filters))
    kept = [
        m
        for m in rows
        if seen[m.conversation_id][0] < m.seq <= seen[m.conversation_id][1]
        and text.text_matches(m.text, terms)
    ]
    if filters.has == "file" and kept:
        attached = set(attached_message_ids_qs([m.pk for m in kept]))
        kept = [m for m in kept if m.pk in attached]
    stopped = rows[-1].pk if len(rows) == MONGO_SCAN else None
    return [m.pk for m in kept[:limit]], stopped


# --- The search ----------------------------------------------------------------------------------


def message_search(
    *,
    user: User,
    q: str | None,
    before: str | None = None,
    limit: object = None,
    conversation_id: str | None = None,
    sender_id: str | None = None,
    has: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> dict[str, Any]:
    """`{results, nextBefore}`: a page of the messages `user` may see matching `q`."""
    q = (q or "").strip()
    if not q:
        raise _bad("q", Q_REQUIRED)
    if len(q) > Q_MAX_LENGTH:
        raise _bad("q", Q_TOO_LONG)
    size = search_limit(limit)
    if has is not None and has not in HAS_VALUES:
        raise _bad("has", "has must be file or image")
    if since is not None and until is not None and since > until:
        raise _bad("since", BAD_RANGE)
    filters = Filters(
        sender_id=_pk_or_400(User, sender_id, "from", BAD_FROM),
        has=has,
        since=_day_start(since),
        until=_day_start(until, plus=1),  # the whole `until` day
        before_id=_before(before),
    )
    windows = list(windows_qs(user_id=user.pk))
    if conversation_id:
        wanted = parse_pk(Conversation, conversation_id)
        windows = [w for w in windows if w[0] == wanted]
        if not windows:
            raise ServiceError(CONVERSATION_NOT_FOUND, status=404)
    terms = text.query_terms(q)
    if not terms or not windows:
        return {"results": [], "nextBefore": None}
    if _connection().vendor == "sqlite":
        ids, stopped = _sqlite_ids(windows, terms, filters, size + 1, user.pk)
    else:
        ids, stopped = _mongo_ids(windows, terms, filters, size + 1)
    if len(ids) > size:
        next_before = str(ids[size - 1])  # a result: they may see it
    elif stopped is not None:
        next_before = seal(str(stopped))  # not theirs to see: opaque
    else:
        next_before = None
    return {"results": search_results(user, ids[:size], terms), "nextBefore": next_before}


def _before(value: str | None) -> Any:
    """`before`: a message id, or the opaque cursor of a page cut short."""
    if value and value.startswith(CURSOR_PREFIX):
        value = unseal(value)
        if value is None:
            raise _bad("before", BAD_BEFORE)
    return _pk_or_400(Message, value, "before", BAD_BEFORE)


def _pk_or_400(model: type, value: str | None, field: str, message: str) -> Any:
    if value is None or value == "":
        return None
    pk = parse_pk(model, value)
    if pk is None:
        raise _bad(field, message)
    return pk


def search_results(user: User, ids: list[Any], terms: list[str]) -> list[dict[str, Any]]:
    """The results in `ids` order: messages, conversations, the people to name, files,
    reactions and quotes each read once for the whole page."""
    if not ids:
        return []
    by_id = {m.pk: m for m in results_messages_qs(ids)}
    messages = [by_id[pk] for pk in ids if pk in by_id]
    conversations = {
        c.pk: c for c in conversations_by_ids_qs([m.conversation_id for m in messages])
    }
    direct = [pk for pk, c in conversations.items() if not c.is_group]
    peers = {}
    if direct:
        rows = members_qs(conversation_ids=direct).exclude(user_id=user.pk)
        peers = dict(rows.values_list("conversation_id", "user_id"))
    people = {u.pk: u for u in people_qs({m.sender_id for m in messages} | set(peers.values()))}
    files = files_by_message([m.pk for m in messages])
    originals, reactions = message_extras(messages)
    results = []
    for m in messages:
        conversation = conversations[m.conversation_id]
        sender = people.get(m.sender_id)
        title = conversation.title
        if not conversation.is_group:
            peer = people.get(peers.get(conversation.pk))
            title = peer.full_name if peer is not None else ""
        results.append(
            {
                "message": message_public(
                    m,
                    NO_RECEIPT,
                    files.get(m.pk),
                    original=originals.get(m.reply_to_id),
                    reactions=reactions.get(m.pk, []),
                ),
                "conversation": {
                    "_id": str(conversation.pk),
                    "kind": conversation.kind,
                    "title": title,
                },
                "sender": {
                    "_id": str(m.sender_id),
                    "fullName": sender.full_name if sender is not None else "",
                },
                "snippet": text.snippet(m.text, terms),
            }
        )
    return results
