"""A page's hand-written SQL reads exactly what its ORM twin (MongoDB's path) reads."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db.models import Model
from django.utils import timezone

from messaging import pagesql
from messaging.direct import direct_conversation_id
from messaging.models import Conversation, Message, Reaction, ReceiptMark

pytestmark = pytest.mark.django_db


def both(monkeypatch: pytest.MonkeyPatch, read: Callable[[], Any]) -> Any:
    """What `read` answers with the SQL statements, checked equal to what the ORM answers."""
    sql = read()
    with monkeypatch.context() as patched:
        patched.setattr(pagesql, "sql_enabled", lambda: False)
        orm = read()
    assert _plain(sql) == _plain(orm)
    return sql


def _plain(value: Any) -> Any:
    """Instances as (model, their loaded field values): what a page's code can see of them."""
    if isinstance(value, Model):
        return type(value), {k: v for k, v in value.__dict__.items() if not k.startswith("_")}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def test_the_lookups_find_the_same_rows(monkeypatch, alice, bob, make_message):  # noqa: ANN001
    message = make_message(alice, bob)
    conversation = Conversation.objects.get(pk=message.conversation_id)

    user = both(monkeypatch, lambda: pagesql.user(bob.pk))
    assert user.email == bob.email and user.created_at == bob.created_at  # aware, as stored
    found = both(monkeypatch, lambda: pagesql.conversation_by_key(conversation.direct_key))
    assert found.pk == conversation.pk
    assert both(monkeypatch, lambda: pagesql.conversation(conversation.pk)).kind == "direct"
    mine = both(monkeypatch, lambda: pagesql.membership(conversation.pk, alice.pk))
    assert mine.user_id == alice.pk and mine.muted is False
    pair = both(monkeypatch, lambda: pagesql.message_seq(conversation.pk, message.pk))
    assert pair == (message.pk, message.seq)


def test_unknown_rows_are_none(monkeypatch, alice, bob, carol, make_message):  # noqa: ANN001
    message = make_message(alice, bob)
    other = direct_conversation_id(alice.pk, carol.pk)  # Bob is not in it, nor the message

    assert both(monkeypatch, lambda: pagesql.user(999_999)) is None
    assert both(monkeypatch, lambda: pagesql.conversation_by_key("0:0")) is None
    assert both(monkeypatch, lambda: pagesql.conversation(999_999)) is None
    assert both(monkeypatch, lambda: pagesql.membership(other, bob.pk)) is None
    assert both(monkeypatch, lambda: pagesql.message_seq(other, message.pk)) is None


@pytest.mark.parametrize(
    ("window", "seqs"),
    [
        ({}, [9, 8, 7]),
        ({"before_seq": 5}, [4, 3, 2]),
        ({"after_seq": 5}, [6, 7, 8]),
        ({"seq_from": 7}, [9, 8]),
        ({"seq_from": 2, "seq_until": 6, "before_seq": 9}, [6, 5, 4]),
        ({"seq_from": 2, "seq_until": 6, "after_seq": 4}, [5, 6]),
        ({"seq_until": 3, "before_seq": 2}, [1]),
    ],
)
def test_pages_are_the_same_range(monkeypatch, alice, bob, make_message, window, seqs):  # noqa: ANN001
    messages = [make_message(alice, bob, f"m{n}", edited_at=timezone.now()) for n in range(9)]
    conversation_id = messages[0].conversation_id

    page = both(
        monkeypatch, lambda: pagesql.page(conversation_id=conversation_id, limit=3, **window)
    )

    assert [m.seq for m in page] == seqs
    assert page[0].text == f"m{seqs[0] - 1}" and page[0].edited_at is not None


def test_receipt_marks_of_several_cursors_come_in_one_read(  # noqa: ANN001
    monkeypatch, alice, bob, make_message, django_assert_num_queries
):
    start = timezone.now() - timedelta(hours=1)
    for n in range(6):
        at = start + timedelta(minutes=n)
        make_message(alice, bob, delivered_at=at, read_at=at if n % 2 else None)
        make_message(bob, alice, delivered_at=at)
    conversation_id = direct_conversation_id(alice.pk, bob.pk)
    wanted = [
        (bob.pk, ReceiptMark.Kind.DELIVERED, 3, 3),
        (bob.pk, ReceiptMark.Kind.READ, 3, 9),
        (alice.pk, ReceiptMark.Kind.DELIVERED, 5, 2),
        (alice.pk, ReceiptMark.Kind.READ, 1, 5),  # Alice read nothing
    ]

    with django_assert_num_queries(1):
        pagesql.receipt_marks(conversation_id, wanted)
    marks = both(monkeypatch, lambda: pagesql.receipt_marks(conversation_id, wanted))

    assert [seq for seq, _ in marks[bob.pk, "delivered"]] == [3, 5, 7]  # from 3, three
    assert [seq for seq, _ in marks[bob.pk, "read"]] == [3, 7, 11]
    assert [seq for seq, _ in marks[alice.pk, "delivered"]] == [6, 8]
    assert marks[alice.pk, "read"] == []
    assert marks[bob.pk, "read"][0][1] == start + timedelta(minutes=1)  # aware, as stored


def test_reactions_files_and_quotes_are_the_same(monkeypatch, alice, bob, make_message):  # noqa: ANN001
    from attachments.models import Attachment

    first = make_message(alice, bob, "first")
    reply = make_message(bob, alice, "reply", reply_to=first)
    conversation_id = first.conversation_id
    now = timezone.now()
    Reaction.objects.bulk_create(
        [
            Reaction(message=reply, user=alice, emoji="👍", created_at=now),
            Reaction(message=first, user=bob, emoji="🎉", created_at=now - timedelta(seconds=1)),
            Reaction(message=first, user=alice, emoji="🎉", created_at=now),
        ]
    )
    Attachment.objects.create(
        conversation_id=conversation_id,
        uploader=bob,
        message=reply,
        storage_name="files/x.pdf",
        name="x.pdf",
        size=3,
        content_type="application/pdf",
    )
    ids = [first.pk, reply.pk]

    rows = both(monkeypatch, lambda: pagesql.reactions(ids))
    assert sorted(rows[:2]) == sorted([(first.pk, "🎉", bob.pk), (reply.pk, "👍", alice.pk)])
    assert rows[2] == (first.pk, "🎉", alice.pk)  # in the order they were made
    [file] = both(monkeypatch, lambda: pagesql.files(ids))
    assert (file.message_id, file.name, file.size) == (reply.pk, "x.pdf", 3)
    [original] = both(monkeypatch, lambda: pagesql.reply_originals([first.pk]))
    assert (original.text, original.sender_id) == ("first", alice.pk)
    for read in (pagesql.reactions, pagesql.files, pagesql.reply_originals):
        assert both(monkeypatch, lambda read=read: read([])) == []


def test_a_deferred_field_of_a_quote_still_loads(alice, bob, make_message):  # noqa: ANN001
    """Only what a quote shows is read; anything else is read when asked for, as with the ORM."""
    first = make_message(alice, bob, "first")
    [original] = pagesql.reply_originals([first.pk])
    assert original.get_deferred_fields() >= {"seq", "created_at"}
    assert original.seq == first.seq and isinstance(original, Message)
