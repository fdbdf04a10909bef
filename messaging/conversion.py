"""Moving one-to-one messages into direct conversations (the 0003 data migrations).

Plain functions over the historical models a migration passes in, so the SQLite and the MongoDB
migration sets run the same code, and tests can run it before and after on real data. Only ORM
operations that django-mongodb-backend compiles are used (tests/test_mongo_compile.py).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

BATCH = 500


def direct_key(first: Any, second: Any) -> str:
    """The key of the one direct conversation between two users, the same either way round."""
    return ":".join(sorted((str(first), str(second))))


def _marks(rows: list[tuple[int, Any]]) -> list[tuple[int, Any]]:
    """(seq, time) pairs of one member's receipts, collapsed to the moves of a cursor: for each
    time, the highest seq reached by then (a later, lower seq adds nothing)."""
    moves: list[tuple[int, Any]] = []
    for seq, at in sorted(rows, key=lambda row: (row[1], row[0])):
        if moves and seq <= moves[-1][0]:
            continue
        if moves and at == moves[-1][1]:
            moves[-1] = (seq, at)
        else:
            moves.append((seq, at))
    return moves


def messages_to_conversations(apps: Any, schema_editor: Any) -> None:
    """Give every message a direct conversation and a seq; receipts become cursors and marks."""
    Message = apps.get_model("messaging", "Message")
    Conversation = apps.get_model("messaging", "Conversation")
    Membership = apps.get_model("messaging", "Membership")
    ReceiptMark = apps.get_model("messaging", "ReceiptMark")

    pairs = {
        tuple(sorted((sender, receiver), key=str))
        for sender, receiver in Message.objects.filter(conversation__isnull=True)
        .values_list("sender_id", "receiver_id")
        .distinct()
        .order_by()
    }
    for first, second in sorted(pairs, key=lambda pair: (str(pair[0]), str(pair[1]))):
        messages = (
            Message.objects.filter(
                Q(sender_id=first, receiver_id=second) | Q(sender_id=second, receiver_id=first)
            )
            .order_by("id")
            .only("id", "sender_id", "receiver_id", "created_at", "delivered_at", "read_at")
        )
        conversation = Conversation.objects.create(
            kind="direct", direct_key=direct_key(first, second)
        )
        seq, batch, first_message, last = 0, [], None, None
        receipts: dict[tuple[Any, str], list[tuple[int, Any]]] = {}
        sent: dict[Any, list[int]] = {}
        for message in messages.iterator(chunk_size=BATCH):
            seq += 1
            sent.setdefault(message.sender_id, []).append(seq)
            message.conversation_id, message.seq = conversation.pk, seq
            batch.append(message)
            # Read implies delivered, at the latest when it was read.
            delivered = message.delivered_at or message.read_at
            for kind, at in (("delivered", delivered), ("read", message.read_at)):
                if at is not None:
                    receipts.setdefault((message.receiver_id, kind), []).append((seq, at))
            first_message = first_message or message
            last = message
            if len(batch) >= BATCH:
                Message.objects.bulk_update(batch, ["conversation", "seq"])
                batch = []
        if batch:
            Message.objects.bulk_update(batch, ["conversation", "seq"])
        if last is None:
            conversation.delete()
            continue
        Conversation.objects.filter(pk=conversation.pk).update(
            last_seq=seq,
            last_message_id=last.pk,
            last_message_at=last.created_at,
            created_at=first_message.created_at,
        )
        marks = []
        for user_id in (first, second):
            cursors: dict[str, Any] = {}
            for kind in ("delivered", "read"):
                moves = _marks(receipts.get((user_id, kind), []))
                marks += [
                    ReceiptMark(
                        conversation_id=conversation.pk,
                        user_id=user_id,
                        kind=kind,
                        up_to_seq=up_to,
                        at=at,
                    )
                    for up_to, at in moves
                ]
                if moves:
                    cursors[f"{kind}_seq"] = max(up_to for up_to, _ in moves)
                    cursors[f"{kind}_at"] = max(at for _, at in moves)
            read_seq = cursors.get("read_seq", 0)
            cursors["sent_since_read"] = sum(1 for s in sent.get(user_id, []) if s > read_seq)
            Membership.objects.create(conversation_id=conversation.pk, user_id=user_id, **cursors)
        ReceiptMark.objects.bulk_create(marks, batch_size=BATCH)


def conversations_to_messages(apps: Any, schema_editor: Any) -> None:
    """Backwards: receipts go back onto the messages of direct conversations, then the
    conversations go (messages keep their sender and receiver)."""
    Message = apps.get_model("messaging", "Message")
    Conversation = apps.get_model("messaging", "Conversation")
    ReceiptMark = apps.get_model("messaging", "ReceiptMark")

    for conversation in Conversation.objects.filter(kind="direct").iterator():
        for mark in ReceiptMark.objects.filter(conversation_id=conversation.pk).order_by(
            "up_to_seq"
        ):
            field = "read_at" if mark.kind == "read" else "delivered_at"
            Message.objects.filter(
                conversation_id=conversation.pk,
                receiver_id=mark.user_id,
                seq__lte=mark.up_to_seq,
                **{f"{field}__isnull": True},
            ).update(**{field: mark.at})
    Message.objects.update(conversation=None, seq=None)
    Conversation.objects.all().delete()
