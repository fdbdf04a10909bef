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

from django.db import connection
from django.db.models import F

from messaging.models import Conversation, Membership, Message


def sql_enabled() -> bool:
    return connection.vendor in {"sqlite", "postgresql"}


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


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
        "head": f"SELECT {_col(c, 'last_seq')}, {_col(c, 'last_message')} FROM {_table(c)} "
        f"WHERE {_col(c, 'id')} = %s",
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
    }


def _message_fields() -> list[Any]:
    return [f for f in Message._meta.concrete_fields if not f.primary_key]


def conversation_head(conversation_id: Any) -> tuple[int, Any] | None:
    """(last_seq, last_message_id) of a conversation, or None."""
    if not sql_enabled():
        return (
            Conversation.objects.filter(pk=conversation_id)
            .values_list("last_seq", "last_message_id")
            .first()
        )
    with connection.cursor() as cursor:
        cursor.execute(_statements()["head"], [conversation_id])
        row = cursor.fetchone()
    return (row[0], row[1]) if row else None


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
    values = [
        f.get_db_prep_save(f.pre_save(message, add=True), connection) for f in _message_fields()
    ]
    with connection.cursor() as cursor:
        cursor.execute(_statements()["insert"], values)
        row = cursor.fetchone()
    if row is None:
        return False
    message.pk = row[0]
    message._state.adding, message._state.db = False, connection.alias
    return True


def sent_since_read_bump(conversation_id: Any, user_id: Any) -> int:
    """The sender's own message after their read cursor; 0 when they are no active member."""
    if not sql_enabled():
        return (
            Membership.objects.filter(
                conversation_id=conversation_id, user_id=user_id, left_at__isnull=True
            ).update(sent_since_read=F("sent_since_read") + 1)
        )
    with connection.cursor() as cursor:
        cursor.execute(_statements()["sent"], [conversation_id, user_id])
        return cursor.rowcount


def conversation_head_move(
    conversation_id: Any, seq: int, message_id: Any, at: datetime
) -> None:
    if not sql_enabled():
        Conversation.objects.filter(pk=conversation_id).update(
            last_seq=seq, last_message_id=message_id, last_message_at=at
        )
        return
    at_value = Conversation._meta.get_field("last_message_at").get_db_prep_save(at, connection)
    with connection.cursor() as cursor:
        cursor.execute(_statements()["move"], [seq, message_id, at_value, conversation_id])
