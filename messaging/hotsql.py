"""The send path's statements, as plain SQL on SQL databases and through the ORM on MongoDB.

Building a query with the ORM costs about ten times what SQLite takes to run it (measured:
~3,900 Python calls per stored message, the statements themselves ~0.4 ms of ~5 ms), and a
message takes four statements. These few run as fixed SQL text, made once from the models'
own table and column names, with values prepared by the models' own fields; everywhere else the
ORM stays. On MongoDB (no SQL) each function runs its ORM twin, which
tests/test_mongo_compile.py compiles and tests/messaging/test_hotsql.py holds to the same
results as the SQL.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from django.db import connections, router
from django.db.models import F

from messaging.models import Conversation, Membership, Message, ReceiptMark


def _connection() -> Any:
    """The connection messages are written to (the routers decide, as for the ORM)."""
    return connections[router.db_for_write(Message)]


def sql_enabled() -> bool:
    return _connection().vendor in {"sqlite", "postgresql"}


def _q(name: str) -> str:
    return _connection().ops.quote_name(name)


class RawCursor:
    """The driver's own cursor for fixed statements (here and messaging/pagesql.py), errors
    still Django's.

    Django's cursor wrapper rewrites `%s` to `?` with a regular expression, checks for async
    use and runs execute wrappers on every call: ~50 us a statement, more than SQLite takes
    to run most of these. The statements here are SQLite's `?` style already (see _sql()).
    """

    def __init__(self, connection: Any = None) -> None:
        self.connection = connection if connection is not None else _connection()

    def __enter__(self) -> Any:
        self.connection.ensure_connection()
        self._errors = self.connection.wrap_database_errors
        self._errors.__enter__()
        self.cursor = self.connection.connection.cursor()
        return self.cursor

    def __exit__(self, *exc: Any) -> None:
        self.cursor.close()
        self._errors.__exit__(*exc)


def _cursor() -> Any:
    connection = _connection()
    return RawCursor() if connection.vendor == "sqlite" else connection.cursor()


def _sql(name: str) -> str:
    text = _statements()[name]
    return text.replace("%s", "?") if _connection().vendor == "sqlite" else text


def _table(model: type) -> str:
    return _q(model._meta.db_table)


def _col(model: type, name: str) -> str:
    return _q(model._meta.get_field(name).column)


@cache
def _statements() -> dict[str, str]:
    c, m, msg = Conversation, Membership, Message
    fields = [f for f in msg._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(_q(f.column) for f in fields)
    return {
        "head": f"SELECT {_col(c, 'last_seq')}, {_col(c, 'last_message')}, "
        f"{_col(c, 'direct_key')} FROM {_table(c)} WHERE {_col(c, 'id')} = %s",
        # A repeated (sender, client_id) inserts nothing and returns no row: no savepoint
        # needed to survive the duplicate.
        "insert": f"INSERT INTO {_table(msg)} ({columns}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT DO NOTHING RETURNING {_col(msg, 'id')}",
        "sent": f"UPDATE {_table(m)} SET {_col(m, 'sent_since_read')} = "
        f"{_col(m, 'sent_since_read')} + 1 WHERE {_col(m, 'conversation')} = %s "
        f"AND {_col(m, 'user')} = %s AND {_col(m, 'left_at')} IS NULL",
        "move": f"UPDATE {_table(c)} SET {_col(c, 'last_seq')} = %s, "
        f"{_col(c, 'last_message')} = %s, {_col(c, 'last_message_at')} = %s "
        f"WHERE {_col(c, 'id')} = %s",
        "delivered": f"UPDATE {_table(m)} SET {_col(m, 'delivered_seq')} = %s, "
        f"{_col(m, 'delivered_at')} = %s WHERE {_col(m, 'conversation')} = %s "
        f"AND {_col(m, 'user')} = %s AND {_col(m, 'delivered_seq')} < %s",
        "mark": f"INSERT INTO {_table(ReceiptMark)} ({_col(ReceiptMark, 'conversation')}, "
        f"{_col(ReceiptMark, 'user')}, {_col(ReceiptMark, 'kind')}, "
        f"{_col(ReceiptMark, 'up_to_seq')}, {_col(ReceiptMark, 'at')}) VALUES (%s, %s, %s, %s, %s)",
        "keys": f"SELECT {_col(c, 'id')}, {_col(c, 'direct_key')} FROM {_table(c)} "
        f"WHERE {_col(c, 'id')} IN (%s)",
    }


def _message_fields() -> list[Any]:
    return [f for f in Message._meta.concrete_fields if not f.primary_key]


def conversation_head(conversation_id: Any) -> tuple[int, Any, str | None] | None:
    """(last_seq, last_message_id, direct_key) of a conversation, or None."""
    if not sql_enabled():
        return (
            Conversation.objects.filter(pk=conversation_id)
            .values_list("last_seq", "last_message_id", "direct_key")
            .first()
        )
    with _cursor() as cursor:
        cursor.execute(_sql("head"), [conversation_id])
        row = cursor.fetchone()
    return (row[0], row[1], row[2]) if row else None


def message_insert(message: Message) -> bool:
    """Insert `message` (setting its pk); False when its (sender, clientId) exists already."""
    if not sql_enabled():
        from django.db import IntegrityError, transaction

        try:
            with transaction.atomic():
                message.save(force_insert=True)
        except IntegrityError:
            if message.client_id is None:
                raise
            return False
        return True
    connection = _connection()
    values = [
        f.get_db_prep_save(f.pre_save(message, add=True), connection) for f in _message_fields()
    ]
    with _cursor() as cursor:
        cursor.execute(_sql("insert"), values)
        row = cursor.fetchone()
    if row is None:
        return False
    message.pk = row[0]
    message._state.adding, message._state.db = False, connection.alias
    return True


def sent_since_read_bump(conversation_id: Any, user_id: Any) -> int:
    """The sender's own message after their read cursor; 0 when they are no active member."""
    if not sql_enabled():
        return Membership.objects.filter(
            conversation_id=conversation_id, user_id=user_id, left_at__isnull=True
        ).update(sent_since_read=F("sent_since_read") + 1)
    with _cursor() as cursor:
        cursor.execute(_sql("sent"), [conversation_id, user_id])
        return cursor.rowcount


def conversation_head_move(conversation_id: Any, seq: int, message_id: Any, at: datetime) -> None:
    if not sql_enabled():
        Conversation.objects.filter(pk=conversation_id).update(
            last_seq=seq, last_message_id=message_id, last_message_at=at
        )
        return
    connection = _connection()
    at_value = Conversation._meta.get_field("last_message_at").get_db_prep_save(at, connection)
    with _cursor() as cursor:
        cursor.execute(_sql("move"), [seq, message_id, at_value, conversation_id])


def direct_keys(conversation_ids: list[Any]) -> dict[Any, str | None]:
    """The conversations that exist among these ids -> their direct_key (None: a group)."""
    if not conversation_ids:
        return {}
    if not sql_enabled():
        return dict(
            Conversation.objects.filter(pk__in=conversation_ids).values_list("pk", "direct_key")
        )
    marks = "?" if _connection().vendor == "sqlite" else "%s"
    sql = _sql("keys").replace(f"({marks})", f"({', '.join([marks] * len(conversation_ids))})")
    with _cursor() as cursor:
        cursor.execute(sql, list(conversation_ids))
        return dict(cursor.fetchall())


def delivered_moves(moves: list[tuple[Any, Any, int]], at: datetime) -> list[tuple[Any, Any, int]]:
    """Move each (conversation, user) delivered cursor still behind `seq` to it, logging each
    move (a ReceiptMark); the moves made (another tab or process may have made the others)."""
    if not sql_enabled():
        made = [
            (cid, uid, seq)
            for cid, uid, seq in moves
            if Membership.objects.filter(
                conversation_id=cid, user_id=uid, delivered_seq__lt=seq
            ).update(delivered_seq=seq, delivered_at=at)
        ]
        ReceiptMark.objects.bulk_create(
            [
                ReceiptMark(conversation_id=c, user_id=u, kind="delivered", up_to_seq=s, at=at)
                for c, u, s in made
            ]
        )
        return made
    connection = _connection()
    at_value = Membership._meta.get_field("delivered_at").get_db_prep_save(at, connection)
    made = []
    with _cursor() as cursor:
        for cid, uid, seq in moves:
            cursor.execute(_sql("delivered"), [seq, at_value, cid, uid, seq])
            if cursor.rowcount:
                made.append((cid, uid, seq))
        if made:
            cursor.executemany(_sql("mark"), [(c, u, "delivered", s, at_value) for c, u, s in made])
    return made
