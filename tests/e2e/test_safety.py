"""Safety in the browser: New chat through the directory, block and unblock, mute, report."""

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def _menu(page: Page, item: str | re.Pattern[str]) -> None:
    page.get_by_role("button", name="Conversation options").click()
    page.get_by_role("menuitem", name=item).click()


def _composer(page: Page):
    return page.get_by_role("textbox", name="Message")


def test_new_chat_searches_the_directory_and_the_sidebar_lists_chats_only(people):
    """The sidebar lists conversations, never every account; New chat finds people as you
    type (a stranger's email stays hidden) and opens the chat."""
    bob, carol, alice = people("Bob Okafor"), people("Carol Nguyen"), people("Alice Martin")
    for person in (bob, carol, alice):
        person.signup()
    page = alice.page
    expect(page.locator(".chat-item")).to_have_count(0)  # two other accounts, no chats

    page.get_by_role("button", name="New chat").click()
    dialog = page.get_by_role("dialog", name="New chat")
    expect(dialog.get_by_role("status")).to_have_text(re.compile("Type a name or an email"))
    search = dialog.get_by_role("searchbox", name="Search people")
    search.fill("oka")
    result = dialog.get_by_role("button", name="Bob Okafor")
    expect(result).to_be_visible()
    expect(dialog.get_by_role("button", name="Carol Nguyen")).to_have_count(0)
    expect(result.locator(".pick__email")).to_have_text("")  # not a contact: no email shown
    alice.screenshot("new-chat-search")
    result.click()
    expect(page.locator("#pane-title")).to_have_text("Bob Okafor")
    alice.send("Hi Bob, found you in the directory")
    expect(bob.row("Alice Martin")).to_contain_text("found you in the directory")
    expect(bob.page.locator(".chat-item")).to_have_count(1)  # Carol is not listed


def test_block_and_unblock_from_the_menu_and_from_settings(people):
    alice, bob = people("Alice Martin"), people("Bob Okafor")
    for person in (alice, bob):
        person.signup()
    alice.open_chat("Bob Okafor")
    alice.send("Hello Bob")
    bob.open_chat("Alice Martin")
    expect(bob.bubble("Hello Bob")).to_be_visible()

    alice.page.once("dialog", lambda d: d.accept())  # "Block Bob Okafor? ..."
    _menu(alice.page, "Block Bob Okafor")
    readonly = alice.page.locator("#composer-readonly")
    expect(readonly).to_have_text(re.compile("You blocked this person. Unblock them"))
    expect(_composer(alice.page)).to_be_disabled()
    # Presence is hidden both ways: the header says why instead of a made-up "last seen".
    expect(alice.page.locator("#pane-status")).to_have_text("Blocked")
    alice.screenshot("blocked")

    # Bob is not told; his message fails with a neutral sentence and never reaches Alice.
    bob.send("Are you there?")
    failed = bob.bubble("Are you there?")
    expect(failed).to_have_attribute("data-status", "failed")
    expect(failed.locator(".message__failed-text")).to_contain_text(
        "You cannot message this person"
    )
    bob.screenshot("message-refused")
    expect(alice.bubble("Are you there?")).to_have_count(0)

    # Away from the chat, it leaves Alice's list; settings lists Bob with Unblock.
    alice.goto("/settings/")
    blocked = alice.page.locator("#blocked-list")
    expect(blocked).to_contain_text("Bob Okafor")
    alice.screenshot("settings-blocked")
    alice.goto("/")
    expect(alice.page.locator("#chat-list")).to_have_attribute("aria-busy", "false")
    expect(alice.row("Bob Okafor")).to_have_count(0)
    alice.goto("/settings/")
    alice.page.get_by_role("button", name="Unblock Bob Okafor").click()
    expect(alice.page.locator("#blocked-status")).to_have_text("You unblocked Bob Okafor.")

    alice.goto("/")
    alice.open_chat("Bob Okafor")
    expect(_composer(alice.page)).to_be_enabled()
    bob.send("Back again")
    expect(alice.bubble("Back again")).to_be_visible()

    # And from the menu: block, then unblock without leaving the chat.
    alice.page.once("dialog", lambda d: d.accept())
    _menu(alice.page, "Block Bob Okafor")
    expect(_composer(alice.page)).to_be_disabled()
    _menu(alice.page, "Unblock Bob Okafor")
    expect(_composer(alice.page)).to_be_enabled()
    expect(alice.page.locator("#pane-status")).not_to_have_text("Blocked")
    alice.send("Unblocked from the menu")
    expect(bob.bubble("Unblocked from the menu")).to_be_visible()


def test_a_muted_chat_updates_quietly(people):
    alice, bob, carol = people("Alice Martin"), people("Bob Okafor"), people("Carol Nguyen")
    for person in (alice, bob, carol):
        person.signup()
    bob.open_chat("Alice Martin")
    bob.send("first")
    carol.open_chat("Alice Martin")
    carol.send("from carol")
    alice.open_chat("Bob Okafor")
    _menu(alice.page, "Mute notifications")
    alice.page.get_by_role("button", name="Conversation options").click()
    expect(alice.page.get_by_role("menuitem", name="Unmute notifications")).to_be_visible()
    alice.page.keyboard.press("Escape")
    alice.open_chat("Carol Nguyen")  # Bob's chat is not in view any more

    bob.send("second")
    bob.send("third")
    row = alice.row("Bob Okafor")
    expect(row).to_contain_text("third")  # still updates
    expect(row.locator(".badge")).to_have_text("2")
    expect(row).to_have_class(re.compile("chat-item--muted"))
    expect(alice.page).to_have_title("Parley")  # no count in the title for a muted chat
    carol.send("carol again")
    expect(alice.page).to_have_title("Parley")  # Carol's chat is open and read
    alice.screenshot("muted")


def test_reporting_a_message(people):
    """The message menu calls openReportDialog(message) (static/js/report.js)."""
    alice, bob = people("Alice Martin"), people("Bob Okafor")
    for person in (alice, bob):
        person.signup()
    bob.open_chat("Alice Martin")
    bob.send("buy cheap pills")
    alice.open_chat("Bob Okafor")
    bubble = alice.bubble("buy cheap pills")
    expect(bubble).to_be_visible()
    message_id = bubble.get_attribute("data-message-id")
    alice.page.evaluate(
        "id => import('/static/js/report.js').then(m => m.openReportDialog({_id: id}))",
        message_id,
    )
    dialog = alice.page.get_by_role("dialog", name="Report message")
    dialog.get_by_role("button", name="Report").click()
    expect(dialog.get_by_role("status")).to_have_text("Pick a reason.")
    dialog.get_by_label("Spam").check()
    dialog.get_by_role("textbox", name="Note").fill("selling stuff")
    alice.screenshot("report")
    dialog.get_by_role("button", name="Report").click()
    expect(dialog.get_by_role("status")).to_have_text("Thanks. The moderators will look at it.")
    expect(dialog).to_be_hidden()


def test_a_blocked_persons_group_messages_are_folded(people):
    """In a group both are in, Alice sees a quiet line instead of Bob's message; Carol sees it."""
    alice, bob, carol = people("Alice Martin"), people("Bob Okafor"), people("Carol Nguyen")
    for person in (alice, bob, carol):
        person.signup()
    carol.create_group("Book club", ["Alice Martin", "Bob Okafor"])
    alice.open_chat("Bob Okafor")
    alice.page.once("dialog", lambda d: d.accept())
    _menu(alice.page, "Block Bob Okafor")
    expect(_composer(alice.page)).to_be_disabled()
    alice.open_chat("Book club")

    bob.open_chat("Book club")
    bob.send("spoilers ahead")
    carol.send("no spoilers please")
    expect(carol.bubble("spoilers ahead")).to_be_visible()
    expect(alice.bubble("no spoilers please")).to_be_visible()
    folded = alice.bubbles().filter(
        has=alice.page.locator(".bubble__text", has_text="spoilers ahead")
    )
    expect(folded).to_have_class(re.compile("message--blocked"))
    expect(folded.locator(".bubble")).to_be_hidden()
    alice.screenshot("group-folded")
    bob.send("one more spoiler")
    expect(alice.row("Book club")).to_contain_text("Message from someone you blocked")
