"""Muting a conversation: a per-member flag in the conversation JSON, nothing else changes."""

import pytest

from messaging.direct import direct_conversation_id

URL = "/api/conversations/"


def test_mute_is_mine_only_and_counts_still_update(
    login_client, make_message, sent_events, alice, bob
):  # noqa: ANN001
    make_message(bob, alice, "one")
    conversation = direct_conversation_id(alice.pk, bob.pk)
    client = login_client(alice)

    with sent_events() as events:
        response = client.call("post", f"{URL}{conversation}/mute", {"muted": True})
    assert response.status_code == 200
    assert response.json() == {"conversationId": str(conversation), "muted": True}
    assert events == [([str(alice.pk)], "conversationMuted", response.json())]  # her tabs only

    make_message(bob, alice, "two")
    mine = client.get(f"{URL}{conversation}").json()
    assert mine["muted"] is True and mine["unreadCount"] == 2  # quiet, still counted
    assert [row["muted"] for row in client.get(URL).json()] == [True]
    assert login_client(bob).get(f"{URL}{conversation}").json()["muted"] is False

    client.call("post", f"{URL}{conversation}/mute", {"muted": False})
    assert client.get(f"{URL}{conversation}").json()["muted"] is False


@pytest.mark.parametrize("body", [{}, {"muted": "yes"}, {"muted": 1}, {"muted": None}])
def test_mute_needs_a_boolean(login_client, make_message, alice, bob, body):  # noqa: ANN001
    make_message(bob, alice, "one")
    conversation = direct_conversation_id(alice.pk, bob.pk)
    response = login_client(alice).call("post", f"{URL}{conversation}/mute", body)
    assert response.status_code == 400
    assert any("muted" in key for key in response.json()["errors"])


def test_mute_someone_elses_conversation_is_404(login_client, make_message, alice, bob, carol):  # noqa: ANN001
    make_message(bob, alice, "one")
    conversation = direct_conversation_id(alice.pk, bob.pk)
    client = login_client(carol)
    assert client.call("post", f"{URL}{conversation}/mute", {"muted": True}).status_code == 404
    assert client.call("post", f"{URL}nope/mute", {"muted": True}).status_code == 404
