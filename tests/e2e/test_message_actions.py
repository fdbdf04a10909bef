"""Message actions in two browsers: edit, delete, reply, react, copy, file cards (issue 11).

Each test is two people in their own browser contexts; what one does shows on the other's
screen live, through the menu a person opens with the mouse, the keyboard or a long-press.
"""

import json
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import PHONE, Person

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

DOCS = Path(__file__).resolve().parents[2] / "docs"
XSS = '<img src=x onerror="window.pwned=1"><script>window.pwned=1</script>'


def menu_of(person: Person, text: str, page: Page | None = None) -> Locator:
    """Hover the bubble with `text` and open its menu with the "Message actions" button."""
    page = page or person.page
    bubble = person.bubble(text, page).first  # the original, not a reply quoting it
    bubble.locator(":scope > .bubble").hover()
    bubble.get_by_role("button", name="Message actions").click()
    menu = page.get_by_role("menu", name="Message actions")
    expect(menu).to_be_visible()
    return menu


def api(person: Person, method: str, path: str, **kwargs) -> tuple[int, dict]:
    """Call the API as this person (their browser's cookie; Origin as the page sends it)."""
    response = person.page.request.fetch(
        person.base_url + path,
        method=method,
        headers={"Origin": person.base_url, **kwargs.pop("headers", {})},
        **kwargs,
    )
    body = response.body()
    return response.status, (json.loads(body) if body else None)


def my_id(person: Person) -> str:
    return api(person, "GET", "/api/auth/check")[1]["_id"]


def conversation_id(person: Person) -> str:
    """The open conversation's id (the page's URL says it)."""
    return re.search(r"[?&]c=([^&]+)", person.page.url).group(1)


def pair(people) -> tuple[Person, Person]:
    """Alice and Bob, signed up, in their direct conversation with one message each way."""
    alice, bob = people("Alice Martin"), people("Bob Okafor")
    bob.signup()
    alice.signup()
    alice.open_chat("Bob Okafor")
    alice.send("Hi Bob, meeting at 5?")
    bob.open_chat("Alice Martin")
    expect(bob.bubble("meeting at 5")).to_be_visible()
    return alice, bob


def keep(person: Person, label: str, name: str) -> None:
    """A screenshot for the docs (looked at; kept in docs/)."""
    person.screenshot(label)
    artifacts = Path(__file__).parent / "artifacts"
    shot = max(artifacts.glob(f"*-{label}.png"), key=lambda p: p.stat().st_mtime)
    shutil.copy(shot, DOCS / name)


def test_edit_shows_live_with_edited_mark_and_up_arrow_edits_the_last(people):
    alice, bob = pair(people)
    menu = menu_of(alice, "meeting at 5")
    menu.get_by_role("menuitem", name="Edit").click()
    bar = alice.page.locator("#compose-bar")
    expect(bar).to_contain_text("Editing message")
    box = alice.page.get_by_role("textbox", name="Message")
    expect(box).to_have_value("Hi Bob, meeting at 5?")
    box.fill("Hi Bob, meeting at 6?")
    box.press("Enter")
    expect(bar).to_be_hidden()

    for person in (alice, bob):
        bubble = person.bubble("meeting at 6")
        expect(bubble.locator(".bubble__text")).to_have_text("Hi Bob, meeting at 6?")
        expect(bubble.locator(".bubble__edited")).to_have_text("edited")
    expect(bob.bubble("meeting at 5")).to_have_count(0)

    # Up-arrow in the empty box edits my last message; Esc gives the box back empty.
    alice.send("Bring the slieds")
    box.press("ArrowUp")
    expect(bar).to_contain_text("Editing message")
    expect(box).to_have_value("Bring the slieds")
    box.press("Escape")
    expect(bar).to_be_hidden()
    expect(box).to_have_value("")
    box.press("ArrowUp")
    box.fill("Bring the slides")
    box.press("Enter")
    expect(bob.bubble("Bring the slides").locator(".bubble__edited")).to_be_visible()
    expect(bob.bubbles()).to_have_count(2)
    # Only my own messages can be edited or deleted.
    menu = menu_of(bob, "Bring the slides")
    expect(menu.get_by_role("menuitem", name="Reply")).to_be_visible()
    expect(menu.get_by_role("menuitem", name="Edit")).to_be_hidden()
    expect(menu.get_by_role("menuitem", name="Delete")).to_be_hidden()
    bob.page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    # Someone else's message can be reported to the moderators (report.js's dialog).
    menu = menu_of(bob, "Bring the slides")
    menu.get_by_role("menuitem", name="Report").click()
    report = bob.page.get_by_role("dialog", name="Report message")
    expect(report).to_be_visible()
    report.get_by_role("button", name="Cancel").click()
    expect(report).to_be_hidden()
    expect(menu_of(alice, "Bring the slides").get_by_role("menuitem", name="Report")).to_be_hidden()


def test_reply_then_delete_for_everyone_in_a_group(people):
    alice, bob = people("Alice Martin"), people("Bob Okafor")
    bob.signup()
    alice.signup()
    alice.create_group("Launch", ["Bob Okafor"])
    alice.send("The password is swordfish")
    bob.open_chat("Launch")

    menu = menu_of(bob, "swordfish")
    menu.get_by_role("menuitem", name="Reply").click()
    bar = bob.page.locator("#compose-bar")
    expect(bar).to_contain_text("Replying to Alice Martin")
    expect(bar).to_contain_text("The password is swordfish")
    bob.send("Don't post that here!")
    expect(bar).to_be_hidden()
    for person in (alice, bob):
        quote = person.bubble("Don't post that").locator(".quote")
        expect(quote.locator(".quote__name")).to_have_text(
            "You" if person is alice else "Alice Martin"
        )
        expect(quote.locator(".quote__text")).to_have_text("The password is swordfish")
    bob.screenshot("reply")

    # The original is edited: the quote in the reply follows, live.
    menu_of(alice, "swordfish").get_by_role("menuitem", name="Edit").click()
    box = alice.page.get_by_role("textbox", name="Message")
    box.fill("The password was swordfish")
    box.press("Enter")
    expect(bob.bubble("Don't post that").locator(".quote__text")).to_have_text(
        "The password was swordfish"
    )

    menu = menu_of(alice, "swordfish")
    menu.get_by_role("menuitem", name="Delete").click()
    dialog = alice.page.get_by_role("dialog", name="Delete message?")
    expect(dialog).to_contain_text("deleted for everyone")
    dialog.get_by_role("button", name="Delete for everyone").click()
    expect(dialog).to_be_hidden()

    for person in (alice, bob):
        expect(person.page.locator("#message-list")).not_to_contain_text("swordfish")
        expect(person.page.locator(".message--deleted .bubble__deleted")).to_have_text(
            "This message was deleted"
        )
        quote = person.bubble("Don't post that").locator(".quote")
        expect(quote).to_have_class(re.compile("quote--deleted"))
        expect(quote.locator(".quote__text")).to_have_text("This message was deleted")
    # A tombstone has no actions.
    expect(bob.page.locator(".message--deleted .message__actions")).to_have_count(0)
    keep(bob, "deleted", "screenshot-reply-deleted.png")


def test_reply_quote_jumps_to_an_old_message_that_is_not_loaded(people):
    alice, bob = pair(people)
    bob_id = my_id(bob)
    status, first = api(alice, "POST", f"/api/messages/{bob_id}", data={"text": "Old news: v1"})
    assert status == 201, first
    for n in range(150):
        api(alice, "POST", f"/api/messages/{bob_id}", data={"text": f"filler {n}"})
    status, reply = api(
        bob,
        "POST",
        f"/api/messages/{my_id(alice)}",
        data={"text": "About that old one", "replyTo": first["_id"]},
    )
    assert status == 201, reply
    bob.page.reload()
    bob.open_chat("Alice Martin")
    quote = bob.bubble("About that old one").locator(".quote")
    expect(quote.locator(".quote__text")).to_have_text("Old news: v1")
    original = bob.bubbles().filter(has=bob.page.locator(".bubble__text", has_text="Old news: v1"))
    expect(original).to_have_count(0)  # only the newest pages are loaded

    quote.click()
    expect(original).to_be_in_viewport()
    expect(original).to_be_focused()
    # The history between the original and what was loaded is whole: every filler is there.
    fillers = bob.page.locator(".bubble__text", has_text=re.compile(r"^filler \d+$"))
    expect(fillers).to_have_count(150)
    bob.screenshot("jumped")


def test_reactions_toggle_with_counts_names_and_errors(people):
    alice, bob = pair(people)
    menu = menu_of(alice, "meeting at 5")
    expect(menu.get_by_role("menuitem", name=re.compile("React with"))).to_have_count(6)
    menu.get_by_role("menuitem", name="React with 👍").click()

    chip = bob.bubble("meeting at 5").locator(".reaction", has_text="👍")
    expect(chip).to_contain_text("1")
    expect(chip).to_have_attribute("aria-pressed", "false")
    expect(chip).to_have_attribute("title", "Alice Martin reacted with 👍")
    chip.click()  # Bob too
    expect(chip).to_have_attribute("aria-pressed", "true")
    expect(chip.locator(".reaction__count")).to_have_text("2")
    alice_chip = alice.bubble("meeting at 5").locator(".reaction", has_text="👍")
    expect(alice_chip.locator(".reaction__count")).to_have_text("2")
    expect(alice_chip).to_have_attribute("title", "You, Bob Okafor reacted with 👍")
    alice_chip.click()  # Alice takes hers back
    expect(chip.locator(".reaction__count")).to_have_text("1")
    expect(chip).to_have_attribute("title", "You reacted with 👍")

    # "More reactions" opens the picker.
    menu = menu_of(bob, "meeting at 5")
    menu.get_by_role("menuitem", name="More reactions").click()
    picker = bob.page.get_by_role("dialog", name="Emoji")
    picker.get_by_role("searchbox", name="Search emoji").fill("party")
    picker.locator('[data-emoji="🎉"]').click()
    expect(alice.bubble("meeting at 5").locator(".reaction", has_text="🎉")).to_be_visible()
    keep(bob, "reactions", "screenshot-reactions.png")

    # Refused (rate limit): said briefly, nothing changes.
    bob.page.route(
        re.compile(r"/reactions$"),
        lambda route: route.fulfill(
            status=429,
            content_type="application/json",
            headers={"Retry-After": "5"},
            body=json.dumps({"message": "Too many reactions, wait a moment"}),
        ),
    )
    chip.click()
    expect(bob.page.locator("#action-toast")).to_have_text(
        "Couldn't react: Too many reactions, wait a moment"
    )
    expect(chip).to_have_attribute("aria-pressed", "true")


def test_copy_text_puts_it_on_the_clipboard(people):
    alice, bob = pair(people)
    bob.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=bob.base_url)
    menu = menu_of(bob, "meeting at 5")
    menu.get_by_role("menuitem", name="Copy text").click()
    expect(bob.page.locator("#action-toast")).to_have_text("Copied to clipboard")
    assert bob.page.evaluate("navigator.clipboard.readText()") == "Hi Bob, meeting at 5?"


def test_file_card_downloads_for_members_and_names_stay_text(people, tmp_path):
    alice, bob = pair(people)
    carol = people("Carol Diaz")
    carol.signup()
    cid = conversation_id(alice)
    name = "<img src=x onerror=window.pwned=1>notes.txt"  # no "/": it would start the name
    status, upload = api(
        alice,
        "POST",
        f"/api/conversations/{cid}/attachments",
        multipart={"file": {"name": name, "mimeType": "text/plain", "buffer": b"line one\n" * 300}},
    )
    assert status == 201, upload
    status, sent = api(
        alice,
        "POST",
        f"/api/conversations/{cid}/messages",
        data={"attachmentId": upload["_id"], "text": XSS, "clientId": "file-1"},
    )
    assert status == 201, sent

    for person in (alice, bob):
        card = person.page.locator(".file-card")
        expect(card.locator(".file-card__name")).to_have_text(upload["name"])
        expect(card.locator(".file-card__icon")).to_have_text("TXT")
        expect(card.locator(".file-card__size")).to_have_text("3 KB")
        expect(card.locator("img")).to_have_count(0)
        expect(card.locator(".file-card__name")).to_have_text(name)
        expect(person.bubble("notes.txt").locator(".bubble__text")).to_have_text(XSS)
    with bob.page.expect_download() as info:
        bob.page.get_by_role("link", name=re.compile("^Download")).click()
    assert Path(info.value.path()).read_bytes() == b"line one\n" * 300
    keep(bob, "file", "screenshot-file-card.png")
    # Someone outside the conversation gets nothing.
    assert api(carol, "GET", upload["url"])[0] == 404
    assert bob.page.evaluate("window.pwned") is None


def test_xss_in_text_quotes_and_names_renders_as_text(people):
    mallory = people('<b>Mal</b><img src=x onerror="window.pwned=1">')
    bob = people("Bob Okafor")
    bob.signup()
    mallory.signup()
    mallory.open_chat("Bob Okafor")
    mallory.send(XSS)
    bob.page.reload()
    expect(bob.page.locator("#chat-list")).to_have_attribute("aria-busy", "false")
    bob.row(mallory.name).get_by_role("button").click()
    menu = menu_of(bob, "window.pwned")
    menu.get_by_role("menuitem", name="Reply").click()
    expect(bob.page.locator("#compose-bar-quote")).to_have_text(XSS)
    bob.send("Nice try")
    menu = menu_of(mallory, "window.pwned")
    menu.get_by_role("menuitem", name="React with 😂").click()
    for person in (mallory, bob):
        expect(person.bubble("Nice try").locator(".quote__text")).to_have_text(XSS)
        expect(person.page.locator("#message-list img")).to_have_count(0)
    chip = bob.page.locator(".reaction", has_text="😂")
    expect(chip).to_have_attribute("title", f"{mallory.name} reacted with 😂")
    assert bob.page.evaluate("window.pwned") is None
    assert mallory.page.evaluate("window.pwned") is None


def test_keyboard_only_menu(people):
    alice, bob = pair(people)
    alice.send("Second one")
    page = alice.page
    box = page.get_by_role("textbox", name="Message")
    box.focus()
    for _ in range(6):  # back from the message box to the list (one Tab stop for it)
        page.keyboard.press("Shift+Tab")
        if page.evaluate("document.activeElement.matches('.message')"):
            break
    newest = alice.bubble("Second one")
    expect(newest).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(alice.bubble("meeting at 5")).to_be_focused()
    page.keyboard.press("Enter")
    menu = page.get_by_role("menu", name="Message actions")
    expect(menu).to_be_visible()
    expect(menu.get_by_role("menuitem", name="React with 👍")).to_be_focused()
    page.keyboard.press("End")
    expect(menu.get_by_role("menuitem", name="Delete")).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(menu.get_by_role("menuitem", name="Edit")).to_be_focused()
    keep(alice, "menu", "screenshot-message-menu.png")
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    expect(alice.bubble("meeting at 5")).to_be_focused()

    page.keyboard.press("Enter")
    page.keyboard.press("ArrowRight")
    expect(menu.get_by_role("menuitem", name="React with ❤️")).to_be_focused()
    page.keyboard.press("Enter")
    expect(bob.bubble("meeting at 5").locator(".reaction", has_text="❤️")).to_contain_text("1")
    expect(alice.bubble("meeting at 5")).to_be_focused()

    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.keyboard.press("End")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Delete message?")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(bob.page.locator(".message--deleted")).to_have_count(1)
    expect(bob.page.locator("#message-list")).not_to_contain_text("Second one")


def test_long_press_opens_the_menu_on_a_touch_screen(people):
    alice = people("Alice Martin", viewport=PHONE, phone=True)
    bob = people("Bob Okafor")
    alice.signup()
    bob.signup()
    bob.open_chat("Alice Martin")
    bob.send("Tap and hold me")
    alice.open_chat("Bob Okafor")
    bubble = alice.bubble("Tap and hold me").locator(".bubble")
    box = bubble.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    cdp = alice.context.new_cdp_session(alice.page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    menu = alice.page.get_by_role("menu", name="Message actions")
    expect(menu).to_be_visible()  # while the finger still rests
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    expect(menu).to_be_visible()
    keep(alice, "long-press", "screenshot-long-press-phone.png")
    menu.get_by_role("menuitem", name="Reply").tap()
    expect(alice.page.locator("#compose-bar")).to_contain_text("Replying to Bob Okafor")
    alice.send("Holding!")
    expect(bob.bubble("Holding!").locator(".quote__text")).to_have_text("Tap and hold me")
    alice.screenshot("replied")


def test_changes_missed_while_offline_show_after_reconnecting(people):
    alice, bob = pair(people)
    alice.send("Second thought")
    alice.send("Scratch that")
    expect(bob.bubble("Scratch that")).to_be_visible()
    bob.context.set_offline(True)
    expect(bob.page.locator("#conn-status")).to_contain_text("You're offline")

    cid = conversation_id(alice)
    ids = {
        m["text"]: m["_id"]
        for m in api(alice, "GET", f"/api/conversations/{cid}/messages?limit=10")[1]
    }
    path = f"/api/conversations/{cid}/messages"
    assert api(alice, "PATCH", f"{path}/{ids['Second thought']}", data={"text": "Third"})[0] == 200
    assert api(alice, "DELETE", f"{path}/{ids['Scratch that']}")[0] == 200
    status, _ = api(
        alice, "POST", f"{path}/{ids['Hi Bob, meeting at 5?']}/reactions", data={"emoji": "🙏"}
    )
    assert status == 200

    bob.context.set_offline(False)
    expect(bob.bubble("Third").locator(".bubble__edited")).to_be_visible()
    expect(bob.page.locator(".message--deleted")).to_have_count(1)
    expect(bob.bubble("meeting at 5").locator(".reaction", has_text="🙏")).to_contain_text("1")
    expect(bob.page.locator("#message-list")).not_to_contain_text("Scratch that")
