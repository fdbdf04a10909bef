"""The SQLite full-text index of message text: an FTS5 external-content table and its triggers.

`search_message_fts` indexes `messaging_message.text` (rowid = the message id) with the
`unicode61 remove_diacritics 2` tokenizer, so case and accents are ignored, and prefix indexes
for 2- to 6-character prefixes (a prefix query without its own index makes FTS5 merge the lists
of every word it starts into one, in memory: tens of milliseconds for a common word). Only live
text messages are in it: system lines and messages deleted for everyone are not.

SQL triggers keep it in sync whoever writes the row (the send path's fixed SQL in
messaging/hotsql.py, edits and deletes through the ORM, the admin, purge_messages): no query
is added to any Python path, and nothing that writes messages can forget the index.
docs/SEARCH.md says why; `manage.py search_rebuild` rebuilds it from the messages.
"""

from __future__ import annotations

from typing import Any

FTS_TABLE = "search_message_fts"
MESSAGE_TABLE = "messaging_message"
TRIGGERS = ("search_message_ai", "search_message_au", "search_message_ad")

# What the index holds: live text messages with some text. The triggers and the rebuild use it.
_INDEXED = "{row}.kind = 'text' AND {row}.deleted_at IS NULL AND {row}.text != ''"


def _indexed(row: str) -> str:
    return _INDEXED.format(row=row)


CREATE_TABLE = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
    f"text, content='{MESSAGE_TABLE}', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2', prefix='2 3 4 5 6')"
)

CREATE_TRIGGERS = [
    f"CREATE TRIGGER IF NOT EXISTS search_message_ai AFTER INSERT ON {MESSAGE_TABLE} "
    f"WHEN {_indexed('new')} BEGIN "
    f"INSERT INTO {FTS_TABLE}(rowid, text) VALUES (new.id, new.text); END",
    # An edit or a delete-for-everyone: the old text leaves the index, the new one (if still
    # indexable) enters it. `delete` must be given the exact text that was indexed.
    f"CREATE TRIGGER IF NOT EXISTS search_message_au AFTER UPDATE OF text, kind, deleted_at "
    f"ON {MESSAGE_TABLE} BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, text) "
    f"SELECT 'delete', old.id, old.text WHERE {_indexed('old')}; "
    f"INSERT INTO {FTS_TABLE}(rowid, text) SELECT new.id, new.text WHERE {_indexed('new')}; END",
    f"CREATE TRIGGER IF NOT EXISTS search_message_ad AFTER DELETE ON {MESSAGE_TABLE} "
    f"WHEN {_indexed('old')} BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, text) VALUES ('delete', old.id, old.text); END",
]

DROP = [f"DROP TRIGGER IF EXISTS {name}" for name in TRIGGERS] + [
    f"DROP TABLE IF EXISTS {FTS_TABLE}"
]

FILL = (
    f"INSERT INTO {FTS_TABLE}(rowid, text) SELECT id, text FROM {MESSAGE_TABLE} "
    f"WHERE {_indexed(MESSAGE_TABLE)}"
)


def install(cursor: Any) -> None:
    """Create the table and triggers (idempotent) and index the messages there are."""
    cursor.execute(CREATE_TABLE)
    for statement in CREATE_TRIGGERS:
        cursor.execute(statement)


def rebuild(cursor: Any) -> int:
    """Make the table and triggers again (as this module defines them now) and index the
    messages; the number of messages indexed."""
    for statement in DROP:
        cursor.execute(statement)
    install(cursor)
    cursor.execute(FILL)
    cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('optimize')")
    cursor.execute(f"SELECT count(*) FROM {FTS_TABLE}_docsize")  # one row per indexed message
    return int(cursor.fetchone()[0])


def drop_triggers(cursor: Any) -> None:
    """For bulk loads (the bench): load, then `rebuild` (which puts the triggers back)."""
    for name in TRIGGERS:
        cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
