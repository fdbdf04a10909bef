"""Operator commands: purge_messages and chat_stats."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from messaging.models import Message


def run(*args: str, **options: object) -> str:
    out = StringIO()
    call_command(*args, stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def aged(alice, bob, make_message, chat_media) -> dict:  # noqa: ANN001
    """Two messages from 40 days ago (one with a stored image) and one from today."""
    (chat_media / "messages").mkdir()
    (chat_media / "messages" / "old.png").write_bytes(b"png")
    old = timezone.now() - timedelta(days=40)
    return {
        "old_text": make_message(alice, bob, "old text", created_at=old),
        "old_image": make_message(bob, alice, "", image="messages/old.png", created_at=old),
        "recent": make_message(alice, bob, "recent"),
        "image_file": chat_media / "messages" / "old.png",
    }


def test_purge_dry_run_counts_and_deletes_nothing(aged):  # noqa: ANN001
    output = run("purge_messages", "--older-than", "30", "--dry-run")
    assert "Would delete 2 message(s) and 1 image(s) older than 30 day(s)." in output
    assert Message.objects.count() == 3
    assert aged["image_file"].exists()


def test_purge_deletes_old_messages_and_their_images(aged, django_capture_on_commit_callbacks):  # noqa: ANN001
    with django_capture_on_commit_callbacks(execute=True):
        output = run("purge_messages", "--older-than", "30")
    assert "Deleted 2 message(s) and 1 image(s)" in output
    assert list(Message.objects.values_list("text", flat=True)) == ["recent"]
    assert not aged["image_file"].exists()


def test_purge_keeps_messages_younger_than_the_cut_off(aged):  # noqa: ANN001
    run("purge_messages", "--older-than", "41")
    assert Message.objects.count() == 3


def test_purge_is_quiet_at_verbosity_zero(aged):  # noqa: ANN001
    assert run("purge_messages", "--older-than", "30", verbosity=0) == ""
    assert Message.objects.count() == 1


def test_purge_explains_the_cut_off_at_verbosity_two(aged):  # noqa: ANN001
    assert "Cut-off: messages created before " in run(
        "purge_messages", "--older-than", "30", "--dry-run", verbosity=2
    )


@pytest.mark.parametrize("days", ["0", "-3"])
def test_purge_refuses_a_zero_or_negative_age(days, aged):  # noqa: ANN001
    with pytest.raises(CommandError):
        run("purge_messages", "--older-than", days)
    assert Message.objects.count() == 3


def test_purge_requires_an_age(db):  # noqa: ANN001
    with pytest.raises(CommandError):
        run("purge_messages")


@pytest.fixture
def busy(make_user, alice, bob, make_message) -> dict:  # noqa: ANN001
    carol = make_user(full_name="Carol Nguyen", email="carol@example.com")
    make_user(is_active=False)
    yesterday = timezone.now() - timedelta(days=2)
    for n in range(3):
        make_message(alice, bob, f"ab{n}", created_at=yesterday)
    make_message(bob, alice, "ba today")
    make_message(carol, alice, "ca today")
    return {"carol": carol}


def test_chat_stats_prints_the_numbers(busy):  # noqa: ANN001
    output = run("chat_stats")
    assert "Users: 4 (3 active)" in output
    assert "Messages: 5 total, 2 today" in output
    assert "from 2 sender(s)" in output
    assert "Online now: n/a" in output
    top = output.split("Top conversations:")[1].strip().splitlines()
    assert top[0].split() == [
        "4",
        "Alice",
        "Martin",
        "<alice@example.com>",
        "<->",
        "Bob",
        "Okafor",
        "<bob@example.com>",
    ]
    assert "Carol Nguyen" in top[1]


def test_chat_stats_json(busy, alice, bob):  # noqa: ANN001
    stats = json.loads(run("chat_stats", "--json", "--top", "1"))
    assert stats["users"] == 4 and stats["activeUsers"] == 3
    assert stats["messages"] == 5 and stats["messagesToday"] == 2
    assert stats["onlineNow"] is None
    [top] = stats["topConversations"]
    assert top["messages"] == 4
    assert sorted(top["users"]) == sorted([str(alice.pk), str(bob.pk)])


def test_chat_stats_counts_online_users_with_redis(busy, alice, settings, monkeypatch):  # noqa: ANN001
    """With REDIS_URL presence is shared, so the command can count who is online."""
    from messaging import selectors

    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    monkeypatch.setattr(selectors, "presence_online_ids", lambda: {str(alice.pk)})
    assert json.loads(run("chat_stats", "--json"))["onlineNow"] == 1


def test_chat_stats_on_an_empty_database(db):  # noqa: ANN001
    output = run("chat_stats")
    assert "Messages: 0 total, 0 today" in output and "(none yet)" in output
