"""Every query the messaging app runs compiles for MongoDB, with no MongoDB server.

A second database alias uses django_mongodb_backend with a HOST where nothing listens. The
backend's four ways of reaching the server (aggregate cursor, update_many, delete_many,
insert_many) are replaced by recorders, and opening a connection or a collection fails the
test. So each query goes through the backend's real compiler, exactly as on MongoDB (an
unsupported lookup, join or subquery raises NotSupportedError here), and what would be sent
to the server is captured as an aggregation pipeline or a filter document.

The query builders are also compiled under the real MongoDB settings (ObjectId primary keys,
MONGO_URI set) in a subprocess, see `test_builders_compile_under_the_mongo_settings`.
"""

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from django.db.models import Count, Model, Value
from django.db.models.functions import Coalesce
from django.test import RequestFactory, override_settings
from django.utils import timezone
from django_mongodb_backend.base import DatabaseWrapper
from django_mongodb_backend.compiler import SQLInsertCompiler, SQLUpdateCompiler
from django_mongodb_backend.query import MongoQuery

from accounts import services as account_services
from accounts.models import User
from messaging import selectors, services
from messaging.admin import ConversationFilter, ImageFilter, MessageAdmin, ReceiptFilter
from messaging.models import Message
from tests.accounts.images import b64, picture

ALIAS = "mongo_compile"
CLOSED_PORT_URI = "mongodb://127.0.0.1:1/parley_compile"  # nothing listens on port 1
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Recorder:
    """What the app would have sent to MongoDB, and canned answers for its reads."""

    reads: list[tuple[str, list[dict]]] = field(default_factory=list)
    updates: list[tuple[str, dict, list[dict]]] = field(default_factory=list)
    deletes: list[tuple[str, dict]] = field(default_factory=list)
    inserts: list[tuple[str, list[dict]]] = field(default_factory=list)
    # collection name -> documents every read of that collection returns
    rows: dict[str, list[dict]] = field(default_factory=dict)

    def read_stages(self, collection: str) -> list[list[str]]:
        return [[next(iter(stage)) for stage in p] for c, p in self.reads if c == collection]


class _Cursor:
    """Enough of pymongo's CommandCursor for the compiler: iteration and next()."""

    def __init__(self, rows: list[dict]) -> None:
        self._rows = iter([dict(row) for row in rows])

    def __iter__(self) -> Iterator[dict]:
        return self._rows

    def __next__(self) -> dict:
        return next(self._rows)

    next = __next__


class _ToMongo:
    """A router sending every model to the compile-only alias."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        return ALIAS

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        return ALIAS


@pytest.fixture(scope="module")
def mongo_alias() -> Iterator[str]:
    """A django_mongodb_backend alias pointing at a closed port."""
    config = {"ENGINE": "django_mongodb_backend", "HOST": CLOSED_PORT_URI, "NAME": "parley"}
    configured = connections.configure_settings(
        {"default": dict(connections.settings["default"]), ALIAS: config}
    )
    connections.settings[ALIAS] = configured[ALIAS]
    yield ALIAS
    del connections[ALIAS]
    del connections.settings[ALIAS]


@pytest.fixture
def mongo(mongo_alias: str, monkeypatch: pytest.MonkeyPatch) -> Recorder:
    """Record instead of executing; any attempt to reach a server fails the test."""
    rec = Recorder()

    def get_cursor(query: MongoQuery) -> _Cursor:
        name = query.compiler.collection_name
        rec.reads.append((name, query.get_pipeline()))
        return _Cursor(rec.rows.get(name, []))

    def update(compiler: SQLUpdateCompiler, criteria: dict, pipeline: list[dict]) -> int:
        rec.updates.append((compiler.collection_name, criteria, pipeline))
        return 1

    def delete(query: MongoQuery) -> int:
        assert not query.compiler.subqueries, "MongoDB cannot delete with a subquery"
        rec.deletes.append((query.compiler.collection_name, query.match_mql))
        return 0  # lets batch loops finish: nothing "left" to delete

    def insert(compiler: SQLInsertCompiler, docs: list[dict], returning_fields: Any = None):  # noqa: ANN202
        from bson import ObjectId

        rec.inserts.append((compiler.collection_name, docs))
        return [(ObjectId(),) for _ in docs] if returning_fields else []

    def no_server(*args: object, **kwargs: object) -> None:
        raise AssertionError("a query tried to reach the MongoDB server")

    monkeypatch.setattr(MongoQuery, "get_cursor", get_cursor)
    monkeypatch.setattr(MongoQuery, "delete", delete)
    monkeypatch.setattr(SQLUpdateCompiler, "update", update)
    monkeypatch.setattr(SQLInsertCompiler, "insert", insert)
    monkeypatch.setattr(DatabaseWrapper, "get_new_connection", no_server)
    monkeypatch.setattr(DatabaseWrapper, "get_collection", no_server)
    # Model.save() opens atomic(using=...): with a server-less backend that is bookkeeping.
    monkeypatch.setattr(connections[mongo_alias], "ensure_connection", lambda: None)
    return rec


def fake_pk(model: type[Model], n: int) -> Any:
    """A primary key value of the type this backend uses (ObjectId on Mongo, int on SQL)."""
    if model._meta.pk.get_internal_type() == "ObjectIdAutoField":
        from bson import ObjectId

        return ObjectId(f"{n:024x}")
    return n


def unsaved(model: type[Model], n: int, **fields: Any) -> Any:
    return model(pk=fake_pk(model, n), **fields)


def document(instance: Model) -> dict:
    """The row the backend would read for `instance` (naive UTC datetimes, by column)."""
    doc = {}
    for f in instance._meta.concrete_fields:
        value = getattr(instance, f.attname)
        if isinstance(value, datetime):
            value = value.astimezone(UTC).replace(tzinfo=None)
        doc[f.column] = value
    return doc


USERS = User._meta.db_table
MESSAGES = Message._meta.db_table

# --- Each query builder compiles ------------------------------------------------------------


def _builders() -> dict[str, Callable[[], Any]]:
    me, other = unsaved(User, 1), unsaved(User, 2)
    cursor = fake_pk(Message, 7)
    now = timezone.now()
    page = dict(user_id=me.pk, other_id=other.pk, limit=50)
    return {
        "user": lambda: list(selectors.user_qs(user_id=me.pk, active_only=True)),
        "contacts": lambda: list(selectors.contacts_qs(user=me)),
        "summaries": lambda: list(selectors.conversation_summaries_qs(user=me)),
        "by_ids": lambda: list(selectors.messages_by_ids_qs([cursor, fake_pk(Message, 8)])),
        "page_newest": lambda: selectors.message_page(**page),
        "page_before": lambda: selectors.message_page(before=cursor, **page),
        "page_after": lambda: selectors.message_page(after=cursor, **page),
        "cursor_exists": lambda: (
            selectors.conversation_qs(user_id=me.pk, other_id=other.pk).filter(pk=cursor).exists()
        ),
        "by_client_id": lambda: selectors.message_by_client_id_qs(
            sender_id=me.pk, client_id="c-1"
        ).first(),
        "undelivered_groups": lambda: list(
            selectors.undelivered_by_sender_qs(receiver_id=me.pk, up_to=cursor)
        ),
        "older_than_count": lambda: selectors.messages_older_than_qs(older_than=now).count(),
        "pair_counts": lambda: list(selectors.pair_counts_qs()),
        "senders_today": lambda: Message.objects.filter(created_at__gte=now).aggregate(
            n=Count("sender_id", distinct=True)
        ),
        # Writes: the filter and the $set pipeline.
        "mark_delivered": lambda: selectors.undelivered_qs(receiver_id=me.pk, up_to=cursor).update(
            delivered_at=now, updated_at=now
        ),
        "mark_read": lambda: selectors.unread_qs(
            reader_id=me.pk, other_id=other.pk, up_to=cursor
        ).update(read_at=now, delivered_at=Coalesce("delivered_at", Value(now)), updated_at=now),
        "delete_by_ids": lambda: selectors.messages_by_ids_qs([cursor]).delete(),
    }


BUILDERS = sorted(_builders())


@pytest.mark.parametrize("name", BUILDERS)
def test_compiles_query_builder(name: str, mongo: Recorder) -> None:
    """The builder's query becomes a pipeline (reads) or a filter and $set (writes)."""
    with override_settings(DATABASE_ROUTERS=[_ToMongo()]):
        _builders()[name]()
    sent = mongo.reads + mongo.updates + mongo.deletes
    assert sent, "nothing was compiled"
    for entry in mongo.reads:
        assert isinstance(entry[1], list) and entry[1], entry
    for _, criteria, pipeline in mongo.updates:
        assert criteria and pipeline[0]["$set"], (criteria, pipeline)
    for _, criteria in mongo.deletes:
        assert criteria


def test_compiles_the_conversation_page_as_one_bounded_read_per_direction(mongo: Recorder) -> None:
    """A page reads each direction of exactly this pair, each stopping at the page size."""
    me, other = fake_pk(User, 1), fake_pk(User, 2)
    with override_settings(DATABASE_ROUTERS=[_ToMongo()]):
        selectors.message_page(user_id=me, other_id=other, limit=5)
    assert len(mongo.reads) == 2
    directions = set()
    for collection, pipeline in mongo.reads:
        assert collection == MESSAGES
        match = str(pipeline[0]["$match"])
        assert match.count(repr(me)) == 1 and match.count(repr(other)) == 1
        directions.add(match.index(repr(me)) < match.index(repr(other)))
        assert pipeline[-1] == {"$limit": 5}
    assert directions == {True, False}


def test_compiles_the_client_id_index_without_nulls(mongo: Recorder) -> None:
    """The unique (sender, client_id) index leaves out messages without a clientId.

    MongoDB unique indexes treat a missing value as a value; the backend's partial filter keeps
    such documents out of the index, so any number of messages may have no clientId.
    """
    from django.db.models import Index
    from django_mongodb_backend.schema import DatabaseSchemaEditor

    [constraint] = Message._meta.constraints
    index = Index(fields=constraint.fields, name=constraint.name)
    editor = DatabaseSchemaEditor(connections[ALIAS])
    model = index.get_pymongo_index_model(Message, editor, unique=True).document

    assert model["unique"] is True
    assert list(model["key"]) == ["sender_id", "client_id"]
    assert model["partialFilterExpression"]["client_id"] == {"$type": "string"}


# --- The composed reads and the services, driven end to end -----------------------------------


@pytest.fixture
def routed(mongo: Recorder) -> Iterator[Recorder]:
    with override_settings(DATABASE_ROUTERS=[_ToMongo()]):
        yield mongo


def test_compiles_the_users_list(routed: Recorder, db) -> None:  # noqa: ANN001
    me = unsaved(User, 1, full_name="Me", email="me@example.com")
    routed.rows[USERS] = [document(unsaved(User, 2, full_name="Bob", email="b@example.com"))]
    pk_column = Message._meta.pk.column
    routed.rows[MESSAGES] = [
        {
            "sender_id": fake_pk(User, 2),
            "receiver_id": me.pk,
            "last_id": fake_pk(Message, 9),
            "unread": 1,
        }
    ]

    rows = selectors.user_contacts(user=me)

    assert rows[0]["fullName"] == "Bob" and rows[0]["unreadCount"] == 1
    assert len(routed.reads) == 3  # users, summaries, last messages
    assert routed.read_stages(MESSAGES)[0][:2] == ["$match", "$group"]
    assert pk_column in str(routed.reads[-1][1][0]["$match"])


def test_compiles_a_history_page(routed: Recorder, db) -> None:  # noqa: ANN001
    me, bob = unsaved(User, 1), unsaved(User, 2, full_name="Bob", email="b@example.com")
    msg = unsaved(
        Message,
        7,
        sender_id=bob.pk,
        receiver_id=me.pk,
        text="hi",
        created_at=timezone.now(),
        updated_at=timezone.now(),
    )
    routed.rows[USERS] = [document(bob)]
    routed.rows[MESSAGES] = [document(msg)]

    page = selectors.message_history(user=me, other_id=str(bob.pk), before=str(msg.pk), limit="10")

    # The recorder answers every read with the same row, so each direction yields it once.
    assert [m["text"] for m in page] == ["hi", "hi"]
    assert len(routed.reads) == 4  # the other user, the cursor check, one read per direction


def test_compiles_sending(routed: Recorder, db) -> None:  # noqa: ANN001
    me, bob = unsaved(User, 1), unsaved(User, 2, full_name="Bob", email="b@example.com")
    routed.rows[USERS] = [document(bob)]

    message, created = services.message_send(
        sender=me, receiver_id=str(bob.pk), text="hello", image=None, client_id="c-1"
    )

    assert created
    [(collection, [doc])] = routed.inserts
    assert collection == MESSAGES
    assert doc["text"] == "hello" and doc["client_id"] == "c-1"
    assert doc["sender_id"] == me.pk and doc["receiver_id"] == bob.pk


def test_compiles_a_profile_update(routed: Recorder, db) -> None:  # noqa: ANN001
    """A new avatar: the avatar it replaces is read in the same transaction, then the row set."""
    me = unsaved(User, 1, full_name="Me", email="me@example.com", profile_pic="avatars/old.png")
    routed.rows[USERS] = [document(me)]

    account_services.user_update_profile(user=me, full_name="New Me", profile_pic=b64(picture()))

    assert [collection for collection, _ in routed.reads] == [USERS]
    [(collection, criteria, pipeline)] = routed.updates
    assert collection == USERS and criteria
    assert set(pipeline[0]["$set"]) == {"full_name", "profile_pic", "updated_at"}


def test_compiles_receipts(routed: Recorder, db) -> None:  # noqa: ANN001
    me, bob = unsaved(User, 1), unsaved(User, 2, full_name="Bob", email="b@example.com")
    routed.rows[USERS] = [document(bob)]
    routed.rows[MESSAGES] = [{"sender_id": bob.pk, "last_id": fake_pk(Message, 9)}]

    assert services.messages_mark_delivered(receiver=me) == 1
    assert (
        services.messages_mark_read(reader=me, other_id=str(bob.pk), up_to=str(fake_pk(Message, 9)))
        == 1
    )

    delivered, read = routed.updates
    assert set(delivered[2][0]["$set"]) == {"delivered_at", "updated_at"}
    assert set(read[2][0]["$set"]) == {"read_at", "delivered_at", "updated_at"}
    assert "$ifNull" in str(read[2][0]["$set"]["delivered_at"])


def test_compiles_purge_and_delete(routed: Recorder, db) -> None:  # noqa: ANN001
    pk_column = Message._meta.pk.column
    routed.rows[MESSAGES] = [{pk_column: fake_pk(Message, 3), "image": "messages/a.png"}]

    services.messages_purge(older_than=timezone.now(), dry_run=True)
    services.messages_purge(older_than=timezone.now())

    [(collection, criteria)] = routed.deletes
    assert collection == MESSAGES and criteria


def test_compiles_chat_stats(routed: Recorder, db) -> None:  # noqa: ANN001
    stats = selectors.chat_stats(since=timezone.now())
    assert stats["messages"] == 0 and stats["topConversations"] == []
    assert len(routed.reads) >= 5


def test_compiles_the_admin_list(routed: Recorder, db) -> None:  # noqa: ANN001
    """Search across sender/receiver emails and every list filter, as the changelist runs them."""
    from django.contrib import admin

    model_admin = MessageAdmin(Message, admin.site)
    request = RequestFactory().get("/admin/messaging/message/")
    qs, _ = model_admin.get_search_results(request, model_admin.get_queryset(request), "bob")
    pair = f"{fake_pk(User, 1)}-{fake_pk(User, 2)}"
    for flt, value in (
        (ConversationFilter, pair),
        (ReceiptFilter, "delivered"),
        (ImageFilter, "yes"),
    ):
        spec = flt(request, {flt.parameter_name: [value]}, Message, model_admin)
        qs = spec.queryset(request, qs)
    list(qs[:50])

    [stages] = routed.read_stages(MESSAGES)  # the filter's own lookup reads the users
    assert "$lookup" in stages and "$match" in stages


# --- The same builders under the real MongoDB settings -----------------------------------------


@pytest.mark.skipif(
    bool(os.environ.get("MONGO_URI")), reason="already running under the MongoDB settings"
)
def test_builders_compile_under_the_mongo_settings() -> None:
    """With MONGO_URI set (ObjectId keys, Mongo app configs) every builder still compiles."""
    env = {**os.environ, "MONGO_URI": CLOSED_PORT_URI, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            __file__,
            "-q",
            "-k",
            "compiles_query or compiles_the_conv or client_id_index",
            "-p",
            "no:cacheprovider",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "passed" in result.stdout and "failed" not in result.stdout
