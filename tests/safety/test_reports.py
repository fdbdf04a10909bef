"""Reporting a message, the queue in /admin, and the operators' actions."""

import pytest
from django.test import Client

from accounts.models import User
from messaging.models import Message
from safety.models import Report
from safety.services import NOT_REPORTABLE, NOT_YOUR_OWN, TOO_MANY_REPORTS

CHANGELIST = "/admin/safety/report/"


def report(client, message, reason="spam", **extra):  # noqa: ANN001, ANN201
    body = {"reason": reason, **extra}
    return client.call("post", f"/api/messages/{message.pk}/report", body)


@pytest.fixture
def thread(make_message, alice, bob) -> list[Message]:  # noqa: ANN001
    """Seven messages between Alice and Bob; the fourth (Bob's) is the nasty one."""
    texts = ["m1", "m2", "m3", "buy cheap pills", "m5", "m6", "m7", "m8-far"]
    return [
        make_message(alice if n % 2 else bob, bob if n % 2 else alice, text)
        for n, text in enumerate(texts, start=1)
    ]


def test_a_member_reports_once_per_message(login_client, alice, bob, thread):  # noqa: ANN001
    nasty = thread[3]
    assert nasty.sender_id == bob.pk
    client = login_client(alice)
    first = report(client, nasty, "spam", note="selling stuff")
    again = report(client, nasty, "harassment")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["_id"] == again.json()["_id"] and first.json()["status"] == "open"
    stored = Report.objects.get()
    assert (stored.reporter_id, stored.message_id, stored.reason, stored.note) == (
        alice.pk,
        nasty.pk,
        "spam",
        "selling stuff",
    )


def test_only_members_who_see_it_and_never_ones_own(login_client, alice, bob, carol, thread):  # noqa: ANN001
    nasty = thread[3]
    assert report(login_client(carol), nasty).status_code == 404  # not her conversation
    response = login_client(bob).call("post", "/api/messages/nope/report", {"reason": "spam"})
    assert response.status_code == 404
    own = report(login_client(bob), nasty)
    assert own.status_code == 400 and own.json()["message"] == NOT_YOUR_OWN


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "reason"),
        ({"reason": "boring"}, "reason"),
        ({"reason": 3}, "reason"),
        ({"reason": "spam", "note": "x" * 501}, "note"),
        ({"reason": "spam", "note": 7}, "note"),
    ],
)
def test_bad_reports_are_400_naming_the_field(login_client, alice, thread, body, field):  # noqa: ANN001
    response = login_client(alice).call("post", f"/api/messages/{thread[3].pk}/report", body)
    assert response.status_code == 400
    assert any(field in key for key in response.json()["errors"])
    assert not Report.objects.exists()


def test_deleted_messages_cannot_be_reported(login_client, alice, bob, thread):  # noqa: ANN001
    client = login_client(bob)
    message = thread[3]
    deleted = client.delete(f"/api/conversations/{message.conversation_id}/messages/{message.pk}")
    assert deleted.status_code == 200
    response = report(login_client(alice), message)
    assert response.status_code == 400 and response.json()["message"] == NOT_REPORTABLE


def test_reports_are_rate_limited(settings, login_client, alice, thread):  # noqa: ANN001
    settings.REPORT_RATE_PER_USER = 2
    client = login_client(alice)
    bobs = [m for m in thread if m.sender_id != alice.pk]
    assert [report(client, m).status_code for m in bobs[:2]] == [201, 201]
    refused = report(client, bobs[2])
    assert refused.status_code == 429 and refused.json()["message"] == TOO_MANY_REPORTS
    assert refused["Retry-After"]


# --- The admin ----------------------------------------------------------------------------------


@pytest.fixture
def operator(make_user) -> User:  # noqa: ANN001
    return make_user(email="root@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def admin(operator) -> Client:  # noqa: ANN001
    client = Client()
    client.force_login(operator)
    return client


@pytest.fixture
def reported(login_client, alice, thread) -> Report:  # noqa: ANN001
    report(login_client(alice), thread[3], "spam", note="selling stuff")
    return Report.objects.get()


def act(admin, action, *reports):  # noqa: ANN001, ANN201
    response = admin.post(
        CHANGELIST, {"action": action, "_selected_action": [str(r.pk) for r in reports]}
    )
    assert response.status_code == 302, response.content
    return response


def test_the_queue_shows_the_message_its_sender_and_the_conversation(admin, reported, bob):  # noqa: ANN001
    page = admin.get(CHANGELIST).content.decode()
    assert "buy cheap pills" in page and "bob@example.com" in page
    assert f"?conversation={reported.message.conversation_id}" in page
    assert (
        admin.get(CHANGELIST, {"status__exact": "open"}).content.decode().count("buy cheap pills")
    )
    detail = admin.get(f"{CHANGELIST}{reported.pk}/change/").content.decode()
    for text in ("m1", "m2", "m3", "buy cheap pills", "m5", "m6", "m7", "selling stuff"):
        assert text in detail  # three before, three after
    assert "m8-far" not in detail


def test_delete_action_tombstones_the_message_live_and_closes_reports(
    admin, reported, sent_events, alice, bob
):  # noqa: ANN001
    with sent_events() as events:
        act(admin, "delete_messages", reported)
    message = Message.objects.get(pk=reported.message_id)
    assert message.deleted_at is not None and message.text == ""
    deleted = [e for e in events if e[1] == "messageDeleted"]
    assert deleted and deleted[0][0] == sorted([str(alice.pk), str(bob.pk)])
    reported.refresh_from_db()
    assert reported.status == Report.Status.DELETED and reported.resolved_at is not None


def test_deactivate_action_logs_the_sender_out(admin, reported, login_client, bob, alice):  # noqa: ANN001
    client = login_client(bob)
    act(admin, "deactivate_senders", reported)
    bob.refresh_from_db()
    assert bob.is_active is False
    assert client.get("/api/conversations/").status_code == 401
    reported.refresh_from_db()
    assert reported.status == Report.Status.DEACTIVATED
    assert User.objects.get(pk=alice.pk).is_active  # the reporter is untouched


def test_dismiss_closes_and_a_new_report_can_follow(admin, reported, login_client, alice):  # noqa: ANN001
    act(admin, "dismiss", reported)
    reported.refresh_from_db()
    assert reported.status == Report.Status.DISMISSED and reported.open_key is None
    again = report(login_client(alice), reported.message, "hate")
    assert again.status_code == 201  # the earlier one is closed
    assert Report.objects.filter(status="open").count() == 1


def test_people_without_staff_rights_see_no_queue(login_client, alice, reported):  # noqa: ANN001
    client = Client()
    client.force_login(alice)
    assert client.get(CHANGELIST).status_code == 302  # to the admin login
