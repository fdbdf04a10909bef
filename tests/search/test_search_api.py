"""GET /api/search/messages: who finds what, how words match, filters, paging, bad input."""

import pytest

from tests.search.conftest import SEARCH

pytestmark = pytest.mark.django_db


def test_finds_the_callers_messages_with_the_words_marked(alice, bob, direct, say, search):
    chat = direct(alice, bob)
    say(alice, chat, "Lunch at the Bistro tomorrow?")
    say(bob, chat, "Sure, see you there")
    response = search(bob, "bistro")
    assert response.status_code == 200
    [result] = response.json()["results"]
    assert result["message"]["text"] == "Lunch at the Bistro tomorrow?"
    assert result["message"]["conversationId"] == chat
    assert result["conversation"] == {"_id": chat, "kind": "direct", "title": alice.full_name}
    assert result["sender"] == {"_id": str(alice.pk), "fullName": alice.full_name}
    assert result["snippet"] == [
        {"text": "Lunch at the ", "match": False},
        {"text": "Bistro", "match": True},
        {"text": " tomorrow?", "match": False},
    ]
    assert response.json()["nextBefore"] is None


def test_a_third_person_never_finds_a_pairs_or_a_groups_messages(
    alice, bob, carol, make_user, direct, group, say, found
):
    dan = make_user(full_name="Dan")
    say(alice, direct(alice, bob), "secret pineapple plan")
    say(alice, group(alice, bob, dan), "group pineapple party")
    say(carol, direct(carol, dan), "carol pineapple")
    assert found(carol, "pineapple") == ["carol pineapple"]
    assert found(bob, "pineapple") == ["group pineapple party", "secret pineapple plan"]
    assert found(dan, "pineapple") == ["carol pineapple", "group pineapple party"]


def test_a_member_who_left_finds_what_they_saw_and_nothing_later(
    alice, bob, carol, group, say, clients, found
):
    team = group(alice, bob, carol)
    say(alice, team, "kickoff agenda")
    assert clients(carol).post(f"/api/conversations/{team}/leave").status_code == 200
    say(alice, team, "agenda after carol left")
    assert found(carol, "agenda") == ["kickoff agenda"]
    assert found(bob, "agenda") == ["agenda after carol left", "kickoff agenda"]


def test_someone_added_later_does_not_find_what_came_before(
    alice, bob, carol, group, say, clients, found
):
    team = group(alice, bob)
    say(alice, team, "before carol joined: budget")
    response = clients(alice).call(
        "post", f"/api/conversations/{team}/members", {"userIds": [str(carol.pk)]}
    )
    assert response.status_code == 200, response.content
    say(alice, team, "after carol joined: budget")
    assert found(carol, "budget") == ["after carol joined: budget"]


def test_edited_messages_are_found_by_their_new_text_only(alice, bob, direct, say, clients, found):
    chat = direct(alice, bob)
    sent = say(alice, chat, "meet at the harbour")
    response = clients(alice).call(
        "patch",
        f"/api/conversations/{chat}/messages/{sent['_id']}",
        {"text": "meet at the station"},
    )
    assert response.status_code == 200, response.content
    assert found(bob, "harbour") == []
    assert found(bob, "station") == ["meet at the station"]


def test_deleted_messages_are_never_found(alice, bob, direct, say, clients, found):
    chat = direct(alice, bob)
    sent = say(alice, chat, "the wifi password is hunter2")
    say(alice, chat, "wifi is down again")
    response = clients(alice).delete(f"/api/conversations/{chat}/messages/{sent['_id']}")
    assert response.status_code == 200
    assert found(bob, "wifi") == ["wifi is down again"]
    assert found(alice, "hunter2") == []


def test_system_lines_are_not_found(alice, bob, group, found):
    group(alice, bob, title="Added people")  # system lines say who was added
    assert found(bob, "added") == []


@pytest.mark.parametrize(
    ("query", "hit"),
    [
        ("caf", True),  # a prefix
        ("CAFÉ", True),  # case and accents ignored
        ("cafe", True),
        ("éte", True),  # "Été" matches "ete" / "éte"
        ("afe", False),  # not the start of a word
        ("café noir", False),  # every word must match
        ("été café", True),  # in any order
    ],
)
def test_words_match_as_prefixes_ignoring_case_and_accents(
    alice, bob, direct, say, found, query, hit
):
    say(alice, direct(alice, bob), "Un Café en Été")
    assert (found(bob, query) == ["Un Café en Été"]) is hit


def test_filters_conversation_sender_files_images_and_dates(
    alice, bob, carol, direct, group, say, found, png_data_url, chat_media, clients
):
    from datetime import timedelta

    from django.utils import timezone

    from messaging.models import Message

    chat, team = direct(alice, bob), group(alice, bob, carol)
    old = say(alice, chat, "report draft (old)")
    say(bob, chat, "report from bob")
    say(carol, team, "report in the team")
    say(alice, team, "report picture", image=png_data_url())
    upload = clients(alice).post(
        f"/api/conversations/{team}/attachments",
        {"file": _text_file("report.txt")},
    )
    assert upload.status_code == 201, upload.content
    say(alice, team, "report file", attachmentId=upload.json()["_id"])
    last_year = timezone.now() - timedelta(days=365)
    Message.objects.filter(pk=old["_id"]).update(created_at=last_year)

    assert found(bob, "report", conversationId=chat) == ["report from bob", "report draft (old)"]
    assert found(bob, "report", **{"from": str(carol.pk)}) == ["report in the team"]
    assert found(bob, "report", has="image") == ["report picture"]
    assert found(bob, "report", has="file") == ["report file"]
    day = last_year.date().isoformat()
    assert found(bob, "report", since=day, until=day) == ["report draft (old)"]
    tomorrow = (last_year + timedelta(days=1)).date().isoformat()
    assert "report draft (old)" not in found(bob, "report", since=tomorrow)


def _text_file(name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, b"quarterly numbers\n", content_type="text/plain")


def test_a_conversation_filter_outside_ones_conversations_is_404(
    alice, bob, carol, direct, say, search
):
    chat = direct(alice, bob)
    say(alice, chat, "private words")
    response = search(carol, "private", conversationId=chat)
    assert response.status_code == 404
    assert search(carol, "private", conversationId="not-an-id").status_code == 404


def test_pages_newest_first_by_cursor(alice, bob, direct, make_message, found, search):
    direct(alice, bob)
    for n in range(7):
        make_message(alice, bob, f"lighthouse note {n}")
    first = search(bob, "lighthouse", limit=3).json()
    assert [r["message"]["text"] for r in first["results"]] == [
        "lighthouse note 6",
        "lighthouse note 5",
        "lighthouse note 4",
    ]
    second = search(bob, "lighthouse", limit=3, before=first["nextBefore"]).json()
    assert [r["message"]["text"] for r in second["results"]] == [
        "lighthouse note 3",
        "lighthouse note 2",
        "lighthouse note 1",
    ]
    third = search(bob, "lighthouse", limit=3, before=second["nextBefore"]).json()
    assert [r["message"]["text"] for r in third["results"]] == ["lighthouse note 0"]
    assert third["nextBefore"] is None


def test_long_texts_give_a_snippet_around_the_first_match(alice, bob, direct, say, search):
    text = "filler words here " * 20 + "the needle is here " + "and more filler after " * 20
    say(alice, direct(alice, bob), text)
    snippet = search(bob, "needle").json()["results"][0]["snippet"]
    joined = "".join(part["text"] for part in snippet)
    assert joined.startswith("\u2026") and joined.endswith("\u2026")
    assert len(joined) <= 170
    assert [p["text"] for p in snippet if p["match"]] == ["needle"]


@pytest.mark.parametrize(
    "query",
    [
        '"unbalanced',
        "NEAR(a b)",
        "a OR b AND NOT c",
        "col:value",
        "*",
        "^start",
        "{text}: x",
        "\x00nul",
        "😀 emoji",
        "-minus +plus",
        "((((",
    ],
)
def test_hostile_queries_never_break_the_search(alice, bob, direct, say, search, query):
    say(alice, direct(alice, bob), "ordinary text with a value")
    response = search(bob, query)
    assert response.status_code == 200, response.content
    assert response.json()["results"] == [] or query == "col:value"


def test_a_lone_surrogate_in_the_query_string_is_400_naming_q(alice, clients):
    # What a client sends for "\ud800lone": its UTF-8-with-surrogates bytes, percent-encoded.
    response = clients(alice).get(SEARCH + "?q=%ED%A0%80lone")
    assert response.status_code == 400, response.content
    assert "q" in response.json()["errors"]


def test_fts_syntax_in_a_query_is_searched_as_words(alice, bob, direct, say, found):
    say(alice, direct(alice, bob), "near the value of col")
    assert found(bob, "col:value") == ["near the value of col"]
    assert found(bob, 'NEAR("value" col)') == ["near the value of col"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": ""}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "x" * 10_000}, "q"),
        ({"q": "ok", "limit": "0"}, "limit"),
        ({"q": "ok", "limit": "500"}, "limit"),
        ({"q": "ok", "limit": "ten"}, "limit"),
        ({"q": "ok", "has": "video"}, "has"),
        ({"q": "ok", "since": "yesterday"}, "since"),
        ({"q": "ok", "until": "2026-13-01"}, "until"),
        ({"q": "ok", "since": "2026-02-02", "until": "2026-02-01"}, "since"),
        ({"q": "ok", "before": "nope"}, "before"),
        ({"q": "ok", "from": "nope"}, "from"),
    ],
)
def test_bad_input_is_400_naming_the_field(alice, clients, params, field):
    response = clients(alice).get(SEARCH, params)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]


def test_no_q_at_all_is_400(alice, clients):
    response = clients(alice).get(SEARCH)
    assert response.status_code == 400
    assert "q" in response.json()["errors"]


def test_needs_a_login(api):
    response = api.get(SEARCH, {"q": "anything"})
    assert response.status_code == 401


def test_searching_too_fast_is_429(alice, search, settings):
    settings.SEARCH_RATE_PER_USER = 2
    assert search(alice, "a").status_code == 200
    assert search(alice, "b").status_code == 200
    response = search(alice, "c")
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1


def test_in_the_openapi_document(api):
    paths = api.get("/api/openapi.json").json()["paths"]
    params = {p["name"] for p in paths["/api/search/messages"]["get"]["parameters"]}
    assert params >= {"q", "before", "limit", "conversationId", "from", "has", "since", "until"}


def test_a_scan_cut_short_gives_an_opaque_cursor_that_goes_on(
    alice, bob, carol, direct, make_message, search, monkeypatch
):
    """Work per request is bounded: past FTS_SCAN index hits the page ends early, and its
    cursor (which stands for a message Carol may not see) reveals nothing but goes on."""
    from search import selectors

    monkeypatch.setattr(selectors, "FTS_SCAN", 3)
    direct(alice, carol)
    direct(alice, bob)
    make_message(alice, carol, "walnut for carol")
    hidden = [make_message(alice, bob, f"walnut secret {n}") for n in range(5)]
    first = search(carol, "walnut").json()
    assert first["results"] == []
    cursor = first["nextBefore"]
    assert cursor.startswith("~") and not cursor[1:].isdigit()
    from search.cursor import unseal

    assert unseal(cursor) == str(hidden[2].pk)  # the third hit, readable by the server only
    assert search(carol, "walnut").json()["nextBefore"] != cursor  # a fresh nonce each time
    texts, pages = [], 1
    while cursor is not None:
        page = search(carol, "walnut", before=cursor).json()
        texts += [r["message"]["text"] for r in page["results"]]
        cursor, pages = page["nextBefore"], pages + 1
    assert texts == ["walnut for carol"]
    assert pages == 3  # 6 hits, 3 a scan: the third scan finds nothing more and says so


def test_a_forged_cursor_is_400_naming_before(alice, search):
    response = search(alice, "walnut", before="~" + "A" * 40)
    assert response.status_code == 400
    assert "before" in response.json()["errors"]


def test_long_words_match_as_whole_prefixes(alice, bob, direct, say, found):
    """Terms longer than the indexed prefixes are looked up by their start, then checked whole."""
    chat = direct(alice, bob)
    say(alice, chat, "the internet is down")
    say(alice, chat, "an international call")
    assert found(bob, "internat") == ["an international call"]
    assert found(bob, "internationa") == ["an international call"]
    assert found(bob, "interne") == ["the internet is down"]
    assert found(bob, "inter") == ["an international call", "the internet is down"]
    assert found(bob, "internationalisation") == []


def test_many_conversations_use_subqueries_with_the_same_answers(
    alice, bob, carol, make_user, direct, group, say, clients, found, monkeypatch
):
    """Past the inline limits (a person in thousands of conversations) the windows come from
    a subquery and JSON: the same rules hold."""
    from search import selectors

    monkeypatch.setattr(selectors, "WHOLE_INLINE_MAX", 0)
    monkeypatch.setattr(selectors, "BOUNDED_INLINE_MAX", 0)
    dan = make_user(full_name="Dan")
    say(alice, direct(alice, bob), "mango for bob")
    say(alice, direct(alice, dan), "mango for dan")
    team = group(alice, bob, carol)
    say(alice, team, "mango in the team")
    assert clients(bob).post(f"/api/conversations/{team}/leave").status_code == 200
    say(alice, team, "mango after bob left")
    assert found(bob, "mango") == ["mango in the team", "mango for bob"]
    assert found(carol, "mango") == ["mango after bob left", "mango in the team"]
