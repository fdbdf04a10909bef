"""Files leave storage with their messages: delete for everyone, purges, the admin, the sweep."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from attachments.models import Attachment
from attachments.services import attachments_delete
from messaging.models import Message

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(uploaded, send_file, alice, direct):  # noqa: ANN001
    """A file Alice sent: (its JSON, its message's pk)."""
    file = uploaded(alice, direct)
    message = send_file(alice, direct, file["_id"]).json()
    return file, message["_id"]


def test_deleting_a_message_for_everyone_removes_its_file(
    sent, stored, login_client, bob, django_capture_on_commit_callbacks
):  # noqa: ANN001
    """`attachments_delete(message_ids=...)` (what delete-for-everyone calls): the row goes at
    once, the stored bytes once that commits; the download is 404 from then on."""
    file, message_id = sent
    with django_capture_on_commit_callbacks() as callbacks:
        assert attachments_delete(message_ids=[message_id]) == 1
        assert not Attachment.objects.exists()
        assert len(stored()) == 1  # still there until the commit
    for callback in callbacks:
        callback()
    assert stored() == []
    assert login_client(bob).get(file["url"]).status_code == 404


def test_deleting_messages_in_the_admin_or_by_purge_removes_their_files(
    sent, stored, django_capture_on_commit_callbacks
):  # noqa: ANN001
    """`purge_messages` (and the admin's delete, the same service) take the files along."""
    Message.objects.update(created_at=timezone.now() - timedelta(days=40))
    with django_capture_on_commit_callbacks(execute=True):
        call_command("purge_messages", "--older-than", "30", stdout=StringIO())
    assert not Message.objects.exists() and not Attachment.objects.exists()
    assert stored() == []


def test_deleting_a_conversation_removes_its_unsent_uploads(
    uploaded, alice, direct, stored, django_capture_on_commit_callbacks
):  # noqa: ANN001
    from messaging.models import Conversation
    from messaging.services import conversations_delete

    uploaded(alice, direct)
    with django_capture_on_commit_callbacks(execute=True):
        conversations_delete(conversations=Conversation.objects.filter(pk=direct))
    assert not Attachment.objects.exists() and stored() == []


def test_sweep_deletes_old_unsent_uploads_only(
    uploaded, sent, alice, direct, stored, settings, django_capture_on_commit_callbacks
):  # noqa: ANN001
    """`attachments_sweep` deletes uploads never sent and older than ATTACHMENT_UNSENT_TTL;
    a recent unsent one and every sent one stay. `--dry-run` only counts."""
    settings.ATTACHMENT_UNSENT_TTL = 3600
    old = uploaded(alice, direct, "old.pdf")
    recent = uploaded(alice, direct, "recent.pdf")
    long_ago = timezone.now() - timedelta(hours=2)
    Attachment.objects.filter(pk__in=[old["_id"], sent[0]["_id"]]).update(created_at=long_ago)

    out = StringIO()
    call_command("attachments_sweep", "--dry-run", stdout=out)
    assert "Would delete 1 unsent upload(s)." in out.getvalue()
    assert Attachment.objects.count() == 3

    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("attachments_sweep", "-v", "2", stdout=out)
    assert "Deleted 1 unsent upload(s)." in out.getvalue() and "Cut-off" in out.getvalue()
    left = {str(pk) for pk in Attachment.objects.values_list("pk", flat=True)}
    assert left == {recent["_id"], sent[0]["_id"]}
    assert len(stored()) == 2


def test_a_storage_failure_on_delete_is_logged_not_raised(sent, monkeypatch, caplog):  # noqa: ANN001
    from django.core.files.storage import default_storage

    def broken(name: str) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(default_storage, "delete", broken)
    from attachments.storage import attachment_files_delete

    attachment_files_delete([Attachment.objects.get().storage_name])
    assert "could not delete stored attachment" in caplog.text
