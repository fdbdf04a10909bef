"""The database writer thread: group commit, isolation of a failing job, bounded queue."""

import threading

import pytest
from django.db import IntegrityError, connection

from messaging.models import Conversation, Membership
from messaging.writer import DatabaseWriter, WriterBusy

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def writer() -> DatabaseWriter:
    return DatabaseWriter(max_waiting=100)


def _insert(member_id: int, other_id: int, title: str) -> int:
    """A group with two members (a foreign key to each, checked at commit on SQLite)."""
    conversation = Conversation.objects.create(kind="group", title=title)
    Membership.objects.create(conversation=conversation, user_id=member_id)
    Membership.objects.create(conversation=conversation, user_id=other_id)
    return conversation.pk


def _hold(started: threading.Event, release: threading.Event) -> None:
    started.set()
    release.wait(10)


def test_writes_waiting_together_commit_as_one_transaction(writer, alice, bob):
    """While one batch is busy the next 50 sends queue up and then share a single commit."""
    started, release = threading.Event(), threading.Event()
    blocker = writer.submit(_hold, started, release)
    assert started.wait(5)
    futures = [writer.submit(_insert, alice.pk, bob.pk, f"m{n}") for n in range(50)]
    release.set()

    ids = [future.result(10) for future in futures]
    blocker.result(10)

    assert len(set(ids)) == 50 and Conversation.objects.count() == 50
    assert writer.batches == 2  # the blocker's batch, then all fifty in one


def test_a_failing_write_undoes_only_itself(writer, alice, bob):
    started, release = threading.Event(), threading.Event()
    writer.submit(_hold, started, release)
    assert started.wait(5)
    good = writer.submit(_insert, alice.pk, bob.pk, "kept")
    bad = writer.submit(_insert, alice.pk, 999_999, "no such member")  # foreign key
    also_good = writer.submit(_insert, bob.pk, alice.pk, "kept too")
    release.set()

    assert good.result(10) and also_good.result(10)
    with pytest.raises(IntegrityError):
        bad.result(10)
    assert sorted(Conversation.objects.values_list("title", flat=True)) == ["kept", "kept too"]


def test_a_full_queue_refuses_at_once(alice, bob):
    """Past WRITER_QUEUE_MAX waiting writes, submit raises instead of queueing without end."""
    writer = DatabaseWriter(max_waiting=3)
    started, release = threading.Event(), threading.Event()
    writer.submit(_hold, started, release)
    assert started.wait(5)
    waiting = [writer.submit(_insert, alice.pk, bob.pk, f"m{n}") for n in range(3)]
    with pytest.raises(WriterBusy):
        writer.submit(_insert, alice.pk, bob.pk, "one too many")
    release.set()
    for future in waiting:
        future.result(10)


def test_the_writer_keeps_one_connection(writer, alice, bob):
    """No connect/close per write: the thread's connection survives from batch to batch."""

    def connection_id() -> int:
        connection.ensure_connection()
        return id(connection.connection)

    first = writer.submit(connection_id).result(10)
    writer.submit(_insert, alice.pk, bob.pk, "between").result(10)
    assert writer.submit(connection_id).result(10) == first
