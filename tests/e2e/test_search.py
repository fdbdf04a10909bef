"""Message search in the browser: find a message deep in history, land on it highlighted."""

import re

import pytest
from playwright.sync_api import expect

from tests.servers import HttpSession

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

NEEDLE = "The spare key is under the blue flowerpot"
LATER = 260  # messages after it: five pages back, well past what opening the chat loads


def test_search_finds_a_message_deep_in_history_and_opens_it_highlighted(people, server, shoot):
    bob = people("Bob Okafor")
    bob.signup()
    alice = HttpSession(server.url)
    alice.signup("Alice Martin", "alice@example.com", "secret123")
    status, users = alice.call("GET", "/api/messages/users")
    bob_id = next(u["_id"] for u in users if u["fullName"] == "Bob Okafor")
    status, chat = alice.call("POST", "/api/conversations/", {"userId": bob_id})
    assert status == 201
    path = f"/api/conversations/{chat['_id']}/messages"
    assert alice.call("POST", path, {"text": NEEDLE})[0] == 201
    for n in range(LATER):
        assert alice.call("POST", path, {"text": f"Filler message number {n}"})[0] == 201
    alice.call("POST", path, {"text": "Did you find the key?"})

    page = bob.page
    bob.goto("/")
    expect(bob.row("Alice Martin")).to_be_visible()
    bob.open_chat("Alice Martin")
    expect(bob.bubble("Did you find the key?")).to_be_visible()
    expect(bob.bubble(NEEDLE)).to_have_count(0)  # not loaded: far up the history

    page.get_by_role("button", name="Search messages").click()
    page.get_by_role("searchbox", name="Search messages").fill("FLOWERP")  # a prefix, any case
    results = page.locator("#msearch-results .msearch-result")
    expect(results).to_have_count(1)
    result = results.first
    expect(result.locator(".msearch-result__conversation")).to_have_text("Alice Martin")
    expect(result.locator(".msearch-result__sender")).to_have_text("Alice Martin")
    expect(result.locator("mark")).to_have_text(["flowerpot"])
    expect(result.locator(".msearch-result__snippet")).to_have_text(NEEDLE)
    expect(page.locator("#msearch-status")).to_have_text("1 message found")

    # Filters: only photos finds nothing; back to anything finds it again.
    page.get_by_role("button", name="Filters").click()
    page.get_by_label(re.compile("^With")).select_option("image")
    expect(page.locator("#msearch-status")).to_have_text("No messages found for “FLOWERP”")
    page.get_by_label(re.compile("^With")).select_option("")
    expect(results).to_have_count(1)
    shoot(page, "results")

    result.click()
    found = bob.bubble(NEEDLE)
    expect(found).to_have_attribute("data-found", "")
    expect(found).to_be_in_viewport()
    # Its context came with it: the messages just before and after, in order.
    expect(bob.bubble("Filler message number 0")).to_have_count(1)
    texts = bob.bubbles().locator(".bubble__text").all_inner_texts()
    assert texts.index(NEEDLE) < texts.index("Filler message number 0")
    # ...and everything up to the newest, nothing missing in between.
    assert texts[-1] == "Did you find the key?"
    assert len([t for t in texts if t.startswith("Filler")]) == LATER
    shoot(page, "landed")
