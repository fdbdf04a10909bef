"""The browser sends text over its WebSocket, and falls back to REST when the socket fails it."""

import json

import pytest
from playwright.sync_api import WebSocketRoute, expect

from tests.e2e.conftest import WS_URL

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def test_typed_text_goes_over_the_socket_not_rest(people, picture):
    alice, bob = people("Alice Martin"), people("Bob Okafor")
    bob.signup()
    alice.signup()
    posts: list[str] = []
    alice.page.on(
        "request",
        lambda r: posts.append(r.url) if r.method == "POST" and "/api/" in r.url else None,
    )
    frames: list[str] = []
    alice.page.on("websocket", lambda ws: ws.on("framesent", lambda f: frames.append(str(f))))
    alice.page.reload()

    alice.open_chat("Bob Okafor")
    alice.send("over the socket")
    bob.open_chat("Alice Martin")
    expect(bob.bubble("over the socket")).to_be_visible()
    assert not [url for url in posts if url.endswith("/messages")], posts
    assert any('"sendMessage"' in frame for frame in frames)

    # A picture still goes over REST.
    alice.page.locator("#image-input").set_input_files(str(picture))
    alice.page.get_by_role("button", name="Send").click()
    expect(bob.bubbles().locator(".bubble__image img")).to_have_count(1)
    assert [url for url in posts if url.endswith("/messages")]


def test_a_send_the_socket_loses_is_settled_over_rest_once(people):
    """The socket dies with the send unanswered: REST (same clientId) stores it exactly once."""
    alice, bob = people("Alice Martin"), people("Bob Okafor")
    bob.signup()
    alice.signup()
    cut: list[str] = []

    def lose_the_first_send(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def from_page(message: str | bytes) -> None:
            if isinstance(message, str) and '"sendMessage"' in message and not cut:
                cut.append(message)
                server.send(message)  # the server stores it...
                ws.close(code=4000)  # ...but the answer never reaches the page
                return
            server.send(message)

        ws.on_message(from_page)
        server.on_message(ws.send)

    alice.page.route_web_socket(WS_URL, lose_the_first_send)
    alice.page.reload()
    alice.open_chat("Bob Okafor")
    alice.send("sent once")

    bob.open_chat("Alice Martin")
    expect(bob.bubble("sent once")).to_be_visible()
    expect(alice.bubble("sent once")).to_have_count(1)
    assert cut and json.loads(cut[0])["data"]["text"] == "sent once"
    alice.page.reload()
    bob.page.reload()
    bob.open_chat("Alice Martin")
    expect(bob.bubbles()).to_have_count(1)
