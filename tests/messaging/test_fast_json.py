"""The hot JSON endpoints (both history pages, both sends, the sidebar) answer without Ninja's
response validation (chatproject/json_response.py): byte for byte what the validation would
have answered, and JSON that still validates against the schema the OpenAPI document shows."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from ninja import Status
from pydantic import TypeAdapter, ValidationError

from chatproject.json_response import RENDERER, JsonAnswer
from messaging import editing, reactions
from messaging.schemas import (
    ContactOut,
    ConversationMessageOut,
    ConversationOut,
    ConversationSentMessageOut,
    MessageOut,
    ReplyOut,
    SentMessageOut,
)
from tests.conftest import ApiClient

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
# Quotes, a newline, a script tag and characters beyond ASCII: escaped the same way or not.
TRICKY = 'She said "héllo" ✓ 🎉\n</script>'


def upload(client: ApiClient, conversation_id: Any) -> str:
    file = SimpleUploadedFile("notes é.pdf", PDF, content_type="application/octet-stream")
    response = client.post(f"/api/conversations/{conversation_id}/attachments", {"file": file})
    assert response.status_code == 201, response.content
    return response.json()["_id"]


@pytest.fixture
def chat(alice, bob, carol, team, make_message, group_post, login_client, chat_media):  # noqa: ANN001, ANN201
    """Alice and Bob's direct conversation and the Team group holding one of everything: text,
    a file, replies, reactions, an edit, a tombstone, system lines, receipts set and unset."""
    now = timezone.now()
    earlier = now - timedelta(minutes=5)
    read = make_message(bob, alice, "read one", created_at=earlier, delivered_at=now, read_at=now)
    delivered = make_message(alice, bob, TRICKY, delivered_at=now)
    edited = make_message(bob, alice, "typo")
    editing.message_edit(
        editor=bob, conversation_id=edited.conversation_id, message_id=edited.pk, text="fixed"
    )
    gone = make_message(alice, bob, "oops")
    make_message(bob, alice, "quoting", reply_to=gone)
    make_message(alice, bob, "quoting", reply_to=read)
    editing.message_delete(actor=alice, conversation_id=gone.conversation_id, message_id=gone.pk)
    for user, emoji in ((alice, "🎉"), (bob, "🎉"), (bob, "👍🏽")):
        reactions.reaction_toggle(
            user=user,
            conversation_id=delivered.conversation_id,
            message_id=delivered.pk,
            emoji=emoji,
        )
    client = login_client(alice)
    direct = read.conversation_id
    sent = client.call(
        "post",
        f"/api/messages/{bob.pk}",
        {"text": "a file", "attachmentId": upload(client, direct)},
    )
    assert sent.status_code == 201, sent.content

    first = group_post(bob, team, "hello team")
    reactions.reaction_toggle(user=carol, conversation_id=team.pk, message_id=first.pk, emoji="❤️")
    group_post(carol, team, TRICKY)
    role = client.call(
        "put", f"/api/conversations/{team.pk}/members/{carol.pk}/role", {"role": "admin"}
    )
    assert role.status_code == 200, role.content  # a second system line
    return {"direct": direct, "team": team.pk, "first": first, "edited": edited}


def calls(chat: dict, alice, bob, png_data_url) -> list[tuple[str, str, Any, int, Any]]:  # noqa: ANN001
    """(method, path, body, status, the schema of the answer) of every fast endpoint."""
    history, sent = list[MessageOut], SentMessageOut
    page, group_sent = list[ConversationMessageOut], ConversationSentMessageOut
    team_page = f"/api/conversations/{chat['team']}/messages"
    direct_page = f"/api/conversations/{chat['direct']}/messages"
    image = {"image": png_data_url(), "clientId": "pic-1"}
    direct_reply = {"text": "x", "replyTo": str(chat["edited"].pk)}
    group_reply = {"text": "re", "replyTo": str(chat["first"].pk), "clientId": "c-1"}
    return [
        ("get", "/api/messages/users", None, 200, list[ContactOut]),
        ("get", f"/api/messages/{bob.pk}", None, 200, history),
        ("get", f"/api/messages/{bob.pk}?limit=2&before={chat['edited'].pk}", None, 200, history),
        ("get", direct_page, None, 200, page),
        ("get", team_page, None, 200, page),
        ("get", f"{team_page}?around={chat['first'].pk}&limit=3", None, 200, page),
        ("get", "/api/conversations/", None, 200, list[ConversationOut]),
        ("post", f"/api/messages/send/{bob.pk}", {"text": TRICKY}, 201, sent),
        ("post", f"/api/messages/{bob.pk}", image, 201, sent),
        ("post", f"/api/messages/{bob.pk}", image, 200, sent),  # a retry answers the first
        ("post", f"/api/messages/send/{bob.pk}", direct_reply, 201, sent),
        ("post", team_page, group_reply, 201, group_sent),
        ("post", team_page, group_reply, 200, group_sent),
        ("get", f"/api/messages/{bob.pk}", None, 200, history),
        ("get", team_page, None, 200, page),
        ("get", "/api/conversations/", None, 200, list[ConversationOut]),
    ]


@pytest.fixture
def both_ways(monkeypatch) -> list:  # noqa: ANN001
    """Each fast answer is rendered (and kept here), then its data goes back to Ninja to
    validate and render the old way: what the client receives."""
    fast: list = []
    real = JsonAnswer.response

    def render_both(self: JsonAnswer, request: Any, data: Any, status: int = 200) -> Status:
        self._shape(data)  # the fast path takes it (no fallback to validation)
        fast.append(real(self, request, data, status))
        return Status(status, data)

    monkeypatch.setattr(JsonAnswer, "response", render_both)
    return fast


def test_fast_answers_are_the_bytes_ninja_validation_writes(
    chat, alice, bob, login_client, png_data_url, both_ways
):  # noqa: ANN001
    client = login_client(alice)
    for method, path, body, status, _ in calls(chat, alice, bob, png_data_url):
        old = client.call(method, path, body)
        assert old.status_code == status, (path, old.content)
        fast = both_ways.pop()
        assert fast.status_code == status
        assert fast["Content-Type"] == old["Content-Type"]
        assert fast.content == old.content, path
    assert not both_ways


def test_fast_answers_validate_against_their_schemas(chat, alice, bob, login_client, png_data_url):  # noqa: ANN001
    """A dict shape drifting from the schema shows here: the JSON must validate and dump back
    to the same bytes (field order, defaults, nothing extra)."""
    client = login_client(alice)
    seen: set[str] = set()
    for method, path, body, status, schema in calls(chat, alice, bob, png_data_url):
        response = client.call(method, path, body)
        assert response.status_code == status, (path, response.content)
        adapter = TypeAdapter(schema)
        dumped = adapter.dump_python(adapter.validate_python(response.json()), by_alias=True)
        assert RENDERER.render(None, dumped, response_status=status).encode() == response.content
        seen.update(features(response.json()))
    assert seen == set(FEATURES) | set(SIDEBAR_FEATURES)  # the data really holds one of everything


FEATURES: dict[str, Callable[[dict], bool]] = {
    "text": lambda m: m.get("kind", "text") == "text" and bool(m["text"]),
    "system line": lambda m: m.get("kind") == "system" and bool(m["event"]),
    "picture": lambda m: m["image"] is not None,
    "file": lambda m: m["file"] is not None,
    "reply": lambda m: bool(m.get("replyTo")) and not m["replyTo"]["deleted"],
    "reply to a deleted one": lambda m: bool(m.get("replyTo")) and m["replyTo"]["deleted"],
    "reactions": lambda m: bool(m.get("reactions")),
    "edited": lambda m: m["editedAt"] is not None,
    "tombstone": lambda m: m["deletedAt"] is not None,
    "read": lambda m: m["readAt"] is not None,
    "delivered, unread": lambda m: m["deliveredAt"] is not None and m["readAt"] is None,
    "no receipt": lambda m: m["deliveredAt"] is None and m["receiverId"] is not None,
    "group message": lambda m: m["receiverId"] is None and m.get("kind") == "text",
}
SIDEBAR_FEATURES: dict[str, Callable[[dict], bool]] = {
    "a direct conversation": lambda row: row["peer"] is not None,
    "a group": lambda row: row["kind"] == "group",
}


def features(answer: Any) -> set[str]:
    """What an answer shows, named as in FEATURES and SIDEBAR_FEATURES."""
    rows = answer if isinstance(answer, list) else [answer]
    rows = [row for row in rows if "unreadCount" not in row or "lastSeq" in row]  # no contacts
    sidebar = [row for row in rows if "lastSeq" in row]
    messages = [row for row in rows if "lastSeq" not in row]
    messages += [row["lastMessage"] for row in sidebar if row["lastMessage"]]
    found = {name for name, test in FEATURES.items() if any(map(test, messages))}
    return found | {name for name, test in SIDEBAR_FEATURES.items() if any(map(test, sidebar))}


# --- The fast path itself ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        # Extra keys dropped, defaults filled, the schema's order whatever the dict's.
        {"deleted": False, "image": True, "senderId": "u1", "_id": "m1", "extra": 1},
        # Off types: an int where a bool belongs is converted by validation (fallback).
        {"_id": "m1", "senderId": None, "text": "t", "image": 1, "deleted": 0},
    ],
)
def test_shapes_and_fallback_answer_what_validation_answers(data: dict) -> None:
    answer = JsonAnswer(ReplyOut)
    expected = RENDERER.render(None, answer.validated(None, data), response_status=200)
    assert answer.response(None, data).content == expected.encode()


def test_a_missing_required_field_still_fails_like_validation() -> None:
    """So the API's error handler answers 500 as it did, instead of a half Message."""
    with pytest.raises(ValidationError):
        JsonAnswer(list[ReplyOut]).response(None, [{"_id": "m1", "image": False}])


def test_a_schema_with_an_unknown_type_is_refused_at_import() -> None:
    with pytest.raises(TypeError, match="no fast JSON shape"):
        JsonAnswer(list[float])
