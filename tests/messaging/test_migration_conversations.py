"""The data migration: one-to-one messages move into direct conversations, receipts into cursors.

Runs the real migrations on the test database: back to 0001 (the old one-to-one model), data
written the old way, forward to the conversation model, and back again.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("messaging", "0001_initial")]
# The newest migrations: the app's code (the API under test) expects every column they add;
# going back to 0001 unapplies the apps that depend on messaging too: bring them back.
AFTER = [
    ("messaging", "0006_membership_muted"),
    ("attachments", "0001_initial"),
    ("safety", "0001_initial"),
]


def migrate(targets: list[tuple[str, str]]):  # noqa: ANN201
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def old_data():  # noqa: ANN201
    """Ann and Ben talked (some read, some delivered), Ann wrote to Cy once (unread)."""
    apps = migrate(BEFORE)
    User = apps.get_model("accounts", "User")
    Message = apps.get_model("messaging", "Message")
    ann, ben, cy = (
        User.objects.create(email=f"{name}@example.com", full_name=name.title())
        for name in ("ann", "ben", "cy")
    )
    t0 = timezone.now() - timedelta(hours=1)

    def message(sender, receiver, text, minutes, **receipt):  # noqa: ANN001, ANN202
        return Message.objects.create(
            sender=sender,
            receiver=receiver,
            text=text,
            created_at=t0 + timedelta(minutes=minutes),
            **{k: t0 + timedelta(minutes=v) for k, v in receipt.items()},
        )

    rows = {
        "a1": message(ann, ben, "a1", 1, delivered_at=2, read_at=5),
        "b1": message(ben, ann, "b1", 3, delivered_at=3, read_at=6),
        "a2": message(ann, ben, "a2", 4, delivered_at=7),
        "b2": message(ben, ann, "b2", 8),
        "c1": message(ann, cy, "c1", 9),
    }
    yield {"ann": ann, "ben": ben, "cy": cy, "rows": rows, "t0": t0}
    migrate(AFTER)  # leave the database as the other tests expect it


def test_messages_move_into_direct_conversations_with_their_receipts(old_data):  # noqa: ANN001
    apps = migrate(AFTER)
    Conversation = apps.get_model("messaging", "Conversation")
    Membership = apps.get_model("messaging", "Membership")
    Message = apps.get_model("messaging", "Message")
    ann, ben, cy, rows, t0 = (old_data[k] for k in ("ann", "ben", "cy", "rows", "t0"))

    assert Conversation.objects.count() == 2
    pair = Conversation.objects.get(direct_key=":".join(sorted((str(ann.pk), str(ben.pk)))))
    # Every message kept, in order, numbered in its conversation.
    seqs = dict(Message.objects.filter(conversation=pair).values_list("text", "seq"))
    assert seqs == {"a1": 1, "b1": 2, "a2": 3, "b2": 4}
    assert (pair.last_seq, pair.last_message_id) == (4, rows["b2"].pk)
    assert pair.last_message_at == t0 + timedelta(minutes=8)

    ben_in = Membership.objects.get(conversation=pair, user_id=ben.pk)
    ann_in = Membership.objects.get(conversation=pair, user_id=ann.pk)
    # Ben read a1 and got a2; Ann read b1 and has not got b2.
    assert (ben_in.read_seq, ben_in.delivered_seq) == (1, 3)
    assert (ann_in.read_seq, ann_in.delivered_seq) == (2, 2)
    # Their own messages after their read cursors (never unread): Ann a2, Ben b1 and b2.
    assert ann_in.sent_since_read == 1 and ben_in.sent_since_read == 2
    # So each has one unread: Ann b2, Ben a2.
    assert pair.last_seq - ann_in.read_seq - ann_in.sent_since_read == 1
    assert pair.last_seq - ben_in.read_seq - ben_in.sent_since_read == 1


def test_history_shows_the_same_receipts_after_the_move(old_data, client):  # noqa: ANN001
    """What the seed API showed before (deliveredAt/readAt per message) it shows after."""
    from accounts.tokens import token_issue
    from messaging.models import Message

    migrate(AFTER)
    ann, ben, rows, t0 = (old_data[k] for k in ("ann", "ben", "rows", "t0"))
    from accounts.models import User

    client.cookies["jwt"] = token_issue(User.objects.get(pk=ann.pk))
    page = {m["text"]: m for m in client.get(f"/api/messages/{ben.pk}").json()}

    def at(minutes: int) -> str:
        return (t0 + timedelta(minutes=minutes)).isoformat(timespec="milliseconds")[:23]

    assert page["a1"]["readAt"].startswith(at(5)) and page["a1"]["deliveredAt"].startswith(at(2))
    assert page["a2"]["readAt"] is None and page["a2"]["deliveredAt"].startswith(at(7))
    assert page["b1"]["readAt"].startswith(at(6))
    assert page["b2"]["deliveredAt"] is None
    assert Message.objects.filter(pk=rows["b2"].pk).exists()


def test_the_move_can_be_undone(old_data):  # noqa: ANN001
    migrate(AFTER)
    apps = migrate(BEFORE)
    Message = apps.get_model("messaging", "Message")
    rows, t0 = old_data["rows"], old_data["t0"]

    restored = {m.text: m for m in Message.objects.all()}
    assert set(restored) == {"a1", "b1", "a2", "b2", "c1"}
    assert restored["a1"].read_at == t0 + timedelta(minutes=5)
    assert restored["a2"].delivered_at == t0 + timedelta(minutes=7)
    assert restored["b2"].delivered_at is None and restored["c1"].read_at is None
    assert restored["a1"].pk == rows["a1"].pk
