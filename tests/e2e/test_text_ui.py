"""Issue 11, text and reading in the browser: links and formatting (and XSS payloads as text),
"Show more", the length counter, the emoji picker, pictures and files from a paste, a drop and
the button (scaled, checked), failed sends, the "New messages" divider and jump button, live
name changes, presence from other pages, the offline banner on a phone."""

import io
import os
import re

import pytest
from playwright.sync_api import Page, Route, expect

from tests.e2e.conftest import PHONE
from tests.servers import HttpSession

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

REST_SEND = re.compile(r"/api/conversations/[^/?]+/messages$")


def _user_id(session: HttpSession, name: str) -> str:
    status, users = session.call("GET", "/api/messages/users")
    assert status == 200
    return next(u["_id"] for u in users if u["fullName"] == name)


def _bob(server, alice_name: str = "Alice Martin") -> tuple[HttpSession, str]:
    """Bob as an API client (no browser), and Alice's id."""
    bob = HttpSession(server.url)
    bob.signup("Bob Okafor", "bob@example.com", "secret123")
    return bob, _user_id(bob, alice_name)


def _say(bob: HttpSession, alice_id: str, text: str) -> dict:
    status, data = bob.call("POST", f"/api/messages/send/{alice_id}", {"text": text})
    assert status == 201, data
    return data


def _history(bob: HttpSession, alice_id: str) -> list[dict]:
    status, data = bob.call("GET", f"/api/messages/{alice_id}")
    assert status == 200, data
    return data


def test_links_and_formatting_render_and_payloads_stay_text(people, server):
    alice = people("Alice Martin")
    alice.signup()
    bob, alice_id = _bob(server)
    _say(bob, alice_id, "Docs at https://example.com/a_b_c. Mail *me* at mailto:bob@example.com")
    _say(
        bob, alice_id, "*really* _soon_ with `npm test`\n```\nif (a *b* c) {\n  run();\n}\n```\nbye"
    )
    _say(
        bob,
        alice_id,
        'javascript:alert(1) <img src=x onerror="alert(2)"> <a href="x">a</a>'
        " [y](javascript:alert(3))",
    )
    long_text = "\n".join(f"line {n} of a long story" for n in range(1, 41))
    _say(bob, alice_id, long_text)

    page = alice.page
    page.reload()
    alice.open_chat("Bob Okafor")

    link = alice.bubble("Docs at").get_by_role("link", name="https://example.com/a_b_c")
    expect(link).to_have_attribute("href", "https://example.com/a_b_c")  # the "." stays out
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
    mail = alice.bubble("Docs at").get_by_role("link", name="mailto:bob@example.com")
    expect(mail).to_have_attribute("href", "mailto:bob@example.com")
    expect(alice.bubble("Docs at").locator("strong")).to_have_text("me")

    formatted = alice.bubble("with npm test")
    expect(formatted.locator("strong").first).to_have_text("really")
    expect(formatted.locator("em")).to_have_text("soon")
    expect(formatted.locator("code.rich-code")).to_have_text("npm test")
    # Inside a fenced block nothing is formatted, line breaks and indentation are kept.
    expect(formatted.locator("pre code")).to_have_text("if (a *b* c) {\n  run();\n}")
    expect(formatted.locator("pre strong")).to_have_count(0)

    payload = alice.bubble("javascript:alert(1)")
    expect(payload.locator(".bubble__text")).to_contain_text('<img src=x onerror="alert(2)">')
    expect(payload.locator("a")).to_have_count(0)  # javascript: never clickable
    expect(payload.locator(".bubble__text img")).to_have_count(0)
    assert page.evaluate("() => document.querySelectorAll('a[href^=\"javascript\"]').length") == 0

    # A long message folds behind "Show more".
    story = alice.bubble("line 1 of a long story")
    more = story.get_by_role("button", name="Show more")
    expect(more).to_have_attribute("aria-expanded", "false")
    assert story.locator(".bubble__text").evaluate("el => el.clientHeight < el.scrollHeight")
    alice.screenshot("formatting")
    more.click()
    less = story.get_by_role("button", name="Show less")
    expect(less).to_have_attribute("aria-expanded", "true")
    assert story.locator(".bubble__text").evaluate("el => el.clientHeight >= el.scrollHeight")
    expect(
        alice.bubble("javascript:alert(1)").get_by_role("button", name="Show more")
    ).to_have_count(0)

    # The sidebar preview is plain text: no markers.
    _say(bob, alice_id, "*Deal* at `noon`")
    expect(alice.row("Bob Okafor").locator(".chat-item__preview")).to_have_text("Deal at noon")


def test_counter_near_the_limit_over_limit_paste_kept_whole_and_emoji_picker(people, server):
    alice = people("Alice Martin")
    alice.signup()
    bob, alice_id = _bob(server)
    _say(bob, alice_id, "hello")
    alice.page.reload()
    alice.open_chat("Bob Okafor")
    page = alice.page
    box = page.get_by_role("textbox", name="Message")
    send = page.get_by_role("button", name="Send")
    counter = page.locator("#composer-count")

    box.fill("a" * 4000)
    expect(counter).to_be_hidden()
    box.fill("a" * 4600)
    expect(counter).to_have_text("4,600 / 5,000")
    expect(send).to_be_enabled()

    # A paste over the limit: kept whole, a clear error, nothing can be sent.
    alice.context.grant_permissions(["clipboard-read", "clipboard-write"])
    box.fill("")
    page.evaluate("text => navigator.clipboard.writeText(text)", "é" * 5200)
    box.focus()
    box.press("Control+V")
    assert len(box.input_value()) == 5200
    expect(counter).to_have_text(re.compile(r"^5,200 / 5,000: 200 characters too long"))
    expect(counter).to_have_class(re.compile("composer__count--over"))
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(send).to_be_disabled()
    box.press("Enter")
    assert len(box.input_value()) == 5200  # not sent, not cut
    alice.screenshot("over-limit")
    box.press("Control+A")
    box.press("Backspace")
    expect(counter).to_be_hidden()

    # Emoji picker: search by name, Enter picks; keyboard moves; Escape closes.
    box.fill("Great ")
    emoji = page.get_by_role("button", name="Insert emoji")
    emoji.click()
    picker = page.get_by_role("dialog", name="Emoji")
    expect(picker).to_be_visible()
    search = picker.get_by_role("searchbox", name="Search emoji")
    expect(search).to_be_focused()
    search.fill("thumbs up")
    alice.screenshot("emoji-picker")
    search.press("Enter")
    expect(picker).to_be_hidden()
    expect(box).to_have_value("Great 👍")
    expect(box).to_be_focused()

    emoji.click()
    expect(picker).to_be_visible()
    page.keyboard.press("ArrowDown")
    expect(picker.locator(".emoji-picker__emoji").first).to_be_focused()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    expect(box).to_have_value("Great 👍😃")
    emoji.click()
    expect(picker).to_be_visible()
    page.keyboard.press("Escape")
    expect(picker).to_be_hidden()
    expect(emoji).to_be_focused()
    box.press("Enter")
    expect(alice.bubble("Great 👍😃")).to_be_visible()
    assert _history(bob, alice_id)[-1]["text"] == "Great 👍😃"


def _png_bytes(size: tuple[int, int] = (320, 200)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (40, 160, 90)).save(out, "PNG")
    return out.getvalue()


def _paste_file(page: Page, name: str, mime: str, data: bytes) -> None:
    page.evaluate(
        """([name, mime, bytes]) => {
            const file = new File([new Uint8Array(bytes)], name, {type: mime});
            const data = new DataTransfer();
            data.items.add(file);
            const box = document.getElementById("message-input");
            const init = {clipboardData: data, bubbles: true, cancelable: true};
            box.dispatchEvent(new ClipboardEvent("paste", init));
        }""",
        [name, mime, list(data)],
    )


def _drop_file(page: Page, name: str, mime: str, data: bytes) -> None:
    page.evaluate(
        """([name, mime, bytes]) => {
            const file = new File([new Uint8Array(bytes)], name, {type: mime});
            const data = new DataTransfer();
            data.items.add(file);
            const pane = document.getElementById("messages");
            for (const type of ["dragenter", "dragover", "drop"]) {
                const init = {dataTransfer: data, bubbles: true, cancelable: true};
                pane.dispatchEvent(new DragEvent(type, init));
            }
        }""",
        [name, mime, list(data)],
    )


def test_paste_an_image_drop_a_file_scale_a_big_photo_and_never_show_a_renamed_pdf(
    people, server, tmp_path
):
    alice = people("Alice Martin")
    alice.signup()
    bob, alice_id = _bob(server)
    _say(bob, alice_id, "send me the files")
    alice.page.reload()
    alice.open_chat("Bob Okafor")
    page = alice.page
    preview = page.locator("#image-preview")
    chip = page.locator("#file-preview")

    # A screenshot pasted from the clipboard.
    _paste_file(page, "image.png", "image/png", _png_bytes())
    expect(preview).to_be_visible()
    expect(page.locator("#image-preview-img")).to_have_js_property("naturalWidth", 320)
    alice.send("pasted")
    expect(alice.bubble("pasted").locator(".bubble__image img")).to_have_attribute(
        "src", re.compile(r"/media/.+")
    )

    # A text file dropped on the conversation goes through the two-step upload.
    _drop_file(page, "notes.txt", "text/plain", b"milk\neggs\n")
    expect(chip).to_be_visible()
    expect(chip).to_contain_text("notes.txt")
    expect(preview).to_be_hidden()
    alice.send("the list")
    expect(chip).to_be_hidden()
    expect(alice.bubble("the list")).to_have_attribute(
        "data-status", re.compile("sent|delivered|read")
    )
    last = _history(bob, alice_id)[-1]
    assert last["text"] == "the list" and last["file"]["name"] == "notes.txt"

    # A PDF renamed .jpg: never previewed as a picture; it goes as a file.
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    page.locator("#image-input").set_input_files(
        files=[{"name": "holiday.jpg", "mimeType": "image/jpeg", "buffer": pdf}]
    )
    expect(chip).to_contain_text("holiday.jpg")
    expect(preview).to_be_hidden()
    alice.send("not a photo")
    bubble = alice.bubble("not a photo")
    expect(bubble).to_have_attribute("data-status", re.compile("sent|delivered|read"))
    expect(bubble.locator(".bubble__image img")).to_have_count(0)
    last = _history(bob, alice_id)[-1]
    assert last["file"]["type"] == "application/pdf" and not last["image"]
    broken = page.evaluate(
        "() => [...document.images].filter("
        "i => i.getAttribute('src') && i.complete && i.naturalWidth === 0).map(i => i.src)"
    )
    assert broken == []

    # A 12 MB phone photo: scaled down in the browser, then sent (the server's limit is 5 MB).
    from PIL import Image

    photo = tmp_path / "IMG_0001.png"
    Image.frombytes("RGB", (2400, 1800), os.urandom(2400 * 1800 * 3)).save(photo)
    assert photo.stat().st_size > 12 * 1024 * 1024
    page.locator("#image-input").set_input_files(photo)
    expect(preview).to_be_visible()
    assert page.locator("#image-preview-img").evaluate(
        "img => img.src.startsWith('data:image/jpeg')"
    )
    alice.send("big photo")
    expect(alice.bubble("big photo")).to_have_attribute(
        "data-status", re.compile("sent|delivered|read")
    )
    image = alice.bubble("big photo").locator(".bubble__image img")
    expect(image).to_have_attribute("src", re.compile(r"/media/.+"))
    image.scroll_into_view_if_needed()
    image.evaluate("img => img.decode()")
    assert 0 < image.evaluate("img => Math.max(img.naturalWidth, img.naturalHeight)") <= 2560
    alice.screenshot("pictures-and-files")


def test_failed_sends_offer_retry_only_when_it_can_succeed_and_discard(people, server, picture):
    alice = people("Alice Martin")
    alice.signup()
    bob, alice_id = _bob(server)
    _say(bob, alice_id, "hi")
    alice.page.reload()
    alice.open_chat("Bob Okafor")
    page = alice.page

    # A refusal (4xx): "Discard" only.
    def refuse(route: Route) -> None:
        route.fulfill(
            status=400, json={"message": "Image must be a JPEG, PNG, WEBP or GIF picture"}
        )

    page.route(REST_SEND, refuse)
    page.locator("#image-input").set_input_files(picture)
    alice.send("refused one")
    failed = alice.bubble("refused one")
    expect(failed).to_have_attribute("data-status", "failed")
    expect(failed).to_contain_text("Image must be a JPEG")
    expect(failed.get_by_role("button", name="Retry")).to_be_hidden()
    expect(failed.get_by_role("button", name="Discard")).to_be_visible()
    expect(alice.row("Bob Okafor").locator(".chat-item__preview")).to_have_text(
        "Not sent: refused one"
    )

    # A newer message from Bob lands below the failed one, never above it.
    _say(bob, alice_id, "newer from bob")
    expect(alice.bubble("newer from bob")).to_be_visible()
    texts = alice.bubbles().locator(".bubble__text").all_inner_texts()
    assert texts.index("refused one") < texts.index("newer from bob")
    alice.screenshot("failed-refused")
    failed.get_by_role("button", name="Discard").click()
    expect(alice.bubble("refused one")).to_have_count(0)
    page.unroute(REST_SEND)

    # A server error (5xx): "Retry" is offered and works (same clientId).
    calls = {"n": 0}

    def break_once(route: Route) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            route.fulfill(status=500, json={"message": "Something went wrong (500)"})
        else:
            route.continue_()

    page.route(REST_SEND, break_once)
    page.locator("#image-input").set_input_files(picture)
    alice.send("retry me")
    retry_bubble = alice.bubble("retry me")
    expect(retry_bubble).to_have_attribute("data-status", "failed")
    expect(retry_bubble.get_by_role("button", name="Discard")).to_be_visible()
    retry_bubble.get_by_role("button", name="Retry").click()
    expect(retry_bubble).to_have_attribute("data-status", re.compile("sent|delivered|read"))
    assert [m["text"] for m in _history(bob, alice_id)].count("retry me") == 1
    assert "refused one" not in [m["text"] for m in _history(bob, alice_id)]


def test_new_messages_divider_and_jump_button_with_count(people, server):
    alice = people("Alice Martin")
    alice.signup()
    bob, alice_id = _bob(server)
    for n in range(1, 6):
        _say(bob, alice_id, f"read {n}")
    alice.page.reload()
    alice.open_chat("Bob Okafor")
    expect(alice.bubble("read 5")).to_be_visible()
    # All five were unread: the line is above the first; opening the chat read them.
    expect(alice.page.locator(".unread-divider + .message")).to_contain_text("read 1")

    alice.goto("/profile/")
    for n in range(1, 31):
        _say(bob, alice_id, f"unread {n}")
    alice.goto("/")
    alice.open_chat("Bob Okafor")
    page = alice.page
    divider = page.locator(".unread-divider")
    expect(divider).to_have_count(1)
    expect(divider).to_have_text("New messages")
    # Right above the first unread message, and that is where the view starts.
    following = divider.evaluate("el => el.nextElementSibling.textContent")
    assert "unread 1" in following and "unread 10" not in following
    expect(divider).to_be_in_viewport()
    expect(alice.bubble("unread 30")).not_to_be_in_viewport()
    jump = page.locator("#new-pill")
    expect(jump).to_be_visible()
    expect(jump).to_have_accessible_name("Jump to latest")
    alice.screenshot("divider")

    _say(bob, alice_id, "one more")
    expect(jump).to_have_text(re.compile("1 new message"))
    _say(bob, alice_id, "and another")
    expect(jump).to_have_text(re.compile("2 new messages"))
    alice.screenshot("jump-count")
    jump.click()
    expect(alice.bubble("and another")).to_be_in_viewport()
    expect(jump).to_be_hidden()

    # Scrolled up by hand, the button comes back (with no count).
    page.locator("#messages").evaluate("el => el.scrollTo({top: 0})")
    expect(jump).to_be_visible()
    expect(jump).to_have_accessible_name("Jump to latest")


def _wait_socket_ready(page: Page, action) -> None:  # noqa: ANN001
    """Run `action` (a navigation) and wait until the new page's socket says `ready`."""
    with page.expect_websocket() as info:
        action()
    info.value.expect_event("framereceived", lambda frame: '"ready"' in str(frame), timeout=15_000)


def test_presence_from_other_pages_and_a_live_name_change(people):
    alice, bob = people("Alice Martin"), people("Bob Okafor")
    alice.signup()
    bob.signup()
    alice.page.reload()
    alice.open_chat("Bob Okafor")
    alice.send("hi Bob")
    bob.open_chat("Alice Martin")
    status = bob.page.locator("#pane-status")
    expect(status).to_have_text("Online")

    # On the profile and settings pages Alice still counts as online.
    _wait_socket_ready(alice.page, lambda: alice.goto("/profile/"))
    expect(status).to_have_text("Online")
    expect(bob.row("Alice Martin").locator(".dot")).to_be_visible()
    _wait_socket_ready(alice.page, lambda: alice.goto("/settings/"))
    expect(status).to_have_text("Online")
    # Leaving the site does take her offline (the check above can fail).
    alice.page.goto("about:blank")
    expect(status).not_to_have_text("Online")
    _wait_socket_ready(alice.page, lambda: alice.goto("/profile/"))
    expect(status).to_have_text("Online")

    # A new name reaches Bob's sidebar and header live, and Alice's other tab's top bar.
    other = alice.new_tab()
    _wait_socket_ready(other, lambda: other.goto(alice.base_url + "/"))
    page = alice.page
    page.get_by_label("Full name").fill("Alice Moreau")
    page.get_by_role("button", name="Save changes").click()
    expect(bob.row("Alice Moreau")).to_be_visible()
    expect(bob.page.locator("#pane-title")).to_have_text("Alice Moreau")
    expect(other.locator("#me-name")).to_have_text("Alice Moreau")
    bob.screenshot("renamed")


def test_offline_shows_inside_the_conversation_on_a_phone(people):
    alice = people("Alice Martin", viewport=PHONE, phone=True)
    bob = people("Bob Okafor")
    alice.signup()
    bob.signup()
    bob.page.reload()
    bob.open_chat("Alice Martin")
    bob.send("are you there?")
    alice.open_chat("Bob Okafor")
    page = alice.page
    status = page.locator("#pane-status")
    expect(status).to_have_text("Online")
    banner = page.locator("#pane-offline")
    expect(banner).to_be_hidden()

    alice.context.set_offline(True)
    expect(banner).to_be_visible()
    expect(banner).to_be_in_viewport()
    expect(status).not_to_have_text("Online")
    expect(page.locator("#pane-dot")).to_be_hidden()
    alice.screenshot("phone-offline")

    alice.context.set_offline(False)
    expect(banner).to_be_hidden()
    expect(status).to_have_text("Online")
