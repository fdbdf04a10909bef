"""The people directory (`GET /api/users/search`) and the capped seed list of users."""

import pytest

from safety.selectors import DIRECTORY_LIMIT

URL = "/api/users/search"


def search(client, q):  # noqa: ANN001, ANN201
    response = client.get(URL, {"q": q})
    assert response.status_code == 200, response.content
    return response.json()


def ids(rows):  # noqa: ANN001, ANN201
    return [row["_id"] for row in rows]


@pytest.fixture
def people(make_user, make_message, alice):  # noqa: ANN001
    """Alice talked with Bob Stone; Bea Stone and Bo Stoner are strangers to her."""
    bob = make_user(email="bob@example.com", full_name="Bob Stone")
    bea = make_user(email="bea@example.com", full_name="Bea Stone")
    bo = make_user(email="bo@example.com", full_name="Bo Stoner")
    make_message(bob, alice, "hi")
    return bob, bea, bo


def test_all_mode_finds_everyone_contacts_first_never_the_caller(
    settings, login_client, alice, people
):  # noqa: ANN001
    settings.DIRECTORY_VISIBLE = "all"
    bob, bea, bo = people
    rows = search(login_client(alice), "ston")
    assert ids(rows) == [str(bob.pk), str(bea.pk), str(bo.pk)]  # contact, then by name
    assert search(login_client(alice), "alice") == []  # never yourself
    by_id = {row["_id"]: row for row in rows}
    # Emails only for contacts: the directory is no way to harvest addresses.
    assert by_id[str(bob.pk)]["email"] == "bob@example.com" and by_id[str(bob.pk)]["isContact"]
    assert by_id[str(bea.pk)]["email"] is None and not by_id[str(bea.pk)]["isContact"]
    assert set(rows[0]) == {"_id", "fullName", "profilePic", "email", "isContact"}


def test_contacts_mode_finds_only_contacts_but_an_exact_email_finds_anyone(
    settings, login_client, alice, people, make_user
):  # noqa: ANN001
    settings.DIRECTORY_VISIBLE = "contacts"
    bob, bea, _ = people
    client = login_client(alice)
    assert ids(search(client, "stone")) == [str(bob.pk)]
    assert ids(search(client, "bea@")) == []  # partial email: strangers stay hidden
    exact = search(client, "BEA@example.com ")
    assert ids(exact) == [str(bea.pk)] and exact[0]["email"] == "bea@example.com"
    gone = make_user(email="gone@example.com", is_active=False)
    assert search(client, gone.email) == []


def test_names_starting_with_the_text_come_first(settings, login_client, alice, make_user):  # noqa: ANN001
    settings.DIRECTORY_VISIBLE = "all"
    late = make_user(full_name="Annie Marsh")
    first = make_user(full_name="Zed Marshall")
    middle = make_user(full_name="Alexmarsh Z")  # contains, but no word starts with it
    assert ids(search(login_client(alice), "marsh")) == [
        str(late.pk),
        str(first.pk),
        str(middle.pk),
    ]


def test_blocked_people_are_hidden_both_ways(settings, login_client, alice, people):  # noqa: ANN001
    settings.DIRECTORY_VISIBLE = "all"
    bob, bea, _ = people
    login_client(alice).call("post", "/api/blocks", {"userId": str(bob.pk)})
    login_client(bea).call("post", "/api/blocks", {"userId": str(alice.pk)})
    assert str(bob.pk) not in ids(search(login_client(alice), "ston"))
    assert str(bea.pk) not in ids(search(login_client(alice), "bea@example.com"))
    assert str(alice.pk) not in ids(search(login_client(bob), "alice@example.com"))


def test_results_are_capped(settings, login_client, alice, make_user):  # noqa: ANN001
    settings.DIRECTORY_VISIBLE = "all"
    for n in range(DIRECTORY_LIMIT + 5):
        make_user(full_name=f"Crowd {n:02}")
    rows = search(login_client(alice), "crowd")
    assert len(rows) == DIRECTORY_LIMIT
    assert [r["fullName"] for r in rows] == [f"Crowd {n:02}" for n in range(DIRECTORY_LIMIT)]


@pytest.mark.parametrize("q", ["", "   ", "x" * 101, "a\x00b", "bad\u202eq", "\u0007"], ids=repr)
def test_hostile_queries_are_400_naming_q(login_client, alice, q):  # noqa: ANN001
    response = login_client(alice).get(URL, {"q": q})
    assert response.status_code == 400
    assert "q" in response.json()["errors"]


def test_regex_and_like_characters_are_plain_text(settings, login_client, alice, make_user):  # noqa: ANN001
    settings.DIRECTORY_VISIBLE = "all"
    make_user(full_name="Percent Person")
    assert search(login_client(alice), "%") == []
    assert search(login_client(alice), ".*") == []
    assert search(login_client(alice), "_") == []


def test_no_q_is_400_and_anonymous_is_401(login_client, api, alice):  # noqa: ANN001
    assert login_client(alice).get(URL).status_code == 400
    assert api.get(URL, {"q": "bob"}).status_code == 401


def test_the_seed_users_list_is_capped_partners_first(
    settings, login_client, make_user, make_message, alice
):  # noqa: ANN001
    settings.CONTACTS_MAX = 3
    strangers = [make_user(full_name=f"A Stranger {n}") for n in range(4)]
    partners = [make_user(full_name=f"Z Partner {n}") for n in range(2)]
    for partner in partners:
        make_message(partner, alice, "hello")
    rows = login_client(alice).get("/api/messages/users").json()
    assert len(rows) == 3
    assert {r["_id"] for r in rows[:2]} == {str(p.pk) for p in partners}
    assert rows[2]["_id"] == str(strangers[0].pk)  # then the others by name
