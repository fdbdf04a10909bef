"""What a real network does to a chat: reloads, long histories, drops, failures, many tabs."""

import re

import pytest
from playwright.sync_api import Route, WebSocketRoute, expect

from tests.e2e.conftest import WS_URL
from tests.servers import HttpSession

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

REST_SEND = re.compile(r"/api/conversations/[^/?]+/messages$")  # a send, not a history page


def _user_id(session: HttpSession, name: str) -> str:
    status, users = session.call("GET", "/api/messages/users")
    assert status == 200
    return next(u["_id"] for u in users if u["fullName"] == name)


def test_history_pages_in_on_scroll_pill_for_new_messages_and_reload_keeps_it(people, server):
    alice = people("Alice Martin")
    alice.signup()
    bob = HttpSession(server.url)
    bob.signup("Bob Okafor", "bob@example.com", "secret123")
    alice_id = _user_id(bob, "Alice Martin")
    alice.goto("/profile/")  # away from the chat while the history piles up
    for n in range(1, 76):
        status, _ = bob.call("POST", f"/api/messages/send/{alice_id}", {"text": f"note {n}"})
        assert status == 201

    alice.goto("/")
    alice.open_chat("Bob Okafor")
    newest = alice.bubble("note 75")
    expect(newest).to_be_in_viewport()
    expect(alice.bubbles()).to_have_count(50)  # the newest page only
    expect(alice.page.get_by_text("This is the beginning of your conversation")).to_be_hidden()

    # Scrolling up fetches the older page, without jumping away from what was on screen.
    alice.bubble("note 26").scroll_into_view_if_needed()
    alice.page.locator("#messages").evaluate("el => el.scrollTo({top: 0})")
    expect(alice.bubbles()).to_have_count(75)
    expect(alice.page.get_by_text("This is the beginning of your conversation")).to_be_visible()
    alice.page.locator("#messages").evaluate("el => el.scrollTo({top: 0})")
    expect(alice.bubbles().first).to_contain_text("note 1")
    expect(alice.bubble("note 75")).not_to_be_in_viewport()

    # Not at the bottom: a new message doesn't move the view, a pill offers to jump.
    bob.call("POST", f"/api/messages/send/{alice_id}", {"text": "note 76"})
    pill = alice.page.locator("#new-pill")
    expect(pill).to_have_text("1 new message")
    expect(alice.bubble("note 76")).not_to_be_in_viewport()
    alice.screenshot("pill")
    pill.click()
    expect(alice.bubble("note 76")).to_be_in_viewport()
    expect(pill).to_be_hidden()

    # At the bottom: new messages scroll into view by themselves.
    bob.call("POST", f"/api/messages/send/{alice_id}", {"text": "note 77"})
    expect(alice.bubble("note 77")).to_be_in_viewport()
    expect(pill).to_be_hidden()

    alice.send("Thanks for all the notes")
    alice.page.reload()
    expect(alice.page).to_have_url(re.compile(r"\?c="))
    expect(alice.page.locator("#pane-title")).to_have_text("Bob Okafor")
    expect(alice.bubble("Thanks for all the notes")).to_be_in_viewport()
    expect(alice.bubbles()).to_have_count(50)
    expect(alice.page.locator(".day__label").first).to_have_text("Today")


def test_offline_side_gets_exactly_the_missed_messages_and_its_queued_send(people):
    alice, bob = people("Alice Martin"), people("Bob Okafor")
    alice.signup()
    bob.signup()
    alice.open_chat("Bob Okafor")
    bob.open_chat("Alice Martin")
    bob.send("before the tunnel")
    expect(alice.bubble("before the tunnel")).to_be_visible()

    alice.context.set_offline(True)
    expect(alice.page.locator("#conn-status")).to_contain_text("You're offline")
    missed = ["missed one", "missed two", "missed three"]
    for text in missed:
        bob.send(text)
    alice.send("typed in the tunnel")
    queued = alice.bubble("typed in the tunnel")
    expect(queued).to_have_attribute("data-status", "queued")
    alice.screenshot("offline")
    expect(bob.bubble("typed in the tunnel")).to_have_count(0)
    expect(alice.bubble("missed one")).to_have_count(0)

    alice.context.set_offline(False)
    for text in missed:
        expect(alice.bubble(text)).to_have_count(1)
    expect(bob.bubble("typed in the tunnel")).to_have_count(1)
    expect(queued).not_to_have_attribute("data-status", re.compile("queued|sending|failed"))
    expected = ["before the tunnel", *missed, "typed in the tunnel"]
    expect(alice.page.locator("#message-list .bubble__text")).to_have_text(expected)
    expect(bob.page.locator("#message-list .bubble__text")).to_have_text(expected)
    expect(alice.page.locator("#conn-status")).to_be_hidden()
    # Alice was looking at the conversation when the messages came in: Bob sees them read.
    expect(bob.bubble("missed three")).to_have_attribute("data-status", "read")


def _socket_without_sends(ws: WebSocketRoute) -> None:
    """A socket that drops whenever the page sends a message on it: sends fall back to REST."""
    server = ws.connect_to_server()

    def from_page(message: str | bytes) -> None:
        if isinstance(message, str) and '"sendMessage"' in message:
            ws.close(code=4000)
            return
        server.send(message)

    ws.on_message(from_page)
    server.on_message(ws.send)


def test_failed_send_is_marked_and_retried_without_duplicates(people):
    alice, bob = people("Alice Martin"), people("Bob Okafor")
    alice.signup()
    bob.signup()
    alice.page.route_web_socket(WS_URL, _socket_without_sends)  # the REST path is tested
    alice.page.reload()
    alice.open_chat("Bob Okafor")
    bob.open_chat("Alice Martin")

    def broken(route: Route) -> None:
        route.fulfill(status=500, json={"message": "Something went wrong on our side"})

    alice.page.route(REST_SEND, broken)
    alice.send("first try")
    failed = alice.bubble("first try")
    expect(failed).to_have_attribute("data-status", "failed")
    expect(failed).to_contain_text("Something went wrong on our side")
    alice.screenshot("failed")
    alice.page.unroute(REST_SEND)
    failed.get_by_role("button", name="Retry").click()
    expect(failed).to_have_attribute("data-status", "read")
    expect(bob.bubble("first try")).to_have_count(1)

    # Busy (503, Retry-After): the message waits and goes by itself, no Retry needed.
    busy: list[int] = []

    def busy_once(route: Route) -> None:
        if busy:
            route.continue_()
            return
        busy.append(1)
        route.fulfill(
            status=503, headers={"Retry-After": "1"}, json={"message": "The server is busy"}
        )

    alice.page.route(REST_SEND, busy_once)
    alice.send("when you can")
    expect(bob.bubble("when you can")).to_have_count(1)
    expect(alice.bubble("when you can")).not_to_have_attribute("data-status", "failed")
    alice.page.unroute(REST_SEND)

    # The request reaches the server but the answer is lost: the socket's copy settles it.
    def lose_answer(route: Route) -> None:
        route.fetch()
        route.abort("connectionreset")

    alice.page.route(REST_SEND, lose_answer)
    alice.send("answer lost")
    expect(bob.bubble("answer lost")).to_have_count(1)
    expect(alice.bubble("answer lost")).to_have_count(1)
    expect(alice.bubble("answer lost")).to_have_attribute("data-status", "read")
    # The socket's copy can settle the bubble while the handler is still between fetch() and
    # abort(); a plain unroute would then pull the route from under it ("already handled").
    alice.page.unroute_all(behavior="wait")
    alice.send("back to normal")
    expect(bob.page.locator("#message-list .bubble__text")).to_have_text(
        ["first try", "when you can", "answer lost", "back to normal"]
    )


def test_second_tab_gets_the_same_messages_and_closing_it_keeps_the_user_online(people):
    alice, bob = people("Alice Martin"), people("Bob Okafor")
    alice.signup()
    bob.signup()
    second = alice.new_tab()
    alice.goto("/", second)
    alice.open_chat("Bob Okafor")
    alice.open_chat("Bob Okafor", second)
    bob.open_chat("Alice Martin")

    bob.send("hello to every tab")
    expect(alice.bubble("hello to every tab")).to_be_visible()
    expect(alice.bubble("hello to every tab", second)).to_be_visible()

    alice.send("sent from the second tab", second)
    expect(alice.bubble("sent from the second tab")).to_have_class(re.compile("message--out"))
    expect(bob.bubble("sent from the second tab")).to_have_count(1)
    alice.screenshot("second-tab", second)

    second.close()
    bob.send("still there?")
    expect(alice.bubble("still there?")).to_be_visible()
    expect(bob.bubble("still there?")).to_have_attribute("data-status", "read")
    expect(bob.page.locator("#pane-status")).to_have_text("Online")
    expect(bob.row("Alice Martin").locator(".dot")).to_be_visible()


def test_day_separators_and_times(people, server):
    import sqlite3
    from datetime import UTC, datetime, timedelta

    alice = people("Alice Martin")
    alice.signup()
    alice.goto("/profile/")
    bob = HttpSession(server.url)
    bob.signup("Bob Okafor", "bob@example.com", "secret123")
    alice_id = _user_id(bob, "Alice Martin")
    for text in ("last week", "yesterday evening", "this morning"):
        bob.call("POST", f"/api/messages/send/{alice_id}", {"text": text})
    # History is older than the test: move two messages back in time in the server's database.
    now = datetime.now(tz=UTC).replace(tzinfo=None)
    with sqlite3.connect(server.env["SQLITE_PATH"]) as db:
        for text, age in (
            ("last week", timedelta(days=8)),
            ("yesterday evening", timedelta(days=1)),
        ):
            moment = (now - age).replace(hour=19, minute=5).isoformat(sep=" ")
            db.execute("UPDATE messaging_message SET created_at = ? WHERE text = ?", (moment, text))

    alice.goto("/")
    alice.open_chat("Bob Okafor")
    labels = alice.page.locator(".day__label")
    expect(labels).to_have_count(3)
    expect(labels.nth(1)).to_have_text("Yesterday")
    expect(labels.nth(2)).to_have_text("Today")
    expect(labels.nth(0)).to_have_text(re.compile(r"^[A-Z][a-z]+ \d{1,2}(, \d{4})?$"))
    expect(alice.bubble("yesterday evening").locator("time")).to_have_text("7:05 PM")
    alice.screenshot("days")
