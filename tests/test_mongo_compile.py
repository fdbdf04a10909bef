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
from django.db.models import Count, F, Model
from django.test import RequestFactory, override_settings
from django.utils import timezone
from django_mongodb_backend.base import DatabaseWrapper
from django_mongodb_backend.compiler import SQLInsertCompiler, SQLUpdateCompiler
from django_mongodb_backend.query import MongoQuery

from accounts import services as account_services
from accounts.models import User
from attachments import selectors as attachment_selectors
from attachments.models import Attachment
from messaging import (
    conversation_selectors,
    editing,
    hotsql,
    pagesql,
    reactions,
    receipts,
    selectors,
    sending,
    services,
)
from messaging.admin import ConversationFilter, ImageFilter, MessageAdmin
from messaging.members import member_ids
from messaging.models import Conversation, Membership, Message, MessageEdit, Reaction, ReceiptMark
from safety import selectors as safety_selectors
from safety.cache import blocks_of
from safety.models import Block, Report
from search import selectors as search_selectors
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
    # collection name -> answers for its next reads, in order (before falling back to `rows`)
    answers: dict[str, list[list[dict]]] = field(default_factory=dict)

    def answer(self, collection: str) -> list[dict]:
        queued = self.answers.get(collection)
        return queued.pop(0) if queued else self.rows.get(collection, [])

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
        return _Cursor(rec.answer(name))

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
        # Ids of the type the model's pk takes here (ObjectId under the Mongo settings).
        if not returning_fields:
            return []
        if compiler.query.model._meta.pk.get_internal_type() == "ObjectIdAutoField":
            return [(ObjectId(),) for _ in docs]
        return [(n,) for n in range(1000, 1000 + len(docs))]

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
CONVERSATIONS = Conversation._meta.db_table
MEMBERSHIPS = Membership._meta.db_table

# --- Each query builder compiles ------------------------------------------------------------


def _builders() -> dict[str, Callable[[], Any]]:
    me, other = unsaved(User, 1), unsaved(User, 2)
    conversation = fake_pk(Conversation, 5)
    cursor = fake_pk(Message, 7)
    upload = fake_pk(Attachment, 11)
    now = timezone.now()
    page = dict(conversation_id=conversation, seq_from=3, seq_until=90, limit=50)
    return {
        "user": lambda: list(selectors.user_qs(user_id=me.pk, active_only=True)),
        "contacts": lambda: list(selectors.contacts_qs(user=me)),
        "memberships_of": lambda: list(selectors.memberships_of_qs(user_id=me.pk)),
        "members": lambda: list(
            selectors.members_qs(conversation_ids=[conversation]).filter(left_at__isnull=True)
        ),
        "member_ids": lambda: member_ids(conversation),
        "membership": lambda: selectors.membership_qs(
            conversation_id=conversation, user_id=me.pk
        ).first(),
        "conversations_by_ids": lambda: list(selectors.conversations_by_ids_qs([conversation])),
        "direct_by_key": lambda: selectors.direct_conversation(user_id=me.pk, other_id=other.pk),
        "by_ids": lambda: list(selectors.messages_by_ids_qs([cursor, fake_pk(Message, 8)])),
        "page_newest": lambda: list(selectors.conversation_page_qs(**page)),
        "page_before": lambda: list(selectors.conversation_page_qs(before_seq=40, **page)),
        "page_after": lambda: list(selectors.conversation_page_qs(after_seq=40, **page)),
        "message_seq": lambda: (
            selectors.message_in_conversation_qs(conversation_id=conversation, message_id=cursor)
            .values_list("pk", "seq")
            .first()
        ),
        "reactions_of": lambda: list(selectors.reactions_qs([cursor, fake_pk(Message, 8)])),
        "reply_originals": lambda: list(selectors.reply_originals_qs([cursor])),
        "by_client_id": lambda: selectors.message_by_client_id_qs(
            sender_id=me.pk, client_id="c-1"
        ).first(),
        "receipt_marks": lambda: list(
            selectors.receipt_marks_qs(
                conversation_id=conversation, user_id=me.pk, kind="read", from_seq=3, limit=60
            )
        ),
        "contact_ids": lambda: selectors.contact_ids(str(me.pk)),
        "member_counts": lambda: list(
            conversation_selectors.member_counts_qs(conversation_ids=[conversation])
        ),
        "users_by_ids": lambda: list(conversation_selectors.users_by_ids_qs([me.pk, other.pk])),
        "last_messages": lambda: list(
            conversation_selectors.last_messages_qs(
                ids=[cursor], at=[(conversation, 4), (fake_pk(Conversation, 6), 9)]
            )
        ),
        "message_sender": lambda: conversation_selectors.message_sender_qs(
            conversation_id=conversation, message_id=cursor
        ).first(),
        "receipt_times": lambda: list(
            conversation_selectors.receipt_times_qs(
                conversation_id=conversation, user_ids=[me.pk, other.pk], seq=3
            )
        ),
        "older_than_count": lambda: selectors.messages_older_than_qs(older_than=now).count(),
        "conversation_counts": lambda: list(selectors.conversation_counts_qs()),
        "senders_today": lambda: Message.objects.filter(created_at__gte=now).aggregate(
            n=Count("sender_id", distinct=True)
        ),
        # Writes: the filter and the $set pipeline.
        "head_move": lambda: Conversation.objects.filter(pk=conversation).update(
            last_seq=8, last_message_id=cursor, last_message_at=now
        ),
        "unread_bookkeeping": lambda: (
            selectors.membership_qs(conversation_id=conversation, user_id=me.pk)
            .filter(left_at__isnull=True)
            .update(sent_since_read=F("sent_since_read") + 1)
        ),
        "cursor_move": lambda: (
            selectors.membership_qs(conversation_id=conversation, user_id=me.pk)
            .filter(read_seq__lt=8)
            .update(read_seq=8, read_at=now, sent_since_read=0)
        ),
        "delete_by_ids": lambda: selectors.messages_by_ids_qs([cursor]).delete(),
        # The send path's statements, as MongoDB runs them (messaging/hotsql.py).
        "hot_head": lambda: hotsql.conversation_head(conversation),
        "hot_sent_bump": lambda: hotsql.sent_since_read_bump(conversation, me.pk),
        "hot_head_move": lambda: hotsql.conversation_head_move(conversation, 8, cursor, now),
        "hot_direct_keys": lambda: hotsql.direct_keys([conversation]),
        "hot_delivered_moves": lambda: hotsql.delivered_moves([(conversation, me.pk, 8)], now),
        # A history page's reads, as MongoDB runs them (messaging/pagesql.py).
        "page_user": lambda: pagesql.user(other.pk),
        "page_by_key": lambda: pagesql.conversation_by_key("1:2"),
        "page_conversation": lambda: pagesql.conversation(conversation),
        "page_membership": lambda: pagesql.membership(conversation, me.pk),
        "page_cursor": lambda: pagesql.message_seq(conversation, cursor),
        "page_range_before": lambda: pagesql.page(before_seq=40, **page),
        "page_range_after": lambda: pagesql.page(after_seq=40, **page),
        "page_marks": lambda: pagesql.receipt_marks(
            conversation, [(me.pk, "delivered", 3, 5), (other.pk, "read", 3, 5)]
        ),
        "page_reactions": lambda: pagesql.reactions([cursor]),
        "page_files": lambda: pagesql.files([cursor]),
        "page_originals": lambda: pagesql.reply_originals([cursor]),
        # Attachments (attachments/selectors.py, services.py).
        "files_by_message": lambda: attachment_selectors.files_by_message([cursor]),
        "attachment": lambda: attachment_selectors.attachment_qs(attachment_id=upload).first(),
        "attachments_in": lambda: list(
            attachment_selectors.attachments_in_qs(conversation_ids=[conversation])
        ),
        "unsent_before": lambda: attachment_selectors.unsent_before_qs(created_before=now).count(),
        "member_window": lambda: attachment_selectors.member_window_qs(
            conversation_id=conversation, user_id=me.pk
        ).first(),
        "message_seq_of_file": lambda: attachment_selectors.message_seq_qs(
            conversation_id=conversation, message_id=cursor
        ).first(),
        "attachment_attach": lambda: Attachment.objects.filter(
            pk=upload, message__isnull=True, uploader_id=me.pk
        ).update(message_id=cursor),
        "attachments_delete": lambda: Attachment.objects.filter(pk__in=[upload]).delete(),
        "search_windows": lambda: list(search_selectors.windows_qs(user_id=me.pk)),
        "search_candidates": lambda: list(
            search_selectors.mongo_candidates_qs(
                conversation_ids=[conversation],
                terms=["caf", "ete"],
                filters=search_selectors.Filters(
                    sender_id=other.pk, has="image", since=now, until=now, before_id=cursor
                ),
            )
        ),
        "search_attached": lambda: list(search_selectors.attached_message_ids_qs([cursor])),
        "search_messages": lambda: list(search_selectors.results_messages_qs([cursor])),
        "search_people": lambda: list(search_selectors.people_qs({me.pk, other.pk})),
        # Safety (safety/selectors.py, services.py) and the capped seed list of users.
        "contacts_capped": lambda: list(
            selectors.contacts_qs(user=me, first=[other.pk], exclude=[other.pk], limit=500)
        ),
        "contacts_capped_no_partner": lambda: list(selectors.contacts_qs(user=me, limit=500)),
        "block_rows": lambda: list(safety_selectors.block_rows_qs(user_id=me.pk)),
        "blocks_made": lambda: list(safety_selectors.blocks_made_qs(user_id=me.pk)),
        "block_delete": lambda: Block.objects.filter(
            blocker_id=me.pk, blocked_id=other.pk
        ).delete(),
        "directory_all": lambda: list(
            safety_selectors.directory_qs(text="a.b%", among=None, exclude=[me.pk])
        ),
        "directory_contacts": lambda: list(
            safety_selectors.directory_qs(text="bob", among=[other.pk], exclude=[me.pk])
        ),
        "user_by_email": lambda: safety_selectors.user_by_email_qs("Bob@Example.com").first(),
        "report_context": lambda: list(
            safety_selectors.context_messages_qs(conversation_id=conversation, seq=9, around=3)
        ),
        "open_reports": lambda: list(safety_selectors.open_reports_qs()),
        "open_report": lambda: Report.objects.filter(open_key="1:2").first(),
        "report_close": lambda: Report.objects.filter(
            pk__in=[fake_pk(Report, 3)], status="open"
        ).update(status="dismissed", open_key=None, resolved_at=now, resolved_by_id=me.pk),
        "mute": lambda: selectors.membership_qs(conversation_id=conversation, user_id=me.pk).update(
            muted=True
        ),
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


def test_compiles_the_conversation_page_as_one_bounded_read(mongo: Recorder) -> None:
    """A page reads one range of exactly this conversation, stopping at the page size."""
    conversation = fake_pk(Conversation, 5)
    with override_settings(DATABASE_ROUTERS=[_ToMongo()]):
        list(selectors.conversation_page_qs(conversation_id=conversation, limit=5))
    [(collection, pipeline)] = mongo.reads
    assert collection == MESSAGES
    assert repr(conversation) in str(pipeline[0]["$match"])
    assert pipeline[-1] == {"$limit": 5}
    assert "$lookup" not in str(pipeline)


@pytest.mark.parametrize(
    ("model", "field"),
    [(Message, "client_id"), (Conversation, "direct_key"), (Report, "open_key")],
)
def test_compiles_the_unique_nullable_indexes_without_nulls(
    mongo: Recorder, model: type[Model], field: str
) -> None:
    """Unique indexes on nullable fields leave out the documents without a value.

    MongoDB unique indexes treat a missing value as a value; the backend's partial filter keeps
    such documents out of the index, so any number of messages may have no clientId, and any
    number of groups no direct_key.
    """
    from django.db.models import Index
    from django_mongodb_backend.schema import DatabaseSchemaEditor

    constraint = next(c for c in model._meta.constraints if field in c.fields)
    index = Index(fields=constraint.fields, name=constraint.name)
    editor = DatabaseSchemaEditor(connections[ALIAS])
    document_ = index.get_pymongo_index_model(model, editor, unique=True).document

    assert document_["unique"] is True
    assert list(document_["key"])[-1] == field
    assert document_["partialFilterExpression"][field] == {"$type": "string"}


# --- The composed reads and the services, driven end to end -----------------------------------


@pytest.fixture
def routed(mongo: Recorder) -> Iterator[Recorder]:
    with override_settings(DATABASE_ROUTERS=[_ToMongo()]):
        yield mongo


def test_compiles_the_users_list(routed: Recorder, db) -> None:  # noqa: ANN001
    me = unsaved(User, 1, full_name="Me", email="me@example.com")
    bob = unsaved(User, 2, full_name="Bob", email="b@example.com")
    conversation = unsaved(
        Conversation,
        5,
        kind="direct",
        direct_key="1:2",
        last_seq=2,
        last_message_id=fake_pk(Message, 9),
    )
    routed.rows[USERS] = [document(bob)]
    routed.rows[CONVERSATIONS] = [document(conversation)]
    routed.rows[MEMBERSHIPS] = [
        document(unsaved(Membership, 1, conversation_id=conversation.pk, user_id=bob.pk))
    ]
    routed.rows[MESSAGES] = [
        document(
            unsaved(
                Message,
                9,
                conversation_id=conversation.pk,
                seq=2,
                sender_id=bob.pk,
                receiver_id=me.pk,
                text="hi",
                created_at=timezone.now(),
                updated_at=timezone.now(),
            )
        )
    ]

    assert blocks_of(me.pk).either == frozenset()  # the block cache warm (compiled too)
    routed.reads.clear()

    rows = selectors.user_contacts(user=me)

    assert rows[0]["fullName"] == "Bob" and rows[0]["lastMessage"]["text"] == "hi"
    # users, memberships, conversations, last messages, members, the last messages' files
    assert len(routed.reads) == 6
    assert "$lookup" not in str(routed.reads)


def test_compiles_a_history_page(routed: Recorder, db) -> None:  # noqa: ANN001
    me, bob = unsaved(User, 1), unsaved(User, 2, full_name="Bob", email="b@example.com")
    conversation = unsaved(Conversation, 5, kind="direct", direct_key="1:2", last_seq=7)
    msg = unsaved(
        Message,
        7,
        conversation_id=conversation.pk,
        seq=7,
        sender_id=bob.pk,
        receiver_id=me.pk,
        text="hi",
        created_at=timezone.now(),
        updated_at=timezone.now(),
    )
    routed.rows[USERS] = [document(bob)]
    routed.rows[CONVERSATIONS] = [document(conversation)]
    routed.rows[MEMBERSHIPS] = [
        document(unsaved(Membership, 1, conversation_id=conversation.pk, user_id=me.pk))
    ]
    routed.rows[MESSAGES] = [document(msg)]

    page = selectors.message_history(user=me, other_id=str(bob.pk), before=str(msg.pk), limit="10")

    assert [m["text"] for m in page] == ["hi"]
    # the other user, the conversation, my membership, the cursor, the page, two receipt reads,
    # the page's files, the reactions (no message replies to another: no originals to read)
    assert len(routed.reads) == 9
    assert page[0]["reactions"] == [] and page[0]["replyTo"] is None


def test_compiles_sending(routed: Recorder, db) -> None:  # noqa: ANN001
    me, bob = unsaved(User, 1), unsaved(User, 2, full_name="Bob", email="b@example.com")
    conversation = unsaved(Conversation, 5, kind="direct", direct_key="1:2", last_seq=3)
    routed.rows[USERS] = [document(bob)]
    routed.rows[CONVERSATIONS] = [document(conversation)]

    sent = sending.message_send(
        sender=me, receiver_id=str(bob.pk), text="hello", image=None, client_id="c-1"
    )

    assert sent.created and sent.message.seq == 4
    [(collection, [doc])] = routed.inserts
    assert collection == MESSAGES
    assert doc["text"] == "hello" and doc["client_id"] == "c-1" and doc["seq"] == 4
    assert doc["sender_id"] == me.pk and doc["receiver_id"] == bob.pk
    # the sender's unread bookkeeping and the conversation's new head
    assert {c for c, _, _ in routed.updates} == {MEMBERSHIPS, CONVERSATIONS}


def test_compiles_a_profile_update(routed: Recorder, db) -> None:  # noqa: ANN001
    """A new avatar: the avatar it replaces is read in the same transaction, then the row set;
    then whom to tell (`userUpdated`): my memberships (none here, so no second read)."""
    me = unsaved(User, 1, full_name="Me", email="me@example.com", profile_pic="avatars/old.png")
    routed.rows[USERS] = [document(me)]

    account_services.user_update_profile(user=me, full_name="New Me", profile_pic=b64(picture()))

    assert [collection for collection, _ in routed.reads] == [USERS, MEMBERSHIPS]
    [(collection, criteria, pipeline)] = routed.updates
    assert collection == USERS and criteria
    assert set(pipeline[0]["$set"]) == {"full_name", "profile_pic", "updated_at"}


def test_compiles_receipts(routed: Recorder, db) -> None:  # noqa: ANN001
    me, bob = unsaved(User, 1), unsaved(User, 2, full_name="Bob", email="b@example.com")
    conversation = unsaved(
        Conversation,
        5,
        kind="direct",
        direct_key="1:2",
        last_seq=9,
        last_message_id=fake_pk(Message, 9),
    )
    routed.rows[USERS] = [document(bob)]
    routed.rows[CONVERSATIONS] = [document(conversation)]
    routed.rows[MEMBERSHIPS] = [
        document(unsaved(Membership, 1, conversation_id=conversation.pk, user_id=me.pk))
    ]
    routed.rows[MESSAGES] = [
        {"_id" if False else Message._meta.pk.column: fake_pk(Message, 9), "seq": 9}
    ]

    assert receipts.messages_mark_delivered(receiver=me) == 1
    receipts.messages_mark_read(reader=me, other_id=str(bob.pk), up_to=str(fake_pk(Message, 9)))

    moves = [pipeline[0]["$set"] for c, _, pipeline in routed.updates if c == MEMBERSHIPS]
    assert {"delivered_seq", "delivered_at"} <= set(moves[0])
    assert any({"read_seq", "read_at", "sent_since_read"} <= set(m) for m in moves)
    assert [c for c, _ in routed.inserts] == [ReceiptMark._meta.db_table] * len(routed.inserts)


def _group_rows(routed: Recorder, me: User, *, left: bool = False) -> tuple[Conversation, Any]:
    """A group with me (left before its head, if asked) and Bob, its head a message of Bob's."""
    bob = unsaved(User, 2, full_name="Bob", email="b@example.com")
    group = unsaved(
        Conversation,
        5,
        kind="group",
        title="Team",
        last_seq=9,
        last_message_id=fake_pk(Message, 9),
        created_at=timezone.now(),
        updated_at=timezone.now(),
    )
    mine = unsaved(
        Membership,
        1,
        conversation_id=group.pk,
        user_id=me.pk,
        role="admin",
        joined_at=timezone.now(),
        left_at=timezone.now() if left else None,
        visible_until_seq=4 if left else None,
    )
    theirs = unsaved(Membership, 2, conversation_id=group.pk, user_id=bob.pk, read_seq=9)
    message = unsaved(
        Message,
        9,
        conversation_id=group.pk,
        seq=4 if left else 9,
        sender_id=bob.pk,
        text="hi",
        created_at=timezone.now(),
        updated_at=timezone.now(),
    )
    routed.rows[USERS] = [document(bob)]
    routed.rows[CONVERSATIONS] = [document(group)]
    routed.rows[MEMBERSHIPS] = [document(mine), document(theirs)]
    routed.rows[MESSAGES] = [document(message)]
    routed.answers[MEMBERSHIPS] = [[document(mine)]]  # my memberships, then everyone's
    return group, message


@pytest.mark.parametrize("left", [False, True])
def test_compiles_the_sidebar(routed: Recorder, db, left: bool) -> None:  # noqa: ANN001
    """Memberships, conversations, last messages (by id or by window end), member counts."""
    me = unsaved(User, 1, full_name="Me", email="me@example.com")
    _group_rows(routed, me, left=left)

    routed.answers[MEMBERSHIPS].append([{"conversation_id": fake_pk(Conversation, 5), "n": 2}])
    blocks_of(me.pk)  # the block cache warm, as after a first request
    routed.reads.clear()

    rows = conversation_selectors.conversation_list(user=me)

    assert rows[0]["title"] == "Team" and rows[0]["lastMessage"]["text"] == "hi"
    assert rows[0]["active"] is not left
    assert len(routed.reads) == 5  # with the files; no direct conversation: no peers to read
    assert "$lookup" not in str(routed.reads)


def test_compiles_a_conversation_detail_and_receipts(routed: Recorder, db) -> None:  # noqa: ANN001
    me = unsaved(User, 1, full_name="Me", email="me@example.com")
    group, message = _group_rows(routed, me)
    routed.rows[MESSAGES] = [
        {Message._meta.pk.column: message.pk, "seq": 9, "sender_id": fake_pk(User, 1)}
    ]

    detail = conversation_selectors.conversation_detail(user=me, conversation_id=str(group.pk))
    receipts_ = conversation_selectors.message_receipts(
        user=me, conversation_id=str(group.pk), message_id=str(message.pk)
    )

    assert detail["memberCount"] == 2 and len(detail["members"]) == 1  # Bob's account only
    assert [r["userId"] for r in receipts_["readBy"]] == [str(fake_pk(User, 2))]
    assert "$lookup" not in str(routed.reads)


def test_compiles_posting_to_a_group(routed: Recorder, db) -> None:  # noqa: ANN001
    me = unsaved(User, 1, full_name="Me", email="me@example.com")
    group, _ = _group_rows(routed, me)

    sent = sending.conversation_message_send(
        sender=me, conversation_id=str(group.pk), text="hello", image=None, client_id="g-1"
    )

    assert sent.created and sent.message.seq == 10
    [(collection, [doc])] = routed.inserts
    assert collection == MESSAGES and doc["receiver_id"] is None and doc["seq"] == 10


def test_compiles_who_to_tell_of_a_group_cursor_move(routed: Recorder, db) -> None:  # noqa: ANN001
    """The senders of the messages a read passed: one find on the (conversation, seq) range."""
    routed.rows[MESSAGES] = [{"sender_id": fake_pk(User, 2)}]

    assert receipts.range_senders(fake_pk(Conversation, 5), 3, 9) == {fake_pk(User, 2)}

    [(collection, pipeline)] = routed.reads
    assert collection == MESSAGES and "$lookup" not in str(pipeline)
    assert "seq" in str(pipeline) and "conversation_id" in str(pipeline)


def test_compiles_sending_and_downloading_a_file(routed: Recorder, db) -> None:  # noqa: ANN001
    """The upload's insert, the send's check and attach, the download's access check."""
    from attachments.selectors import attachment_for_download

    me = unsaved(User, 1, full_name="Me", email="me@example.com")
    group, _ = _group_rows(routed, me)
    upload = unsaved(
        Attachment,
        11,
        conversation_id=group.pk,
        uploader_id=me.pk,
        storage_name="attachments/x",
        name="a.pdf",
        size=3,
        content_type="application/pdf",
        created_at=timezone.now(),
    )
    routed.rows[Attachment._meta.db_table] = [document(upload)]

    sent = sending.conversation_message_send(
        sender=me,
        conversation_id=str(group.pk),
        text=None,
        image=None,
        client_id="f-1",
        attachment_id=str(upload.pk),
    )

    assert sent.payload["file"]["name"] == "a.pdf"
    attach = [c for c, _, pipeline in routed.updates if "message_id" in pipeline[0]["$set"]]
    assert attach == [Attachment._meta.db_table]
    assert attachment_for_download(user=me, attachment_id=str(upload.pk)) is not None
    assert "$lookup" not in str(routed.reads)


def test_compiles_purge_and_delete(routed: Recorder, db) -> None:  # noqa: ANN001
    pk_column = Message._meta.pk.column
    routed.rows[MESSAGES] = [
        {
            pk_column: fake_pk(Message, 3),
            "image": "messages/a.png",
            "conversation_id": fake_pk(Conversation, 5),
        }
    ]

    services.messages_purge(older_than=timezone.now(), dry_run=True)
    services.messages_purge(older_than=timezone.now())

    # the messages, and what cascades from them (reactions, edit history, reports)
    assert {collection for collection, _ in routed.deletes} == {
        MESSAGES,
        Reaction._meta.db_table,
        MessageEdit._meta.db_table,
        Report._meta.db_table,
    }
    assert all(criteria for _, criteria in routed.deletes)


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
    for flt, value in (
        (ConversationFilter, str(fake_pk(Conversation, 5))),
        (ImageFilter, "yes"),
    ):
        spec = flt(request, {flt.parameter_name: [value]}, Message, model_admin)
        qs = spec.queryset(request, qs)
    list(qs[:50])

    [stages] = routed.read_stages(MESSAGES)  # the filter's own lookup reads the users
    assert "$lookup" in stages and "$match" in stages


def test_compiles_moving_messages_into_conversations(routed: Recorder, db) -> None:  # noqa: ANN001
    """The data migration runs on MongoDB too (its reads, bulk updates and inserts compile)."""
    from django.db.migrations.loader import MigrationLoader

    from messaging.conversion import messages_to_conversations

    state = MigrationLoader(None, ignore_no_migrations=True).project_state(
        ("messaging", "0002_conversations")
    )
    routed.rows[MESSAGES] = [
        {
            Message._meta.pk.column: fake_pk(Message, 3),
            "sender_id": fake_pk(User, 1),
            "receiver_id": fake_pk(User, 2),
            "created_at": timezone.now().replace(tzinfo=None),
            "delivered_at": None,
            "read_at": timezone.now().replace(tzinfo=None),
        }
    ]
    messages_to_conversations(state.apps, None)

    assert CONVERSATIONS in [c for c, _ in routed.inserts]
    assert MEMBERSHIPS in [c for c, _ in routed.inserts]


def test_compiles_a_reply(routed: Recorder, db) -> None:  # noqa: ANN001
    """A reply reads the sender's window and the original, then stores its pointer."""
    me = unsaved(User, 1, full_name="Me", email="me@example.com")
    group, original = _group_rows(routed, me)

    sent = sending.conversation_message_send(
        sender=me,
        conversation_id=str(group.pk),
        text="re",
        image=None,
        client_id=None,  # a clientId is looked up first, and the canned rows would match it
        reply_to=str(original.pk),
    )

    assert sent.payload["replyTo"]["_id"] == str(original.pk)
    [(collection, [doc])] = routed.inserts
    assert collection == MESSAGES and doc["reply_to_id"] == original.pk
    assert "$lookup" not in str(routed.reads)


def test_compiles_editing_reacting_and_deleting(routed: Recorder, db) -> None:  # noqa: ANN001
    """Each action's reads, its history or reaction insert, and its conditional updates."""
    me = unsaved(User, 1, full_name="Me", email="me@example.com")
    group, message = _group_rows(routed, me)
    mine = unsaved(
        Message,
        9,
        conversation_id=group.pk,
        seq=9,
        sender_id=me.pk,
        text="helo",
        created_at=timezone.now(),
        updated_at=timezone.now(),
    )
    routed.rows[MESSAGES] = [document(mine)]
    ids = {"conversation_id": str(group.pk), "message_id": str(mine.pk)}

    edited = editing.message_edit(editor=me, text="hello", **ids)
    toggled = reactions.reaction_toggle(user=me, emoji="👍", **ids)
    tomb = editing.message_delete(actor=me, **ids)

    assert edited["text"] == "hello" and toggled["reactions"][0]["emoji"] == "👍"
    assert tomb["deletedAt"] and tomb["text"] is None
    inserted = [collection for collection, _ in routed.inserts]
    assert inserted == [MessageEdit._meta.db_table, Reaction._meta.db_table]
    changes = [set(p[0]["$set"]) for c, _, p in routed.updates if c == MESSAGES]
    assert {"text", "edited_at"} <= changes[0] and {"deleted_at", "deleted_by_id"} <= changes[-1]
    deleted = {collection for collection, _ in routed.deletes}
    assert {Reaction._meta.db_table, MessageEdit._meta.db_table} <= deleted
    assert "$lookup" not in str(routed.reads)


def test_compiles_a_message_search_as_a_bounded_scan(routed: Recorder, db) -> None:  # noqa: ANN001
    """MongoDB's fallback (docs/SEARCH.md): one read of the reader's conversations with a
    case-insensitive match per word, bounded, then the page's shapes; no join, no $search."""
    me, bob = unsaved(User, 1), unsaved(User, 2, full_name="Bob", email="b@example.com")
    conversation = unsaved(Conversation, 5, kind="direct", direct_key="1:2", last_seq=7)
    msg = unsaved(
        Message,
        7,
        conversation_id=conversation.pk,
        seq=7,
        sender_id=bob.pk,
        receiver_id=me.pk,
        text="Un Café en été",
        created_at=timezone.now(),
        updated_at=timezone.now(),
    )
    routed.rows[USERS] = [document(bob)]
    routed.rows[CONVERSATIONS] = [document(conversation)]
    routed.rows[MEMBERSHIPS] = [
        document(unsaved(Membership, 1, conversation_id=conversation.pk, user_id=me.pk)),
        document(unsaved(Membership, 2, conversation_id=conversation.pk, user_id=bob.pk)),
    ]
    routed.rows[MESSAGES] = [document(msg)]
    from search.selectors import MONGO_SCAN, message_search

    page = message_search(user=me, q="CAFE ét", has="file", limit="5")
    assert page["results"] == []  # it carries no file
    routed.reads.clear()
    routed.rows[Attachment._meta.db_table] = []
    page = message_search(user=me, q="CAFE ét", limit="5")

    [result] = page["results"]
    assert result["conversation"]["title"] == "Bob"
    assert [p["text"] for p in result["snippet"] if p["match"]] == ["Café", "été"]
    scan = next(p for c, p in routed.reads if c == MESSAGES and {"$limit": MONGO_SCAN} in p)
    assert "$regex" in str(scan) and repr(conversation.pk) in str(scan)
    assert "$lookup" not in str(routed.reads) and "$search" not in str(routed.reads)
    # windows, the scan, then the page: messages, conversations, peers, people, files,
    # reactions
    assert len(routed.reads) == 8


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
            "compiles_query or compiles_the_conv or unique_nullable",
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
