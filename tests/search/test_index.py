"""The FTS5 index follows the messages whoever writes them, and search_rebuild rebuilds it."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging.models import Message
from search import fts

pytestmark = pytest.mark.django_db


def indexed(word: str) -> set[int]:
    """Ids of the messages the index says contain `word`."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT rowid FROM {fts.FTS_TABLE} WHERE {fts.FTS_TABLE} MATCH %s", [word])
        return {row[0] for row in cursor.fetchall()}


def test_the_send_path_indexes_each_new_message(alice, bob, make_message):
    message = make_message(alice, bob, "Zebra crossing")
    assert indexed("zebra") == {message.pk}


def test_orm_edits_and_deletes_update_the_index(alice, bob, make_message):
    message = make_message(alice, bob, "walrus tusk")
    Message.objects.filter(pk=message.pk).update(text="narwhal tusk")
    assert indexed("walrus") == set()
    assert indexed("narwhal") == {message.pk}
    Message.objects.filter(pk=message.pk).update(text="", deleted_at=message.created_at)
    assert indexed("tusk") == set()


def test_a_purged_message_leaves_the_index(alice, bob, make_message):
    message = make_message(alice, bob, "ephemeral words")
    Message.objects.filter(pk=message.pk).delete()
    assert indexed("ephemeral") == set()


def test_rebuild_restores_a_lost_index_and_its_triggers(alice, bob, make_message, found):
    kept = make_message(alice, bob, "otter pictures")
    gone = make_message(alice, bob, "otter secrets")
    Message.objects.filter(pk=gone.pk).update(text="", deleted_at=gone.created_at)
    with connection.cursor() as cursor:
        for statement in fts.DROP:
            cursor.execute(statement)
        fts.install(cursor)  # an empty index (as after a restore of the messages alone)
    assert found(bob, "otter") == []
    out = StringIO()
    call_command("search_rebuild", stdout=out)
    assert "rebuilt: 1 messages" in out.getvalue()
    assert indexed("otter") == {kept.pk}
    later = make_message(alice, bob, "otter again")  # the triggers are back
    assert indexed("otter") == {kept.pk, later.pk}


def test_the_send_path_runs_the_same_statements_with_the_index(alice, bob, direct, clients):
    """The triggers live inside SQLite: a send issues exactly the statements it did before."""
    chat = direct(alice, bob)
    client = clients(alice)

    def statements() -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            response = client.call("post", f"/api/conversations/{chat}/messages", {"text": "hi"})
        assert response.status_code == 201
        return [q["sql"].split(" ")[0] for q in captured.captured_queries]

    statements()  # the first send warms the per-process caches
    with_index = statements()
    with connection.cursor() as cursor:
        fts.drop_triggers(cursor)
    without_index = statements()
    assert with_index == without_index


def test_the_migration_does_nothing_on_mongodb():
    """On MongoDB (any database but SQLite) the migration touches nothing, both ways."""
    from importlib import import_module
    from types import SimpleNamespace

    migration = import_module("search.migrations.0001_message_fts")

    def no_cursor():
        raise AssertionError("the migration used the database")

    editor = SimpleNamespace(connection=SimpleNamespace(vendor="mongodb", cursor=no_cursor))
    migration.forwards(None, editor)
    migration.backwards(None, editor)


def test_rebuild_says_there_is_nothing_to_do_on_another_database(monkeypatch):
    from django.db import connections

    monkeypatch.setattr(connections["default"], "vendor", "mongodb")
    out = StringIO()
    call_command("search_rebuild", stdout=out)
    assert "Nothing to rebuild on mongodb" in out.getvalue()
