"""A 360 x 740 phone: the list and the conversation take turns on the screen."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import PHONE

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def _no_sideways_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_phone_switches_between_list_and_conversation(people, picture):
    bob = people("Bob Okafor")
    bob.signup()
    alice = people("Alice Martin", viewport=PHONE, phone=True)
    page = alice.page
    alice.goto("/signup/")
    alice.screenshot("signup-phone")
    _no_sideways_scroll(page)
    alice.signup()

    sidebar, conversation = page.locator("#sidebar"), page.locator("#conversation")
    expect(sidebar).to_be_visible()
    expect(conversation).to_be_hidden()
    _no_sideways_scroll(page)
    alice.screenshot("list-phone")

    page.get_by_role("button", name="New chat").tap()
    dialog = page.get_by_role("dialog", name="New chat")
    expect(dialog).to_be_in_viewport()
    _no_sideways_scroll(page)
    # The directory is searched, not listed whole (docs/SAFETY.md).
    dialog.get_by_role("searchbox", name="Search people").fill("Bob")
    dialog.get_by_role("button", name="Bob Okafor").tap()
    expect(conversation).to_be_visible()
    expect(sidebar).to_be_hidden()
    expect(page.locator(".topbar")).to_be_hidden()  # the conversation gets the whole screen
    expect(page).to_have_url(re.compile(r"\?c="))

    box = page.get_by_role("textbox", name="Message")
    box.fill("Sent from my phone")
    page.get_by_role("button", name="Send").tap()
    expect(bob.row("Alice Martin")).to_contain_text("Sent from my phone")
    bob.open_chat("Alice Martin")
    bob.send("Got it, thanks!")
    expect(alice.bubble("Got it, thanks!")).to_be_in_viewport()

    attach = page.get_by_text("Attach a photo or file")
    expect(page.locator(".composer__attach")).to_be_in_viewport()
    page.locator("#image-input").set_input_files(picture)
    expect(page.locator("#image-preview")).to_be_in_viewport()
    page.get_by_role("button", name="Remove image").tap()
    expect(page.locator("#image-preview")).to_be_hidden()
    assert attach.count() == 1
    _no_sideways_scroll(page)
    alice.screenshot("phone")

    page.get_by_role("button", name="Back to chats").tap()
    expect(sidebar).to_be_visible()
    expect(conversation).to_be_hidden()
    expect(page).not_to_have_url(re.compile(r"\?c="))
    expect(alice.row("Bob Okafor")).to_contain_text("Got it, thanks!")

    for path in ("/profile/", "/settings/"):
        alice.goto(path)
        _no_sideways_scroll(page)
    alice.screenshot("settings-phone")
