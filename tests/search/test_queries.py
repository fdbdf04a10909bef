"""A search page costs the same number of queries whatever it finds and wherever."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db


def count_queries(client, **params) -> tuple[int, int]:  # noqa: ANN001
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/api/search/messages", params)
    assert response.status_code == 200
    return len(captured.captured_queries), len(response.json()["results"])


def test_a_page_costs_the_same_for_one_result_or_many_conversations(
    alice, make_user, direct, group, say, clients, make_message
):
    client = clients(alice)
    people = [make_user(full_name=f"Person {n}") for n in range(6)]
    say(alice, direct(alice, people[0]), "kiwi once")
    client.get("/api/search/messages", {"q": "warm"})  # the user cache, the rate counter
    one = count_queries(client, q="kiwi")
    assert one[1] == 1
    for person in people:
        direct(alice, person)
        make_message(person, alice, "kiwi from a friend")
        say(alice, group(alice, person, title=f"Group {person.pk}"), "kiwi in a group")
    reply_to = say(alice, direct(alice, people[1]), "kiwi question")["_id"]
    say(people[1], direct(people[1], alice), "kiwi answer", replyTo=reply_to)
    many = count_queries(client, q="kiwi", limit=50)
    assert many[1] == 15
    # memberships, the FTS query (and where its scan ended, for a short page), messages,
    # conversations, direct peers, people, files, reactions, quoted originals (only when a
    # result replies)
    assert many[0] == one[0] + 1
    assert many[0] <= 10
