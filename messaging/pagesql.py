"""A history page's reads, as plain SQL on SQL databases and through the ORM on MongoDB.

A page is a handful of small index lookups (the person, the conversation, the membership, the
cursor message, the page, the receipt marks, the files, the reactions). SQLite answers each in
microseconds; building each with the ORM took ~0.75 ms, most of a page's time at a million
messages. So, as in messaging/hotsql.py (the send path's statements), each read here is fixed
SQL text made once from the models' own table and column names, its results converted by the
fields' own converters (the values it takes are ids, seqs and keys, which the fields pass to
the database unchanged). On MongoDB (no SQL) each function runs its ORM twin, the selectors'
`*_qs` builders, which tests/test_mongo_compile.py compiles; tests/messaging/test_pagesql.py
holds the SQL to the same results as the ORM. The receipt marks of a page, four index ranges,
are one statement (UNION ALL) instead of four reads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from django.db import connections, router
from django.db.models import Model

from accounts.models import User
from attachments import selectors as attachment_selectors
from attachments.models import Attachment
from messaging import selectors
from messaging.hotsql import RawCursor
from messaging.models import Conversation, Membership, Message, Reaction, ReceiptMark

Converter = Callable[[Any, Any, Any], Any]


def _connection() -> Any:
    """The connection pages are read from (the routers decide, as for the ORM)."""
    return connections[router.db_for_read(Message)]


def sql_enabled() -> bool:
    return _connection().vendor in {"sqlite", "postgresql"}


def _execute(connection: Any, sql: str, params: list[Any]) -> list[tuple]:
    """Rows of one statement written in Django's `%s` style."""
    # While queries are being logged (DEBUG, tests counting queries) Django's cursor runs it,
    # so a query count stays the number of statements the database answers.
    if connection.vendor == "sqlite" and not connection.queries_logged:
        with RawCursor(connection) as cursor:
            cursor.execute(sql.replace("%s", "?"), params)
            return cursor.fetchall()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


class _Select:
    """`SELECT <the model's columns> FROM <its table> WHERE ...`, rows made into instances."""

    def __init__(self, model: type[Model], where: str, *, fields: Sequence[str] = ()) -> None:
        connection = _connection()
        q = connection.ops.quote_name
        opts = model._meta
        chosen = [opts.get_field(name) for name in fields] or list(opts.concrete_fields)
        self.model = model
        self.attnames = [f.attname for f in chosen]
        # What the ORM's compiler would apply to each column (SQLite: aware datetimes...).
        self.converters: list[tuple[int, list[Converter], Any]] = []
        for i, f in enumerate(chosen):
            col = f.get_col(opts.db_table)
            found = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
            if found:
                self.converters.append((i, found, col))
        columns = ", ".join(q(f.column) for f in chosen)
        # `{name}` in `where` is that field's column; `%s` a value.
        names = {f.name: q(f.column) for f in opts.concrete_fields}
        self.sql = f"SELECT {columns} FROM {q(opts.db_table)} WHERE {where.format(**names)}"

    def rows(self, params: Sequence[Any], sql: str | None = None) -> list[tuple]:
        connection = _connection()
        rows = _execute(connection, sql or self.sql, list(params))
        if not rows:
            return []
        out = []
        for row in rows:
            values = list(row)
            for i, found, col in self.converters:
                for convert in found:
                    values[i] = convert(values[i], col, connection)
            out.append(values)
        return out

    def instances(self, params: Sequence[Any], sql: str | None = None) -> list[Any]:
        alias = _connection().alias
        return [self.model.from_db(alias, self.attnames, r) for r in self.rows(params, sql)]


@cache
def _selects(alias: str, vendor: str) -> dict[str, _Select]:
    """The reads, made once per database (`alias`, `vendor` key the cache)."""
    return {
        "user": _Select(User, "{id} = %s"),
        "by_key": _Select(Conversation, "{direct_key} = %s"),
        "conversation": _Select(Conversation, "{id} = %s"),
        "membership": _Select(Membership, "{conversation} = %s AND {user} = %s"),
        "cursor": _Select(Message, "{conversation} = %s AND {id} = %s", fields=["id", "seq"]),
        # One range of the unique (conversation, seq) index, as conversation_page_qs.
        "page_newest": _Select(
            Message,
            "{conversation} = %s AND {seq} > %s AND {seq} <= %s ORDER BY {seq} DESC LIMIT %s",
        ),
        "page_oldest": _Select(
            Message, "{conversation} = %s AND {seq} > %s AND {seq} <= %s ORDER BY {seq} LIMIT %s"
        ),
        "marks": _Select(
            ReceiptMark,
            "{conversation} = %s AND {user} = %s AND {kind} = %s AND {up_to_seq} >= %s "
            "ORDER BY {up_to_seq} LIMIT %s",
            fields=["user", "kind", "up_to_seq", "at"],
        ),
        "reactions": _Select(
            Reaction,
            "{message} IN (%s) ORDER BY {created_at}, {id}",
            fields=["message", "emoji", "user"],
        ),
        "files": _Select(Attachment, "{message} IN (%s)"),
        "originals": _Select(
            Message, "{id} IN (%s)", fields=["id", "sender", "text", "image", "deleted_at"]
        ),
    }


def _select(name: str) -> _Select:
    connection = _connection()
    return _selects(connection.alias, connection.vendor)[name]


def _one(found: list[Any]) -> Any:
    return found[0] if found else None


def _in(select: _Select, count: int) -> str:
    """The statement with its `IN (%s)` grown to `count` values."""
    return select.sql.replace("IN (%s)", f"IN ({', '.join(['%s'] * count)})", 1)


# --- The reads ------------------------------------------------------------------------------------

# No seq is this high: the open end of a page's range (seqs are positive 64-bit integers).
_SEQ_END = 2**63 - 1


def user(pk: Any) -> User | None:
    """The user with this (parsed) pk, active or not."""
    if not sql_enabled():
        return selectors.user_qs(user_id=pk).first()
    return _one(_select("user").instances([pk]))


def conversation_by_key(key: str) -> Conversation | None:
    if not sql_enabled():
        return selectors.conversation_by_key_qs(key).first()
    return _one(_select("by_key").instances([key]))


def conversation(pk: Any) -> Conversation | None:
    if not sql_enabled():
        return selectors.conversations_by_ids_qs([pk]).first()
    return _one(_select("conversation").instances([pk]))


def membership(conversation_id: Any, user_id: Any) -> Membership | None:
    if not sql_enabled():
        return selectors.membership_qs(conversation_id=conversation_id, user_id=user_id).first()
    return _one(_select("membership").instances([conversation_id, user_id]))


def message_seq(conversation_id: Any, message_pk: Any) -> tuple[Any, int] | None:
    """(pk, seq) of the message if it belongs to this conversation, else None."""
    if not sql_enabled():
        return (
            selectors.message_in_conversation_qs(
                conversation_id=conversation_id, message_id=message_pk
            )
            .values_list("pk", "seq")
            .first()
        )
    row = _one(_select("cursor").rows([conversation_id, message_pk]))
    return (row[0], row[1]) if row else None


def page(**window: Any) -> list[Message]:
    """What conversation_page_qs(**window) reads: a range of one conversation's seqs, the
    oldest `limit` after `after_seq`, otherwise the newest `limit` (newest first)."""
    if not sql_enabled():
        return list(selectors.conversation_page_qs(**window))
    low, high = selectors.page_bounds(**window)
    name = "page_oldest" if window.get("after_seq") is not None else "page_newest"
    high = _SEQ_END if high is None else high
    return _select(name).instances([window["conversation_id"], low, high, window["limit"]])


def receipt_marks(
    conversation_id: Any, wanted: list[tuple[Any, str, int, int]]
) -> dict[tuple[Any, str], list[tuple[int, Any]]]:
    """For each (user, kind, from_seq, limit): that cursor's moves from `from_seq` on, oldest
    first, at most `limit` of them, as (up_to_seq, at). One statement for all of them on SQL
    (each a range of the receipt_lookup index, joined by UNION ALL); one read each on MongoDB."""
    found: dict[tuple[Any, str], list[tuple[int, Any]]] = {(u, k): [] for u, k, _, _ in wanted}
    if not wanted:
        return found
    if not sql_enabled():
        for user_id, kind, from_seq, limit in wanted:
            marks = selectors.receipt_marks_qs(
                conversation_id=conversation_id,
                user_id=user_id,
                kind=kind,
                from_seq=from_seq,
                limit=limit,
            )
            found[user_id, kind] = [(m.up_to_seq, m.at) for m in marks]
        return found
    select = _select("marks")
    # A parenthesised SELECT with its own ORDER BY/LIMIT is what UNION ALL keeps apart.
    sql = " UNION ALL ".join(f"SELECT * FROM ({select.sql}) AS r{n}" for n in range(len(wanted)))
    params = [p for u, k, s, n in wanted for p in (conversation_id, u, k, s, n)]
    for user_id, kind, up_to_seq, at in select.rows(params, sql):
        found[user_id, kind].append((up_to_seq, at))
    return found


def reactions(message_ids: list[Any]) -> list[tuple[Any, str, Any]]:
    """(message id, emoji, user id) of these messages' reactions, in the order they were made."""
    if not message_ids:
        return []
    if not sql_enabled():
        return list(
            selectors.reactions_qs(message_ids).values_list("message_id", "emoji", "user_id")
        )
    select = _select("reactions")
    return [tuple(r) for r in select.rows(message_ids, _in(select, len(message_ids)))]


def files(message_ids: list[Any]) -> list[Attachment]:
    """The attachments of these messages (those that carry one)."""
    if not message_ids:
        return []
    if not sql_enabled():
        return list(attachment_selectors.attachments_of_messages_qs(message_ids=message_ids))
    select = _select("files")
    return select.instances(message_ids, _in(select, len(message_ids)))


def reply_originals(ids: list[Any]) -> list[Message]:
    """The messages replies quote, with only what a quote shows."""
    if not ids:
        return []
    if not sql_enabled():
        return list(selectors.reply_originals_qs(ids))
    select = _select("originals")
    return select.instances(ids, _in(select, len(ids)))
