"""Messages carry their file in every read, for one query per page whatever the page holds."""

import pytest

from tests.attachments.conftest import URL

pytestmark = pytest.mark.django_db


def _history(alice, bob, direct, uploaded, send_file, files: int) -> None:  # noqa: ANN001
    for n in range(files):
        send_file(alice, direct, uploaded(alice, direct, f"f{n}.pdf")["_id"], text=f"file {n}")
        send_file(bob, direct, uploaded(bob, direct, f"g{n}.pdf")["_id"])


@pytest.mark.parametrize("files", [1, 6])
def test_a_conversation_page_reads_files_in_one_query(
    files, uploaded, send_file, alice, bob, direct, login_client, django_assert_num_queries
):  # noqa: ANN001
    """`GET /api/conversations/<id>/messages`: the same query count for 2 or 12 files (the
    conversation, my membership, the page, one read of both receivers' receipt marks, the
    files, the reactions)."""
    from messaging.conversation_selectors import conversation_messages

    _history(alice, bob, direct, uploaded, send_file, files)
    with django_assert_num_queries(6):
        page = conversation_messages(user=alice, conversation_id=str(direct))
    assert [m["file"]["name"] for m in page] == [
        name for n in range(files) for name in (f"f{n}.pdf", f"g{n}.pdf")
    ]
    answered = login_client(alice).get(f"{URL}{direct}/messages").json()
    assert [m["file"] for m in answered] == [m["file"] for m in page]  # the schema keeps it


@pytest.mark.parametrize("files", [1, 6])
def test_the_seed_history_reads_files_in_one_query(
    files, uploaded, send_file, alice, bob, direct, login_client, django_assert_num_queries
):  # noqa: ANN001
    """`GET /api/messages/<userId>`: the same count for any number of files; `file` is null
    on a message without one (the other person, then as above)."""
    from messaging.selectors import message_history

    _history(alice, bob, direct, uploaded, send_file, files)
    login_client(alice).call("post", f"/api/messages/send/{bob.pk}", {"text": "no file"})
    with django_assert_num_queries(7):
        page = message_history(user=alice, other_id=str(bob.pk))
    assert page[-1]["file"] is None and page[0]["file"]["name"] == "f0.pdf"
    assert len([m for m in page if m["file"]]) == 2 * files


def test_the_sidebar_and_contacts_show_the_last_file(
    uploaded, send_file, alice, bob, direct, login_client
):  # noqa: ANN001
    """The last message in the sidebar and in the seed's users list carries its file."""
    file = uploaded(bob, direct, "last.pdf")
    send_file(bob, direct, file["_id"])
    client = login_client(alice)
    [row] = client.get(URL).json()
    assert row["lastMessage"]["file"] == file
    [contact] = client.get("/api/messages/users").json()
    assert contact["lastMessage"]["file"] == file
    assert client.get(f"{URL}{direct}").json()["lastMessage"]["file"] == file
