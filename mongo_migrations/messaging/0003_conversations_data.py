"""Existing one-to-one messages move into direct conversations (messaging/conversion.py)."""

from django.db import migrations

from messaging.conversion import conversations_to_messages, messages_to_conversations


class Migration(migrations.Migration):
    dependencies = [("messaging", "0002_conversations")]

    operations = [
        migrations.RunPython(messages_to_conversations, conversations_to_messages),
    ]
