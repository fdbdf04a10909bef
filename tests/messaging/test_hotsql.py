"""The send path's hand-written SQL does exactly what its ORM twin (MongoDB's path) does."""

import pytest
from django.utils import timezone

from messaging import hotsql
from messaging.direct import direct_conversation_id
from messaging.models import Conversation, Membership, Message


@pytest.fixture(params=["sql", "orm"])
def path(request, monkeypatch) -> str:  # noqa: ANN001
    """Each test runs twice: with the SQL statements, and with the ORM (as on MongoDB)."""
    if request.param == "orm":
        monkeypatch.setattr(hotsql, "sql_enabled", lambda: False)
    return request.param


def test_a_message_is_stored_with_every_field(path, alice, bob):  # noqa: ANN001
    conversation_id = direct_conversation_id(alice.pk, bob.pk)
    now = timezone.now()
    message = Message(
        conversation_id=conversation_id,
        seq=1,
        sender=alice,
        receiver=bob,
        text="hello",
        image="messages/x.png",
        client_id="c-1",
        created_at=now,
        event=None,
    )

    assert hotsql.message_insert(message) is True

    stored = Message.objects.get(pk=message.pk)
    assert (stored.text, stored.image, stored.client_id, stored.seq) == (
        "hello",
        "messages/x.png",
        "c-1",
        1,
    )
    assert stored.created_at == now and stored.updated_at is not None
    assert stored.kind == Message.Kind.TEXT and stored.receiver_id == bob.pk


def test_a_repeated_client_id_stores_nothing_and_says_so(path, alice, bob):  # noqa: ANN001
    conversation_id = direct_conversation_id(alice.pk, bob.pk)

    def message(seq: int, client_id: str | None) -> Message:
        return Message(
            conversation_id=conversation_id, seq=seq, sender=alice, text="x", client_id=client_id
        )

    assert hotsql.message_insert(message(1, "same")) is True
    assert hotsql.message_insert(message(2, "same")) is False
    assert hotsql.message_insert(message(2, None)) is True
    assert hotsql.message_insert(message(3, None)) is True  # no clientId never collides
    assert Message.objects.count() == 3


def test_the_head_moves_and_reads_back(path, alice, bob):  # noqa: ANN001
    conversation_id = direct_conversation_id(alice.pk, bob.pk)
    key = Conversation.objects.get(pk=conversation_id).direct_key
    assert hotsql.conversation_head(conversation_id) == (0, None, key)
    now = timezone.now()

    hotsql.conversation_head_move(conversation_id, 7, 42, now)

    assert hotsql.conversation_head(conversation_id) == (7, 42, key)
    assert Conversation.objects.get(pk=conversation_id).last_message_at == now
    assert hotsql.conversation_head(999_999) is None


def test_only_an_active_member_counts_their_own_message(path, alice, bob, make_user):  # noqa: ANN001
    conversation_id = direct_conversation_id(alice.pk, bob.pk)
    stranger = make_user()

    assert hotsql.sent_since_read_bump(conversation_id, alice.pk) == 1
    assert hotsql.sent_since_read_bump(conversation_id, alice.pk) == 1
    assert hotsql.sent_since_read_bump(conversation_id, stranger.pk) == 0
    Membership.objects.filter(user=bob).update(left_at=timezone.now())
    assert hotsql.sent_since_read_bump(conversation_id, bob.pk) == 0
    assert Membership.objects.get(user=alice).sent_since_read == 2


def test_delivered_cursors_move_forward_only_and_log_each_move(path, alice, bob, make_user):  # noqa: ANN001
    from messaging.models import ReceiptMark

    carol = make_user()
    ab = direct_conversation_id(alice.pk, bob.pk)
    ac = direct_conversation_id(alice.pk, carol.pk)
    now = timezone.now()

    made = hotsql.delivered_moves([(ab, bob.pk, 3), (ac, carol.pk, 2), (ab, 999_999, 5)], now)
    assert made == [(ab, bob.pk, 3), (ac, carol.pk, 2)]
    again = hotsql.delivered_moves([(ab, bob.pk, 2), (ab, bob.pk, 3), (ab, bob.pk, 4)], now)
    assert again == [(ab, bob.pk, 4)]  # never backwards, never twice

    assert Membership.objects.get(conversation_id=ab, user=bob).delivered_seq == 4
    marks = ReceiptMark.objects.filter(conversation_id=ab, user=bob).order_by("up_to_seq")
    assert [(m.kind, m.up_to_seq, m.at) for m in marks] == [
        ("delivered", 3, now),
        ("delivered", 4, now),
    ]


def test_direct_keys_tell_direct_from_group(path, alice, bob):  # noqa: ANN001
    direct = direct_conversation_id(alice.pk, bob.pk)
    group = Conversation.objects.create(kind="group", title="g").pk
    keys = hotsql.direct_keys([direct, group, 999_999])
    assert keys == {direct: Conversation.objects.get(pk=direct).direct_key, group: None}
    assert hotsql.direct_keys([]) == {}
