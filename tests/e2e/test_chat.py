"""Two people chatting in two browsers: presence, text, images, typing, receipts, unread."""

import re

import pytest
from playwright.sync_api import Route, expect

from tests.servers import HttpSession

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def test_two_people_see_each_other_online_and_exchange_text(people):
    """Both sign up through the form and talk both ways; once they share a conversation each
    sees the other online (strangers' presence is none of their business)."""
    alice, bob = people("Alice Martin"), people("Bob Okafor")
    alice.signup()
    bob.signup()
    alice.page.reload()  # Bob signed up after Alice's page loaded
    expect(alice.row("Bob Okafor").locator(".dot")).to_be_hidden()

    alice.open_chat("Bob Okafor")
    alice.send("Hi Bob! Lunch at noon?")
    expect(bob.row("Alice Martin")).to_contain_text("Hi Bob! Lunch at noon?")
    expect(alice.row("Bob Okafor").locator(".dot")).to_be_visible()
    expect(bob.row("Alice Martin").locator(".dot")).to_be_visible()
    expect(alice.page.locator("#online-count")).to_have_text("(1)")
    expect(alice.page.locator("#pane-status")).to_have_text("Online")

    bob.open_chat("Alice Martin")
    expect(bob.bubble("Hi Bob! Lunch at noon?")).to_have_class(re.compile("message--in"))
    bob.send("Sounds good.\nSee you there")  # a pasted two-line message
    expect(alice.bubble("Sounds good.")).to_have_class(re.compile("message--in"))
    expect(alice.bubble("Sounds good.").locator(".bubble__text")).to_have_text(
        "Sounds good.\nSee you there"
    )
    expect(alice.bubbles()).to_have_count(2)
    expect(bob.bubbles()).to_have_count(2)
    alice.screenshot("chat")
    bob.screenshot("chat")

    # Bob goes away: Alice sees him offline, with a "last seen".
    bob.context.close()
    expect(alice.row("Bob Okafor").locator(".dot")).to_be_hidden()
    expect(alice.page.locator("#pane-status")).to_contain_text("Last seen")


def test_composer_enter_sends_shift_enter_breaks_and_empty_cannot_send(people):
    alice, bob = people("Alice Martin"), people("Bob Okafor")
    bob.signup()
    alice.signup()
    alice.open_chat("Bob Okafor")
    box = alice.page.get_by_role("textbox", name="Message")
    send = alice.page.get_by_role("button", name="Send", exact=True)  # not a row "Sending: ..."
    expect(send).to_be_disabled()
    box.type("first line")
    box.press("Shift+Enter")
    box.type("second line")
    expect(send).to_be_enabled()
    box.press("Enter")
    expect(alice.bubble("first line").locator(".bubble__text")).to_have_text(
        "first line\nsecond line"
    )
    expect(box).to_have_value("")
    expect(send).to_be_disabled()
    box.fill("   ")
    expect(send).to_be_disabled()


def test_typing_is_shown_and_cleared(people):
    alice, bob = people("Alice Martin"), people("Bob Okafor")
    alice.signup()
    bob.signup()
    alice.open_chat("Bob Okafor")
    alice.send("Are you there?")  # now they share a conversation: presence between them
    bob.open_chat("Alice Martin")
    expect(alice.page.locator("#pane-status")).to_have_text("Online")

    bob.page.get_by_role("textbox", name="Message").press_sequentially("I'm wri")
    expect(alice.page.locator("#pane-status")).to_have_text("typing…")
    expect(alice.row("Bob Okafor")).to_contain_text("typing…")
    alice.screenshot("typing")

    bob.page.get_by_role("textbox", name="Message").fill("")
    expect(alice.page.locator("#pane-status")).to_have_text("Online")

    bob.page.get_by_role("textbox", name="Message").press_sequentially("Done!")
    expect(alice.page.locator("#pane-status")).to_have_text("typing…")
    bob.page.get_by_role("textbox", name="Message").press("Enter")
    expect(alice.bubble("Done!")).to_be_visible()
    expect(alice.page.locator("#pane-status")).to_have_text("Online")


def test_marks_go_from_sent_to_delivered_to_read(people):
    alice, bob = people("Alice Martin"), people("Bob Okafor")
    bob.signup()
    bob.goto("/profile/")  # logged in, but no chat page open: nothing can be delivered
    alice.signup()
    alice.open_chat("Bob Okafor")

    alice.send("Are you there?")
    mine = alice.bubble("Are you there?")
    expect(mine).to_have_attribute("data-status", "sent")
    expect(mine.locator(".mark__label")).to_have_text("Sent")

    bob.goto("/")  # his socket connects: the message has reached him
    expect(mine).to_have_attribute("data-status", "delivered")
    expect(mine.locator(".mark__label")).to_have_text("Delivered")
    expect(bob.row("Alice Martin").locator(".badge")).to_have_text("1")

    bob.open_chat("Alice Martin")  # he reads it
    expect(mine).to_have_attribute("data-status", "read")
    expect(mine.locator(".mark__label")).to_have_text("Read")
    expect(bob.row("Alice Martin").locator(".badge")).to_be_hidden()
    alice.screenshot("read")

    # While Bob has the conversation open, new messages go straight to "read".
    alice.send("Great, see you soon")
    expect(alice.bubble("see you soon")).to_have_attribute("data-status", "read")


def test_image_message_with_preview_remove_and_full_size(people, picture):
    alice, bob = people("Alice Martin"), people("Bob Okafor")
    alice.signup()
    bob.signup()
    alice.open_chat("Bob Okafor")
    bob.open_chat("Alice Martin")

    page = alice.page
    page.locator("#image-input").set_input_files(picture)
    preview = page.locator("#image-preview")
    expect(preview).to_be_visible()
    expect(page.get_by_role("button", name="Send")).to_be_enabled()
    page.get_by_role("button", name="Remove image").click()
    expect(preview).to_be_hidden()
    expect(page.get_by_role("button", name="Send")).to_be_disabled()

    page.locator("#image-input").set_input_files(picture)
    expect(preview).to_be_visible()
    alice.screenshot("image-preview")
    page.get_by_role("textbox", name="Message").fill("The view from here")
    page.get_by_role("button", name="Send").click()
    expect(preview).to_be_hidden()

    received = bob.bubble("The view from here")
    image = received.locator(".bubble__image img")
    expect(image).to_be_visible()
    expect(image).to_have_attribute("src", re.compile(r"/media/.+\.png$"))
    expect(image).to_have_js_property("complete", True)
    assert image.evaluate("img => img.naturalWidth") == 320
    expect(bob.row("Alice Martin")).to_contain_text("The view from here")

    received.get_by_role("button", name="Open photo full size").click()
    lightbox = bob.page.locator("#lightbox")
    expect(lightbox).to_be_visible()
    expect(lightbox.locator("img")).to_have_attribute("src", re.compile(r"/media/.+\.png$"))
    bob.screenshot("lightbox")
    bob.page.keyboard.press("Escape")
    expect(lightbox).to_be_hidden()

    # A photo alone, without text, also works and shows in the sidebar as a photo.
    page.locator("#image-input").set_input_files(picture)
    page.get_by_role("button", name="Send").click()
    expect(bob.bubbles().locator(".bubble__image img")).to_have_count(2)
    expect(bob.row("Alice Martin")).to_contain_text("Photo")
    bob.screenshot("images")


def test_unread_badge_title_and_order_when_a_third_person_writes(people, server):
    alice, bob = people("Alice Martin"), people("Bob Okafor")
    bob.signup()
    carol = HttpSession(server.url)
    carol.signup("Carol Nguyen", "carol@example.com", "secret123")
    alice.signup()
    alice.open_chat("Bob Okafor")
    alice.send("Hello Bob")
    names = alice.page.locator("#chat-list .chat-item__name")
    expect(names).to_have_text(["Bob Okafor"])  # chats, not everyone: Carol hasn't written

    alice_id = carol.call("GET", "/api/messages/users")[1][0]["_id"]
    for text in ("Hey Alice!", "Got a minute?"):
        status, _ = carol.call("POST", f"/api/messages/send/{alice_id}", {"text": text})
        assert status == 201

    carol_row = alice.row("Carol Nguyen")
    expect(carol_row.locator(".badge")).to_have_text("2")
    expect(carol_row).to_contain_text("Got a minute?")
    expect(names).to_have_text(["Carol Nguyen", "Bob Okafor"])
    expect(alice.page).to_have_title("(2) Parley")
    expect(alice.page.locator("#announcer")).to_have_text("New message from Carol Nguyen")
    alice.screenshot("unread")

    alice.open_chat("Carol Nguyen")
    expect(carol_row.locator(".badge")).to_be_hidden()
    expect(alice.page).to_have_title("Parley")
    expect(alice.bubbles()).to_have_count(2)

    # Someone who signed up after the page loaded appears as soon as they write.
    dave = HttpSession(server.url)
    dave.signup("Dave Kowalski", "dave@example.com", "secret123")
    dave.call("POST", f"/api/messages/send/{alice_id}", {"text": "I'm new here"})
    expect(names).to_have_text(["Dave Kowalski", "Carol Nguyen", "Bob Okafor"])
    expect(alice.row("Dave Kowalski").locator(".badge")).to_have_text("1")


def test_search_and_online_only_filter_the_sidebar(people, server):
    alice, bob = people("Alice Martin"), people("Bob Okafor")
    carol = HttpSession(server.url)
    carol.signup("Carol Nguyen", "carol@example.com", "secret123")
    bob.signup()
    alice.signup()
    bob.open_chat("Alice Martin")
    bob.send("Hello Alice")  # online only counts people you share a conversation with
    alice_id = next(
        u["_id"]
        for u in carol.call("GET", "/api/messages/users")[1]
        if u["fullName"] == "Alice Martin"
    )
    assert carol.call("POST", f"/api/messages/{alice_id}", {"text": "Hi from Carol"})[0] == 201
    rows = alice.page.locator("#chat-list .chat-item")
    expect(rows).to_have_count(2)
    expect(alice.page.locator("#online-count")).to_have_text("(1)")

    alice.page.get_by_text("Show online only").click()
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Bob Okafor")
    alice.page.get_by_text("Show online only").click()

    search = alice.page.get_by_role("searchbox", name="Search chats")
    search.fill("car")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Carol Nguyen")
    search.fill("zzz")
    expect(rows).to_have_count(0)
    expect(alice.page.locator("#chats-empty")).to_contain_text("No matches")


def test_a_message_that_looks_like_html_is_shown_as_text(people):
    """`<img src=x onerror=alert(1)>` is text: no image element, no dialog."""
    attack = "<img src=x onerror=alert(1)>"
    alice, bob = people("Alice Martin"), people("<b>Bob</b> <script>alert(2)</script>")
    dialogs: list[str] = []
    for person in (alice, bob):
        person.page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    alice.signup()
    bob.signup()

    alice.open_chat("<b>Bob</b> <script>alert(2)</script>")
    alice.send(attack)
    bob.open_chat("Alice Martin")
    bubble = bob.bubble(attack)
    expect(bubble.locator(".bubble__text")).to_have_text(attack)
    expect(bob.page.locator("#message-list img")).to_have_count(0)
    expect(bob.row("Alice Martin").locator(".chat-item__preview")).to_have_text(attack)
    expect(alice.page.locator("#chat-list img:not(.chat-item__avatar)")).to_have_count(0)
    expect(alice.page.locator("#chat-list b, #chat-list script")).to_have_count(0)
    bob.screenshot("xss")
    bob.page.reload()  # and again when the history comes from the API
    expect(bob.bubble(attack).locator(".bubble__text")).to_have_text(attack)
    expect(bob.page.locator("#message-list img")).to_have_count(0)
    assert dialogs == []


def test_chat_list_error_state_offers_a_retry(people):
    alice = people("Alice Martin")
    alice.signup()
    page = alice.page

    def unavailable(route: Route) -> None:
        route.fulfill(status=503, json={"message": "Parley is briefly unavailable"})

    page.route("**/api/conversations/", unavailable)
    page.reload()
    empty = page.locator("#chats-empty")
    expect(empty).to_contain_text("Couldn't load your chats")
    expect(empty).to_contain_text("Parley is briefly unavailable")
    alice.screenshot("chats-error")
    page.unroute("**/api/conversations/")
    empty.get_by_role("button", name="Try again").click()
    expect(empty).to_contain_text("No chats yet")


def test_notifications_are_opt_in_and_only_for_what_is_not_in_view(people, server):
    alice, bob = people("Alice Martin"), people("Bob Okafor")
    # The browser's own notification is replaced by a recorder (Playwright can't see them).
    alice.context.add_init_script(
        """
        window.shown = [];
        window.Notification = class extends EventTarget {
          static permission = "default";
          static requestPermission() {
            Notification.permission = "granted";
            return Promise.resolve("granted");
          }
          constructor(title, options) {
            super();
            window.shown.push({title, body: options.body});
          }
          close() {}
        };
        """
    )
    alice.signup()
    bob.signup()
    bob.open_chat("Alice Martin")
    bob.send("before opting in")
    expect(alice.row("Bob Okafor").locator(".badge")).to_have_text("1")
    assert alice.page.evaluate("window.shown") == []

    alice.page.get_by_role("button", name="Turn on notifications").click()
    expect(alice.page.get_by_role("button", name="Turn on notifications")).to_be_hidden()
    bob.send("after opting in")
    expect(alice.row("Bob Okafor").locator(".badge")).to_have_text("2")
    shown = alice.page.evaluate("window.shown")
    assert shown == [{"title": "Bob Okafor", "body": "after opting in"}]

    alice.open_chat("Bob Okafor")  # in view: no notification needed
    bob.send("while you look")
    expect(alice.bubble("while you look")).to_be_visible()
    assert len(alice.page.evaluate("window.shown")) == 1


def test_the_chat_works_from_the_keyboard(people, server):
    carol = HttpSession(server.url)
    carol.signup("Carol Nguyen", "carol@example.com", "secret123")
    bob = people("Bob Okafor")
    bob.signup()
    alice = people("Alice Martin")
    alice.signup()
    page = alice.page

    # A new chat: the dialog's search takes the focus, the arrow reaches the person, Enter opens.
    page.get_by_role("button", name="New chat").focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="New chat")
    expect(dialog.get_by_role("searchbox", name="Search people")).to_be_focused()
    page.keyboard.type("Bob")
    expect(dialog.get_by_role("button", name="Carol Nguyen")).to_be_hidden()
    page.keyboard.press("ArrowDown")
    expect(dialog.get_by_role("button", name="Bob Okafor")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#pane-title")).to_have_text("Bob Okafor")
    expect(page.get_by_role("textbox", name="Message")).to_be_focused()
    page.keyboard.type("Typed without a mouse")
    page.keyboard.press("Enter")
    expect(bob.row("Alice Martin")).to_contain_text("Typed without a mouse")

    # The chat list is one Tab stop; arrows move inside it.
    alice_id = next(
        u["_id"]
        for u in carol.call("GET", "/api/messages/users")[1]
        if u["fullName"] == "Alice Martin"
    )
    carol.call("POST", f"/api/messages/{alice_id}", {"text": "Carol here"})
    expect(alice.row("Carol Nguyen")).to_be_visible()
    page.get_by_role("searchbox", name="Search chats").focus()
    page.keyboard.press("Tab")  # the "online only" switch
    expect(page.locator("#online-only")).to_be_focused()
    page.keyboard.press("Tab")  # into the list, on the open chat
    expect(alice.row("Bob Okafor").get_by_role("button")).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(alice.row("Carol Nguyen").get_by_role("button")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#pane-title")).to_have_text("Carol Nguyen")
    expect(page.get_by_role("textbox", name="Message")).to_be_focused()
