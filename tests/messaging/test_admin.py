"""Moderating messages in /admin: browse by conversation, search, filter, redact, delete."""

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from messaging.admin import DELETED_PREVIEW
from messaging.models import Message

CHANGELIST = "/admin/messaging/message/"


@pytest.fixture
def admin_client_(make_user) -> Client:  # noqa: ANN001
    """A logged-in superuser (the admin uses Django's session login)."""
    staff = make_user(email="root@example.com", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def chat(make_user, alice, bob, make_message) -> dict:  # noqa: ANN001
    carol = make_user(email="carol@example.com", full_name="Carol Nguyen")
    return {
        "ab": make_message(alice, bob, "lunch at noon?"),
        "ba": make_message(bob, alice, "sure, the usual place", read_at=timezone.now()),
        "ac": make_message(alice, carol, "happy birthday"),
        "img": make_message(carol, bob, "", image="messages/pic.png"),
        "carol": carol,
    }


def listed(response) -> str:  # noqa: ANN001
    assert response.status_code == 200
    return response.content.decode()


def test_changelist_shows_who_what_and_when(admin_client_, chat):  # noqa: ANN001
    page = listed(admin_client_.get(CHANGELIST))
    for text in ("lunch at noon?", "sure, the usual place", "happy birthday", "[image]"):
        assert text in page
    assert "alice@example.com" in page and "carol@example.com" in page
    assert f"?conversation={chat['ab'].conversation_id}" in page


def test_one_conversation_both_directions(admin_client_, chat):  # noqa: ANN001
    """The row link shows that pair's messages, from either side, and no others."""
    page = listed(admin_client_.get(CHANGELIST, {"conversation": chat["ba"].conversation_id}))
    assert "lunch at noon?" in page and "sure, the usual place" in page
    assert "happy birthday" not in page
    assert "Alice Martin and Bob Okafor" in page or "Bob Okafor and Alice Martin" in page


def test_unknown_conversation_shows_nothing(admin_client_, chat):  # noqa: ANN001
    page = listed(admin_client_.get(CHANGELIST, {"conversation": "nope-x"}))
    assert "lunch at noon?" not in page and "Unknown conversation" in page


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ("birthday", "happy birthday", "lunch at noon?"),
        ("carol@example.com", "happy birthday", "lunch at noon?"),
        ("bob@example", "lunch at noon?", "happy birthday"),
    ],
)
def test_search_by_text_and_email(admin_client_, chat, query, shown, hidden):  # noqa: ANN001
    page = listed(admin_client_.get(CHANGELIST, {"q": query}))
    assert shown in page and hidden not in page


def test_filters_by_image(admin_client_, chat):  # noqa: ANN001
    image_page = listed(admin_client_.get(CHANGELIST, {"has_image": "yes"}))
    assert "[image]" in image_page and "happy birthday" not in image_page


def test_bulk_delete_removes_messages_and_images(
    admin_client_, chat, chat_media, django_capture_on_commit_callbacks
):  # noqa: ANN001
    """The delete action removes the rows and, after the commit, their stored image files."""
    (chat_media / "messages").mkdir()
    (chat_media / "messages" / "pic.png").write_bytes(b"png")
    chosen = [chat["img"].pk, chat["ac"].pk]

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_.post(
            CHANGELIST, {"action": "delete_selected", "_selected_action": chosen, "post": "yes"}
        )

    assert response.status_code == 302
    assert not Message.objects.filter(pk__in=chosen).exists()
    assert Message.objects.count() == 2
    assert not (chat_media / "messages" / "pic.png").exists()


def test_delete_one_message(admin_client_, chat):  # noqa: ANN001
    url = f"{CHANGELIST}{chat['ab'].pk}/delete/"
    assert admin_client_.post(url, {"post": "yes"}).status_code == 302
    assert not Message.objects.filter(pk=chat["ab"].pk).exists()


def test_moderator_can_redact_text_but_not_the_record(admin_client_, chat, alice):  # noqa: ANN001
    """Only the text is editable; sender, receiver and times stay as they were."""
    message = chat["ab"]
    url = f"{CHANGELIST}{message.pk}/change/"
    assert admin_client_.get(url).status_code == 200

    # The read-only inlines (edit history, reactions) come with the form, as a browser sends it.
    inlines = {
        f"{p}-{k}": "0" for p in ("edits", "reactions") for k in ("TOTAL_FORMS", "INITIAL_FORMS")
    }
    response = admin_client_.post(
        url, {"text": "[removed by a moderator]", "sender": "x", **inlines}
    )

    assert response.status_code == 302
    message.refresh_from_db()
    assert message.text == "[removed by a moderator]"
    assert message.sender_id == alice.pk


def test_messages_cannot_be_added_in_the_admin(admin_client_, db):  # noqa: ANN001
    assert admin_client_.get(f"{CHANGELIST}add/").status_code == 403


def test_non_staff_cannot_browse_messages(alice, chat):  # noqa: ANN001
    client = Client()
    client.force_login(alice)
    response = client.get(CHANGELIST)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_delete_for_everyone_leaves_a_live_tombstone(
    admin_client_, chat, chat_media, sent_events, alice, bob
):  # noqa: ANN001
    """The action goes through the same service as the API: the rows stay (seqs continuous)
    as tombstones that say who deleted them, the members hear `messageDeleted`, the picture
    file goes, and the list says "deleted" where the text was."""
    (chat_media / "messages").mkdir()
    (chat_media / "messages" / "pic.png").write_bytes(b"png")
    chosen = [chat["img"].pk, chat["ab"].pk]

    with sent_events() as events:
        response = admin_client_.post(
            CHANGELIST, {"action": "delete_for_everyone", "_selected_action": chosen}
        )

    assert response.status_code == 302
    staff = User.objects.get(email="root@example.com")
    for message in Message.objects.filter(pk__in=chosen):
        assert message.deleted_at and (message.text, message.image) == ("", "")
        assert message.deleted_by_id == staff.pk
    assert Message.objects.count() == 4
    assert sorted(data["_id"] for _, event, data in events if event == "messageDeleted") == sorted(
        str(pk) for pk in chosen
    )
    ab_event = next(e for e in events if e[2]["_id"] == str(chat["ab"].pk))
    assert ab_event[0] == sorted([str(alice.pk), str(bob.pk)])
    assert not (chat_media / "messages" / "pic.png").exists()
    page = listed(admin_client_.get(CHANGELIST))
    assert "lunch at noon?" not in page and page.count(DELETED_PREVIEW) == 2


def test_the_edit_history_is_shown_read_only(admin_client_, chat, alice, login_client):  # noqa: ANN001
    """Every earlier text of an edited message, who changed it and when; nothing to change."""
    message = chat["ab"]
    path = f"/api/conversations/{message.conversation_id}/messages/{message.pk}"
    for text in ("lunch at one?", "lunch at two?"):
        response = login_client(alice).call("patch", path, {"text": text})
        assert response.status_code == 200, response.content

    page = listed(admin_client_.get(f"{CHANGELIST}{message.pk}/change/"))

    assert "lunch at noon?" in page and "lunch at one?" in page
    assert 'name="edits-0-text"' not in page  # shown, not a form field
    assert 'name="edits-0-DELETE"' not in page


def test_markup_in_a_message_is_shown_as_text(admin_client_, make_message, alice, bob):  # noqa: ANN001
    """A moderator's page escapes what people typed."""
    make_message(alice, bob, "<script>alert(1)</script>")

    page = listed(admin_client_.get(CHANGELIST))

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_only_operators_who_may_delete_can_delete_for_everyone(make_user, chat):  # noqa: ANN001
    """A staff member allowed to view and redact, not to delete, cannot run the action."""
    from django.contrib.auth.models import Permission

    moderator = make_user(email="mod@example.com", is_staff=True)
    moderator.user_permissions.set(
        Permission.objects.filter(codename__in=["view_message", "change_message"])
    )
    client = Client()
    client.force_login(moderator)

    client.post(CHANGELIST, {"action": "delete_for_everyone", "_selected_action": [chat["ab"].pk]})

    assert Message.objects.get(pk=chat["ab"].pk).deleted_at is None
