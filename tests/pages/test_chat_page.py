"""The chat page's markup for conversations and groups: dialogs and fields a person can name."""

import json
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db

STATIC = Path(settings.BASE_DIR) / "static"
DIALOGS = {
    "new-chat-dialog": "New chat",
    "new-group-dialog": "New group",
    "details-dialog": "Group details",
    "add-people-dialog": "Add people",
    "receipts-dialog": "Message info",
}


def test_each_dialog_is_a_labelled_dialog_element(page_client, alice, parse):
    """New chat, New group, the group's details, Add people and Message info are <dialog>s
    named by their heading, so a screen reader announces what opened."""
    html = page_client(alice).get("/").content.decode()
    page = parse(page_client(alice).get("/"))
    ids = {attrs.get("id") for _tag, attrs in page.tags}
    for dialog_id, title in DIALOGS.items():
        [dialog] = page.find("dialog", id=dialog_id)
        heading = dialog["aria-labelledby"]
        assert heading in ids, dialog_id
        assert f'id="{heading}">{title}</h2>' in html, dialog_id


def test_every_field_on_the_chat_page_has_a_label(page_client, alice, parse):
    """Each input, textarea and the group-name fields are named by a <label for=...>."""
    page = parse(page_client(alice).get("/"))
    labelled = {a["for"] for a in page.find("label") if a.get("for")}
    fields = [a for tag, a in page.tags if tag in ("input", "textarea") and a.get("id")]
    assert {"new-group-title", "details-title", "new-chat-search", "details-picture-input"} <= {
        f["id"] for f in fields
    }
    for field in fields:
        assert field["id"] in labelled, field["id"]


def test_the_script_gets_a_picture_for_groups_without_one(page_client, alice, parse):
    """The boot data names the default group picture, and that file is served."""
    page = parse(page_client(alice).get("/"))
    [(_, body)] = [(a, b) for a, b in page.script_bodies if a.get("id") == "boot-data"]
    url = json.loads(body)["groupAvatar"]
    assert url.startswith(settings.STATIC_URL)
    assert (STATIC / url.removeprefix(settings.STATIC_URL)).is_file()
