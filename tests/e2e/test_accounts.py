"""The account pages in a real browser: forms, profile picture, themes, and JavaScript off."""

import re

import pytest
from playwright.sync_api import expect

from accounts import services
from tests.e2e.conftest import PASSWORD

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def test_sign_up_log_out_and_log_in_through_the_forms(people):
    alice = people("Alice Martin")
    page = alice.page
    alice.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    page.get_by_role("link", name="Create an account").click()

    page.get_by_label("Full name").fill("Alice Martin")
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_label("Password").fill("abc")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_text(services.INVALID_EMAIL)).to_be_visible()
    expect(page.get_by_label("Full name")).to_have_value("Alice Martin")  # kept for the retry
    expect(page.get_by_label("Password")).to_have_value("")  # never sent back
    alice.screenshot("signup-errors")

    page.get_by_label("Email").fill(alice.email)
    page.get_by_label("Password").fill("abc")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_text(services.PASSWORD_TOO_SHORT)).to_be_visible()
    expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Chats")).to_be_visible()
    expect(page.locator(".topbar")).to_contain_text("Alice Martin")

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.get_by_text("You have been logged out.")).to_be_visible()
    alice.goto("/")
    expect(page).to_have_url(re.compile(r"/login/"))

    page.get_by_label("Email").fill(alice.email.upper())
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text(services.INVALID_CREDENTIALS)
    alice.screenshot("login")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Chats")).to_be_visible()


def test_profile_picture_uploads_with_preview_progress_and_name_saves(people, big_picture):
    alice, bob = people("Alice Martin"), people("Bob Okafor")
    alice.signup()
    bob.signup()
    alice.open_chat("Bob Okafor")
    alice.send("Hello Bob")  # so Alice is in Bob's chats, where her picture shows
    page = alice.page
    page.get_by_role("link", name="Profile").click()
    expect(page.get_by_role("heading", name="Profile")).to_be_visible()
    expect(page.locator(".facts")).to_contain_text(alice.email)
    expect(page.locator(".facts")).to_contain_text("Member since")
    expect(page.locator("#avatar-preview")).to_have_attribute("src", re.compile(r"avatar.*\.svg"))

    # A slow uplink, so the progress bar has time to be seen.
    cdp = alice.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": 60_000},
    )
    page.get_by_label("Choose a photo").set_input_files(big_picture)
    progress = page.locator("#avatar-progress")
    expect(progress).to_be_visible()
    expect(progress).to_have_text(re.compile(r"^[1-9]\d*%$"))  # some of it is up
    expect(page.locator("#avatar-preview")).to_have_attribute("src", re.compile(r"^blob:"))
    alice.screenshot("profile-uploading")
    expect(page.locator("#profile-status")).to_have_text("Profile picture updated", timeout=60_000)
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    expect(page.locator("#avatar-preview")).to_have_attribute("src", re.compile(r"/media/avatars/"))
    expect(page.locator("#me-avatar")).to_have_attribute("src", re.compile(r"/media/avatars/"))
    expect(page.locator("#avatar-progress")).to_be_hidden()

    page.get_by_label("Full name").fill("Alice M. Martin")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#profile-status")).to_have_text("Profile updated")
    expect(page.locator("#me-name")).to_have_text("Alice M. Martin")
    alice.screenshot("profile")

    page.get_by_label("Full name").fill("   ")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#profile-status")).to_have_text("Full name is required")

    page.reload()
    expect(page.get_by_label("Full name")).to_have_value("Alice M. Martin")
    bob.page.reload()
    row = bob.row("Alice M. Martin")
    expect(row.locator(".chat-item__avatar")).to_have_attribute(
        "src", re.compile(r"/media/avatars/")
    )


def test_theme_previews_live_saves_and_applies_before_first_paint(people):
    alice = people("Alice Martin")
    alice.signup()
    page = alice.page
    html = page.locator("html")
    expect(html).to_have_attribute("data-theme", "light")
    light_bg = page.evaluate("getComputedStyle(document.body).backgroundColor")

    page.get_by_role("link", name="Settings").click()
    cards = page.locator(".theme-card")
    expect(cards).to_have_count(len(services.THEMES))
    assert len(services.THEMES) >= 6
    expect(page.get_by_role("button", name="Save theme")).to_be_hidden()  # saves as you pick
    page.get_by_label("Midnight").check()
    expect(html).to_have_attribute("data-theme", "midnight")
    expect(page.locator("#theme-status")).to_have_text("Theme saved")
    alice.screenshot("settings")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") != light_bg

    page.reload()
    expect(html).to_have_attribute("data-theme", "midnight")
    expect(page.get_by_label("Midnight")).to_be_checked()
    # The theme is in the HTML the server sends, so the first paint already has it.
    response = page.request.get(alice.base_url + "/")
    assert '<html lang="en" data-theme="midnight">' in response.text()
    page.get_by_role("link", name="Chats").click()
    expect(html).to_have_attribute("data-theme", "midnight")
    alice.screenshot("chat-midnight")


def test_forms_work_with_javascript_off(chromium, server, shoot):
    """Sign up, rename, change theme and log out without any script."""
    context = chromium.new_context(
        java_script_enabled=False, viewport={"width": 1024, "height": 768}
    )
    page = context.new_page()
    try:
        page.goto(server.url + "/signup/")
        page.get_by_label("Full name").fill("Nora Script")
        page.get_by_label("Email").fill("nora@example.com")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign up").click()
        expect(page.locator(".noscript")).to_be_visible()

        page.goto(server.url + "/profile/")
        page.get_by_label("Full name").fill("Nora NoScript")
        page.get_by_role("button", name="Save changes").click()
        expect(page.locator(".flash-stack")).to_contain_text("Profile updated")
        expect(page.locator(".topbar")).to_contain_text("Nora NoScript")

        page.goto(server.url + "/settings/")
        page.get_by_label("Forest").check()
        page.get_by_role("button", name="Save theme").click()
        expect(page.locator("html")).to_have_attribute("data-theme", "forest")
        shoot(page, "settings-no-js")
        page.get_by_role("button", name="Log out").click()
        expect(page).to_have_url(re.compile(r"/login/$"))
    finally:
        context.close()
