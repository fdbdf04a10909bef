"""The FTS5 index of message text and its triggers (search/fts.py). SQLite only: on MongoDB
(and any other database) both directions do nothing; docs/SEARCH.md has MongoDB's way."""

from django.db import migrations


def forwards(apps, schema_editor):  # noqa: ANN001, ANN201
    if schema_editor.connection.vendor != "sqlite":
        return
    from search import fts

    with schema_editor.connection.cursor() as cursor:
        fts.install(cursor)
        cursor.execute(fts.FILL)


def backwards(apps, schema_editor):  # noqa: ANN001, ANN201
    if schema_editor.connection.vendor != "sqlite":
        return
    from search import fts

    with schema_editor.connection.cursor() as cursor:
        for statement in fts.DROP:
            cursor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("messaging", "0005_message_actions")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
