"""Group chats in the browser: made from the chat page, live on everyone's screen."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import PHONE
from tests.servers import HttpSession

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

TRIP = "Trip to Lisbon"


def _user_id(session: HttpSession, name: str) -> str:
    status, users = session.call("GET", "/api/messages/users")
    assert status == 200
    return next(u["_id"] for u in users if u["fullName"] == name)


def _system_lines(page: Page):
    return page.locator("#message-list .system__text")


def _composer(page: Page):
    return page.get_by_role("textbox", name="Message")


def test_three_people_make_a_group_and_talk_in_it(people):
    """Alice makes a group with Bob and Carol and names it; it appears in their sidebars at
    once; messages carry the sender's name and picture; typing names who types; "Seen by"
    names who read Alice's message, and says when on demand."""
    alice, bob, carol = people("Alice Martin"), people("Bob Okafor"), people("Carol Nguyen")
    for person in (bob, carol, alice):
        person.signup()

    alice.create_group(TRIP, ["Bob Okafor", "Carol Nguyen"])
    expect(_system_lines(alice.page)).to_have_text([f"You created the group “{TRIP}”"])
    expect(alice.page.locator("#pane-status")).to_have_text("You, Bob, Carol")
    for person in (bob, carol):  # no reload: the row arrives over the socket
        expect(person.row(TRIP)).to_contain_text(f"Alice Martin created the group “{TRIP}”")
        expect(person.row(TRIP).locator(".badge")).to_be_visible()

    alice.send("Who's booking the flights?")
    expect(bob.row(TRIP)).to_contain_text("Alice: Who's booking the flights?")
    bob.open_chat(TRIP)
    question = bob.bubble("Who's booking the flights?")
    expect(question.locator(".message__sender")).to_have_text("Alice Martin")
    expect(question.locator(".message__avatar")).to_be_visible()
    expect(_system_lines(bob.page)).to_have_text([f"Alice Martin created the group “{TRIP}”"])
    expect(bob.row(TRIP).locator(".badge")).to_be_hidden()

    mine = alice.bubble("Who's booking the flights?")
    seen = mine.get_by_role("button", name=re.compile("^Seen by"))
    expect(seen).to_have_text("Seen by Bob")
    expect(mine).to_have_attribute("data-status", "delivered")  # Carol has it, hasn't read it
    carol.open_chat(TRIP)
    expect(seen).to_have_text("Seen by Bob, Carol")
    expect(mine).to_have_attribute("data-status", "read")

    # Typing names the people typing, in the header and the sidebar.
    _composer(bob.page).press_sequentially("I can do it")
    expect(alice.page.locator("#pane-status")).to_have_text("Bob is typing…")
    _composer(carol.page).press_sequentially("Me")
    expect(alice.page.locator("#pane-status")).to_have_text("Bob and Carol are typing…")
    expect(alice.page.locator("#pane-status")).to_have_text("Bob and Carol are typing…")
    alice.screenshot("typing")
    _composer(bob.page).press("Enter")
    expect(alice.page.locator("#pane-status")).to_have_text("Carol is typing…")
    reply = alice.bubble("I can do it")
    expect(reply.locator(".message__sender")).to_have_text("Bob Okafor")
    expect(bob.bubble("I can do it")).to_have_class(re.compile("message--out"))

    # Who read it and when: on demand, from the "Seen by" button.
    seen.click()
    info = alice.page.get_by_role("dialog", name="Message info")
    expect(info).to_contain_text("Who's booking the flights?")
    expect(info.locator("#receipts-read .receipt__name")).to_have_text(
        ["Bob Okafor", "Carol Nguyen"]
    )
    expect(info.locator("#receipts-read .receipt__time").first).to_have_text(
        re.compile(r"^Today at \d{1,2}:\d\d [AP]M$")
    )
    alice.screenshot("seen-by")
    alice.page.keyboard.press("Escape")
    expect(info).to_be_hidden()
    expect(seen).to_be_focused()
    alice.screenshot("group")
    bob.screenshot("group")


def test_one_leaves_and_the_others_see_it_live(people):
    """Carol leaves: Alice and Bob see the system line and the member list change at once;
    Carol keeps what she had, read-only, and gets nothing sent after."""
    alice, bob, carol = people("Alice Martin"), people("Bob Okafor"), people("Carol Nguyen")
    for person in (bob, carol, alice):
        person.signup()
    alice.create_group(TRIP, ["Bob Okafor", "Carol Nguyen"])
    alice.send("Flights are booked")
    bob.open_chat(TRIP)
    carol.open_chat(TRIP)
    expect(carol.bubble("Flights are booked")).to_be_visible()

    details = alice.details()  # open while Carol leaves: it follows live
    members = details.locator("#details-members .member__name")
    expect(members).to_have_text(["Alice Martin (you)", "Bob Okafor", "Carol Nguyen"])
    expect(details.locator("#details-members-heading")).to_have_text("3 members")

    panel = carol.details()
    panel.get_by_role("button", name="Leave group").click()
    expect(panel).to_contain_text("Leave this group?")
    panel.get_by_role("button", name="Leave", exact=True).click()
    expect(panel).to_be_hidden()

    expect(members).to_have_text(["Alice Martin (you)", "Bob Okafor"])
    expect(details.locator("#details-members-heading")).to_have_text("2 members")
    alice.screenshot("details-after-leave")
    alice.page.keyboard.press("Escape")
    for person in (alice, bob):
        expect(_system_lines(person.page).last).to_have_text("Carol Nguyen left")
        expect(person.page.locator("#pane-status")).not_to_contain_text("Carol")

    # Carol: what she had stays, and she can't write any more.
    expect(_system_lines(carol.page).last).to_have_text("You left")
    expect(_composer(carol.page)).to_be_disabled()
    expect(carol.page.locator("#composer-readonly")).to_contain_text("You left this group.")
    expect(carol.bubble("Flights are booked")).to_be_visible()
    expect(carol.row(TRIP)).to_be_visible()
    carol.screenshot("left-read-only")

    bob.send("Only the two of us now")
    expect(alice.bubble("Only the two of us now")).to_be_visible()
    carol.page.reload()
    carol.open_chat(TRIP)
    expect(carol.bubble("Flights are booked")).to_be_visible()
    expect(_composer(carol.page)).to_be_disabled()
    expect(carol.bubble("Only the two of us now")).to_have_count(0)
    expect(carol.row(TRIP)).not_to_contain_text("Only the two of us now")


def test_members_rename_add_people_and_admins_manage_them(people, picture):
    """Any member renames, changes the picture and adds people; the new member sees the group
    appear and reads from when they were added; admins make admins and remove people; system
    lines record it all."""
    alice, bob, carol = people("Alice Martin"), people("Bob Okafor"), people("Carol Nguyen")
    dan = people("Dan Kowalski")
    for person in (bob, carol, dan, alice):
        person.signup()
    alice.create_group(TRIP, ["Bob Okafor", "Carol Nguyen"])
    alice.send("Before Dan")
    bob.open_chat(TRIP)
    carol.open_chat(TRIP)

    watching = alice.details()  # open while Bob renames: it follows
    panel = bob.details()  # Bob is no admin, and may still rename
    expect(panel.get_by_role("button", name=re.compile("^Remove .* from the group"))).to_have_count(
        0
    )
    panel.get_by_label("Group name").fill("Lisbon in May")
    panel.get_by_role("button", name="Save").click()
    expect(panel.locator("#details-status")).to_have_text("Name saved.")
    panel.locator("#details-picture-input").set_input_files(picture)
    expect(panel.locator("#details-status")).to_have_text("Picture changed.")
    expect(panel.locator("#details-picture")).to_have_attribute("src", re.compile(r"/media/"))
    bob.page.keyboard.press("Escape")
    expect(watching.get_by_label("Group name")).to_have_value("Lisbon in May")
    expect(watching.locator("#details-picture")).to_have_attribute("src", re.compile(r"/media/"))
    alice.page.keyboard.press("Escape")
    expect(_system_lines(carol.page).last).to_have_text("Bob Okafor changed the group picture")
    expect(alice.page.locator("#pane-avatar")).to_have_attribute("src", re.compile(r"/media/"))
    expect(alice.row("Lisbon in May").locator(".chat-item__avatar")).to_have_attribute(
        "src", re.compile(r"/media/")
    )
    for person in (alice, carol):
        expect(person.page.locator("#pane-title")).to_have_text("Lisbon in May")
        expect(_system_lines(person.page).nth(-2)).to_have_text(
            "Bob Okafor renamed the group to “Lisbon in May”"
        )
        expect(person.row("Lisbon in May")).to_be_visible()

    panel = carol.details()
    panel.get_by_role("button", name="Add people").click()
    adding = carol.page.get_by_role("dialog", name="Add people to Lisbon in May")
    expect(adding.get_by_role("checkbox", name="Bob Okafor")).to_have_count(0)  # already in
    adding.get_by_role("searchbox", name="Search people to add").fill("Dan")
    adding.get_by_role("checkbox", name="Dan Kowalski").check()
    adding.get_by_role("button", name="Add", exact=True).click()
    expect(adding).to_be_hidden()
    expect(panel.locator("#details-members")).to_contain_text("Dan Kowalski")
    expect(panel.locator("#details-status")).to_have_text("Dan Kowalski was added.")
    carol.page.keyboard.press("Escape")

    expect(dan.row("Lisbon in May")).to_be_visible()  # live
    dan.open_chat("Lisbon in May")
    expect(_system_lines(dan.page)).to_have_text(["Carol Nguyen added you"])
    expect(dan.bubble("Before Dan")).to_have_count(0)  # from before he was added
    expect(_system_lines(alice.page).last).to_have_text("Carol Nguyen added Dan Kowalski")
    expect(alice.page.locator("#pane-status")).to_have_text("You, Bob, Carol, Dan")

    # Alice, the creator, is the admin: she makes Bob one, and he removes Dan.
    panel = alice.details()
    panel.get_by_role("button", name="Make Bob Okafor an admin").click()
    bob_row = panel.locator(".member", has_text="Bob Okafor")
    expect(bob_row.locator(".member__role")).to_have_text("Admin")
    alice.page.keyboard.press("Escape")
    expect(_system_lines(bob.page).last).to_have_text("Alice Martin made you an admin")

    panel = bob.details()
    panel.get_by_role("button", name="Remove Dan Kowalski from the group").click()
    expect(panel.locator("#details-members")).not_to_contain_text("Dan Kowalski")
    bob.screenshot("details-admin")
    bob.page.keyboard.press("Escape")
    expect(_system_lines(alice.page).last).to_have_text("Bob Okafor removed Dan Kowalski")
    expect(_system_lines(dan.page).last).to_have_text("Bob Okafor removed you")
    expect(_composer(dan.page)).to_be_disabled()
    expect(dan.page.locator("#composer-readonly")).to_contain_text(
        "You were removed from this group."
    )


def test_group_details_fit_a_phone(people, server):
    """At 360 px the new-group dialog and the details take the whole screen, nothing scrolls
    sideways, and Back leaves the group for the list."""
    HttpSession(server.url).signup("Bob Okafor", "bob@example.com", "secret123")
    HttpSession(server.url).signup("Carol Nguyen", "carol@example.com", "secret123")
    alice = people("Alice Martin", viewport=PHONE, phone=True)
    alice.signup()
    page = alice.page

    page.get_by_role("button", name="New group").tap()
    dialog = page.get_by_role("dialog", name="New group")
    expect(dialog).to_be_in_viewport(ratio=1)
    dialog.get_by_label("Group name").fill(TRIP)
    dialog.get_by_role("checkbox", name="Bob Okafor").check()
    dialog.get_by_role("checkbox", name="Carol Nguyen").check()
    alice.screenshot("new-group-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    dialog.get_by_role("button", name="Create group").tap()
    expect(page.locator("#pane-title")).to_have_text(TRIP)
    expect(page.locator("#sidebar")).to_be_hidden()

    alice.send("Hello from my phone")
    panel = alice.details()
    expect(panel).to_be_in_viewport(ratio=1)
    box = panel.bounding_box()
    assert box and box["width"] <= PHONE["width"] and box["x"] >= 0
    for name in ("Bob Okafor", "Carol Nguyen"):
        expect(panel.get_by_role("button", name=f"Remove {name} from the group")).to_be_visible()
    expect(panel.get_by_role("button", name="Leave group")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    alice.screenshot("details-phone")
    panel.get_by_role("button", name="Close group details").tap()
    expect(panel).to_be_hidden()

    page.get_by_role("button", name="Back to chats").tap()
    expect(alice.row(TRIP)).to_contain_text("You: Hello from my phone")
    alice.screenshot("list-phone")


def test_a_group_can_be_made_with_the_keyboard_only(people, server):
    """Tab, type, Enter: the dialog opens on its first field, Enter in the search adds the
    first match, Escape closes and gives the focus back."""
    for name, email in (("Bob Okafor", "bob@example.com"), ("Carol Nguyen", "carol@example.com")):
        HttpSession(server.url).signup(name, email, "secret123")
    alice = people("Alice Martin")
    alice.signup()
    page = alice.page
    keyboard = page.keyboard

    opener = page.get_by_role("button", name="New group")
    opener.focus()
    keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="New group")
    expect(dialog.get_by_label("Group name")).to_be_focused()
    keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()

    keyboard.press("Enter")
    expect(dialog.get_by_label("Group name")).to_be_focused()
    keyboard.type(TRIP)
    keyboard.press("Tab")
    search = dialog.get_by_role("searchbox", name="Search people to add")
    expect(search).to_be_focused()
    keyboard.type("bob")
    keyboard.press("Enter")
    keyboard.type("carol")
    keyboard.press("Enter")
    chosen = dialog.get_by_role("list", name="Chosen people")
    expect(chosen.get_by_role("button")).to_have_text(["Bob Okafor", "Carol Nguyen"])
    expect(dialog.locator("#new-group-count")).to_have_text("2 people chosen")
    expect(search).to_have_value("")
    expect(search).to_be_focused()
    alice.screenshot("new-group")
    keyboard.press("Enter")  # an empty search: Enter submits, like in any form

    expect(dialog).to_be_hidden()
    expect(page.locator("#pane-title")).to_have_text(TRIP)
    expect(_composer(page)).to_be_focused()
    keyboard.type("Made without a mouse")
    keyboard.press("Enter")
    expect(alice.bubble("Made without a mouse")).to_be_visible()

    # The details open from the keyboard too, on their close button.
    page.get_by_role("button", name="Group details").focus()
    keyboard.press("Enter")
    expect(page.get_by_role("button", name="Close group details")).to_be_focused()
    keyboard.press("Escape")
    expect(page.get_by_role("button", name="Group details")).to_be_focused()


def test_catch_up_after_a_disconnect_covers_every_conversation(people, server):
    """Bob is offline while his open group moves on, a direct chat gets messages and a new
    group is made with him: back online, everything is there once, nothing twice."""
    bob = people("Bob Okafor")
    bob.signup()
    alice, carol = HttpSession(server.url), HttpSession(server.url)
    alice.signup("Alice Martin", "alice@example.com", "secret123")
    carol.signup("Carol Nguyen", "carol@example.com", "secret123")
    bob_id = _user_id(alice, "Bob Okafor")
    carol_id = _user_id(alice, "Carol Nguyen")

    status, club = alice.call(
        "POST", "/api/conversations/", {"title": "Book club", "memberIds": [bob_id, carol_id]}
    )
    assert status == 201, club
    club_messages = f"/api/conversations/{club['_id']}/messages"
    assert alice.call("POST", club_messages, {"text": "chapter 1"})[0] == 201
    assert carol.call("POST", f"/api/messages/{bob_id}", {"text": "hi Bob"})[0] == 201
    bob.open_chat("Book club")
    expect(bob.bubble("chapter 1")).to_be_visible()
    expect(bob.row("Carol Nguyen").locator(".badge")).to_have_text("1")

    bob.context.set_offline(True)
    expect(bob.page.locator("#conn-status")).to_contain_text("You're offline")
    missed = ["chapter 2", "chapter 3", "chapter 4"]
    for text in missed:
        assert alice.call("POST", club_messages, {"text": text})[0] == 201
    for text in ("are you there?", "call me"):
        assert carol.call("POST", f"/api/messages/{bob_id}", {"text": text})[0] == 201
    status, party = alice.call(
        "POST", "/api/conversations/", {"title": "Surprise party", "memberIds": [bob_id]}
    )
    assert status == 201, party
    party_messages = f"/api/conversations/{party['_id']}/messages"
    assert alice.call("POST", party_messages, {"text": "shh, it's for Carol"})[0] == 201
    expect(bob.row("Surprise party")).to_have_count(0)

    bob.context.set_offline(False)
    texts = bob.page.locator("#message-list .bubble__text")
    expect(texts).to_have_text(["chapter 1", *missed])
    expect(bob.row("Surprise party")).to_contain_text("Alice: shh, it's for Carol")
    expect(bob.row("Carol Nguyen").locator(".badge")).to_have_text("3")
    expect(bob.page.locator("#conn-status")).to_be_hidden()
    bob.screenshot("after-catch-up")

    bob.open_chat("Surprise party")
    expect(texts).to_have_text(["shh, it's for Carol"])
    expect(_system_lines(bob.page)).to_have_text(
        ["Alice Martin created the group “Surprise party”"]
    )
    bob.open_chat("Carol Nguyen")
    expect(texts).to_have_text(["hi Bob", "are you there?", "call me"])
    bob.open_chat("Book club")
    expect(texts).to_have_text(["chapter 1", *missed])
    expect(bob.page).to_have_title("Parley")
