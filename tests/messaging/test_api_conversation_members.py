"""/api/conversations/<id>/members, /leave and /role: who is in a group, and what someone
removed or gone still sees (what they had, read-only) and no longer gets (anything new)."""

import pytest

from messaging.api_conversations import LEFT_GROUP
from messaging.groups import (
    ADMINS_ONLY,
    ALREADY_MEMBER,
    MEMBERS_REQUIRED,
    NOT_A_MEMBER,
    TOO_MANY_MEMBERS,
    UNKNOWN_ROLE,
    USE_LEAVE,
    USER_UNAVAILABLE,
)
from messaging.models import Membership
from messaging.selectors import CONVERSATION_NOT_FOUND, MESSAGE_NOT_FOUND
from tests.messaging.responses import error, ok

URL = "/api/conversations/"


def members(detail: dict) -> dict[str, dict]:
    return {m["userId"]: m for m in detail["members"]}


# --- Adding -------------------------------------------------------------------------------------


def test_any_member_adds_people_who_then_see_the_group(
    alice, bob, carol, team, make_user, login_client, sent_events
):  # noqa: ANN001
    """200 with the detail; everyone (the newcomer too) hears `memberAdded` and the "added"
    line; the newcomer hears `conversationCreated`."""
    dan = make_user(full_name="Dan")

    with sent_events() as events:
        detail = ok(
            login_client(bob).call("post", f"{URL}{team.pk}/members", {"userIds": [str(dan.pk)]})
        )

    assert members(detail)[str(dan.pk)]["role"] == "member" and detail["memberCount"] == 4
    everyone = sorted(str(u.pk) for u in (alice, bob, carol, dan))
    added = {"conversationId": str(team.pk), "userIds": [str(dan.pk)], "by": str(bob.pk)}
    assert (everyone, "memberAdded", added) in events
    [line] = [(ids, data) for ids, event, data in events if event == "newMessage"]
    assert line[0] == everyone and line[1]["event"]["type"] == "added"
    [created] = [(ids, data) for ids, event, data in events if event == "conversationCreated"]
    assert created[0] == [str(dan.pk)] and created[1]["_id"] == str(team.pk)
    assert created[1]["unreadCount"] == 1  # the line saying he was added, nothing before


def test_adding_someone_already_in_is_refused(bob, team, login_client):  # noqa: ANN001
    """A member cannot be added twice: 400 naming them; nothing changes."""
    response = login_client(bob).call("post", f"{URL}{team.pk}/members", {"userIds": [str(bob.pk)]})

    assert error(response, 400) == {"message": ALREADY_MEMBER, "errors": {"userIds": [str(bob.pk)]}}
    assert Membership.objects.filter(conversation=team).count() == 3


def test_a_deactivated_person_cannot_be_added(alice, team, make_user, login_client):  # noqa: ANN001
    """404 naming the id, as for an unknown one."""
    gone = make_user(is_active=False)

    response = login_client(alice).call(
        "post", f"{URL}{team.pk}/members", {"userIds": [str(gone.pk)]}
    )

    assert error(response, 404) == {
        "message": USER_UNAVAILABLE,
        "errors": {"userIds": [str(gone.pk)]},
    }
    assert not Membership.objects.filter(conversation=team, user=gone).exists()


def test_adding_past_group_max_members_is_refused(alice, team, make_user, login_client, settings):  # noqa: ANN001
    """With GROUP_MAX_MEMBERS=4 a group of 3 takes one more, not two."""
    settings.GROUP_MAX_MEMBERS = 4
    dan, eve = make_user(), make_user()
    client = login_client(alice)
    limit = TOO_MANY_MEMBERS.format(limit=4)

    both = {"userIds": [str(dan.pk), str(eve.pk)]}
    assert error(client.call("post", f"{URL}{team.pk}/members", both), 400) == {
        "message": limit,
        "errors": {"userIds": [limit]},
    }
    ok(client.call("post", f"{URL}{team.pk}/members", {"userIds": [str(dan.pk)]}))


@pytest.mark.parametrize("body", [{}, {"userIds": []}])
def test_adding_needs_user_ids(body, alice, team, login_client):  # noqa: ANN001
    """No ids: 400 naming userIds."""
    response = login_client(alice).call("post", f"{URL}{team.pk}/members", body)
    assert error(response, 400) == {
        "message": MEMBERS_REQUIRED,
        "errors": {"userIds": [MEMBERS_REQUIRED]},
    }


# --- Removing -----------------------------------------------------------------------------------


def test_an_admin_removes_a_member_who_is_then_shown_as_left(
    alice, bob, carol, team, login_client, sent_events
):  # noqa: ANN001
    """200 with the detail listing them with `leftAt`; everyone, them included a last time,
    hears `memberRemoved`."""
    with sent_events() as events:
        detail = ok(login_client(alice).delete(f"{URL}{team.pk}/members/{carol.pk}"))

    assert members(detail)[str(carol.pk)]["leftAt"] is not None
    assert detail["memberCount"] == 2
    everyone = sorted(str(u.pk) for u in (alice, bob, carol))
    removed = {
        "conversationId": str(team.pk),
        "userId": str(carol.pk),
        "by": str(alice.pk),
        "removed": True,
    }
    assert (everyone, "memberRemoved", removed) in events
    carols = ok(login_client(carol).get(f"{URL}{team.pk}"))
    assert carols["active"] is False and members(carols)[str(carol.pk)]["leftAt"]


def test_only_admins_remove(bob, carol, team, login_client):  # noqa: ANN001
    """A member who is not an admin: 403, and Carol stays."""
    response = login_client(bob).delete(f"{URL}{team.pk}/members/{carol.pk}")

    assert error(response, 403) == {"message": ADMINS_ONLY}
    assert Membership.objects.get(conversation=team, user=carol).active


def test_removing_yourself_or_a_non_member(alice, team, make_user, login_client):  # noqa: ANN001
    """Yourself: 400 (leave instead); someone not in the group, or a malformed id: 404."""
    client = login_client(alice)

    assert error(client.delete(f"{URL}{team.pk}/members/{alice.pk}"), 400)["message"] == USE_LEAVE
    outsider = make_user()
    assert error(client.delete(f"{URL}{team.pk}/members/{outsider.pk}"), 404) == {
        "message": NOT_A_MEMBER
    }
    assert error(client.delete(f"{URL}{team.pk}/members/abc"), 404)["message"] == NOT_A_MEMBER


# --- Someone removed ---------------------------------------------------------------------------


@pytest.fixture
def removed(alice, bob, carol, team, group_post, login_client):  # noqa: ANN001, ANN201
    """Carol read to "before", then was removed; then "after" was written and the group renamed."""
    before = group_post(bob, team, "before")
    ok(login_client(carol).call("post", f"{URL}{team.pk}/read", {"upTo": str(before.pk)}))
    ok(login_client(alice).delete(f"{URL}{team.pk}/members/{carol.pk}"))
    after = group_post(bob, team, "after")
    return before, after


def test_someone_removed_keeps_what_they_had_and_nothing_after(carol, team, removed, login_client):  # noqa: ANN001
    """History ends at the line saying they were removed; a cursor past it is 404."""
    before, after = removed
    client = login_client(carol)

    page = ok(client.get(f"{URL}{team.pk}/messages"))

    assert [m.get("text") or m["event"]["type"] for m in page] == ["created", "before", "removed"]
    assert error(client.get(f"{URL}{team.pk}/messages?after={after.pk}"), 404) == {
        "message": MESSAGE_NOT_FOUND
    }
    assert error(client.get(f"{URL}{team.pk}/messages?before={after.pk}"), 404)
    assert [m["text"] for m in ok(client.get(f"{URL}{team.pk}/messages?after={before.pk}"))] == [
        None
    ]
    receipts = client.get(f"{URL}{team.pk}/messages/{after.pk}/receipts")
    assert error(receipts, 404) == {"message": MESSAGE_NOT_FOUND}


def test_someone_removed_sees_the_sidebar_as_it_was(carol, team, removed, login_client):  # noqa: ANN001
    """Their sidebar row: the "removed" line last, no unread from after, read-only."""
    _, after = removed

    [row] = ok(login_client(carol).get(URL))

    assert row["active"] is False and row["lastMessage"]["event"]["type"] == "removed"
    assert row["unreadCount"] == 1  # the removal line, nothing written after it
    assert row["lastSeq"] == after.seq - 1
    assert row["lastActivityAt"] == row["lastMessage"]["createdAt"]
    assert "after" not in str(row)


def test_someone_removed_cannot_post_or_act(carol, team, removed, make_user, login_client):  # noqa: ANN001
    """Posting: 404; adding, renaming, leaving again: 403 (they are no longer in it)."""
    client = login_client(carol)

    response = client.call("post", f"{URL}{team.pk}/messages", {"text": "let me back"})
    assert error(response, 404) == {"message": CONVERSATION_NOT_FOUND}
    add = {"userIds": [str(make_user().pk)]}
    assert (
        error(client.call("post", f"{URL}{team.pk}/members", add), 403)["message"] == NOT_A_MEMBER
    )
    assert error(client.call("patch", f"{URL}{team.pk}", {"title": "x"}), 403)
    assert error(client.post(f"{URL}{team.pk}/leave"), 403)


def test_someone_removed_receives_nothing_more(
    alice, bob, carol, team, removed, make_user, login_client, sent_events
):  # noqa: ANN001
    """After removal no event of the group reaches them: messages, renames, additions, roles."""
    with sent_events() as events:
        ok(login_client(bob).call("post", f"{URL}{team.pk}/messages", {"text": "hi all"}), 201)
        ok(login_client(bob).call("patch", f"{URL}{team.pk}", {"title": "Renamed"}))
        dan = make_user()
        ok(login_client(bob).call("post", f"{URL}{team.pk}/members", {"userIds": [str(dan.pk)]}))
        ok(
            login_client(alice).call(
                "put", f"{URL}{team.pk}/members/{bob.pk}/role", {"role": "admin"}
            )
        )
        ok(login_client(bob).call("post", f"{URL}{team.pk}/read", {"upTo": str(removed[1].pk)}))

    kinds = {event for _, event, _ in events}
    assert {"newMessage", "conversationUpdated", "memberAdded", "memberUpdated"} <= kinds
    assert all(str(carol.pk) not in ids for ids, _, _ in events)


def test_a_member_of_the_group_before_carol_left_sees_her_as_left(
    alice, carol, team, removed, login_client
):  # noqa: ANN001
    """Others see her in the members with leftAt; the member count drops."""
    detail = ok(login_client(alice).get(f"{URL}{team.pk}"))
    assert members(detail)[str(carol.pk)]["leftAt"] and detail["memberCount"] == 2


def test_someone_removed_does_not_learn_who_joined_after(
    alice, bob, carol, team, removed, make_user, login_client
):  # noqa: ANN001
    """People added after they left are not in their copy of the member list, and nobody's
    cursor there goes past their own last message."""
    dan = make_user()
    ok(login_client(alice).call("post", f"{URL}{team.pk}/members", {"userIds": [str(dan.pk)]}))
    ok(login_client(bob).call("post", f"{URL}{team.pk}/read", {"upTo": str(removed[1].pk)}))

    carols = ok(login_client(carol).get(f"{URL}{team.pk}"))

    assert str(dan.pk) not in members(carols)
    assert members(carols)[str(bob.pk)]["readSeq"] == carols["lastSeq"]
    alices = ok(login_client(alice).get(f"{URL}{team.pk}"))
    assert str(dan.pk) in members(alices)
    assert members(alices)[str(bob.pk)]["readSeq"] == removed[1].seq


# --- Leaving ------------------------------------------------------------------------------------


def test_leaving_keeps_history_readable(alice, bob, carol, team, login_client, sent_events):  # noqa: ANN001
    """200 {message}; everyone hears `memberRemoved` with removed false; the group stays in
    their sidebar, inactive."""
    client = login_client(bob)

    with sent_events() as events:
        assert ok(client.post(f"{URL}{team.pk}/leave")) == {"message": LEFT_GROUP}

    gone = {
        "conversationId": str(team.pk),
        "userId": str(bob.pk),
        "by": str(bob.pk),
        "removed": False,
    }
    everyone = sorted(str(u.pk) for u in (alice, bob, carol))
    assert (everyone, "memberRemoved", gone) in events
    [row] = ok(client.get(URL))
    assert row["active"] is False and row["lastMessage"]["event"]["type"] == "left"
    assert len(ok(client.get(f"{URL}{team.pk}/messages"))) == 2


def test_the_last_admin_leaving_hands_the_group_over(
    alice, bob, carol, team, login_client, sent_events
):  # noqa: ANN001
    """The longest-standing member becomes admin and everyone hears `memberUpdated`."""
    with sent_events() as events:
        ok(login_client(alice).post(f"{URL}{team.pk}/leave"))

    updated = [data for _, event, data in events if event == "memberUpdated"]
    assert len(updated) == 1 and updated[0]["role"] == "admin"
    heir = updated[0]["userId"]
    assert heir in {str(bob.pk), str(carol.pk)}
    assert members(ok(login_client(bob).get(f"{URL}{team.pk}")))[heir]["role"] == "admin"


def test_a_direct_conversation_cannot_be_left(alice, bob, make_message, login_client):  # noqa: ANN001
    """Only groups have members to change: 400."""
    conversation_id = make_message(alice, bob).conversation_id
    assert error(login_client(alice).post(f"{URL}{conversation_id}/leave"), 400)


# --- Roles --------------------------------------------------------------------------------------


def test_an_admin_makes_someone_admin(alice, bob, carol, team, login_client, sent_events):  # noqa: ANN001
    """200 with the detail; everyone hears `memberUpdated`; the new admin may remove people."""
    with sent_events() as events:
        detail = ok(
            login_client(alice).call(
                "put", f"{URL}{team.pk}/members/{bob.pk}/role", {"role": "admin"}
            )
        )

    assert members(detail)[str(bob.pk)]["role"] == "admin"
    everyone = sorted(str(u.pk) for u in (alice, bob, carol))
    change = {
        "conversationId": str(team.pk),
        "userId": str(bob.pk),
        "role": "admin",
        "by": str(alice.pk),
    }
    assert (everyone, "memberUpdated", change) in events
    ok(login_client(bob).delete(f"{URL}{team.pk}/members/{carol.pk}"))


def test_roles_are_admin_or_member_and_set_by_admins(
    alice, bob, carol, team, make_user, login_client
):  # noqa: ANN001
    """An unknown role: 400 naming role; a non-admin: 403; someone not in it: 404."""
    admin, member = login_client(alice), login_client(bob)
    path = f"{URL}{team.pk}/members/{carol.pk}/role"

    assert error(admin.call("put", path, {"role": "owner"}), 400) == {
        "message": UNKNOWN_ROLE,
        "errors": {"role": [UNKNOWN_ROLE]},
    }
    assert error(member.call("put", path, {"role": "admin"}), 403) == {"message": ADMINS_ONLY}
    outsider = f"{URL}{team.pk}/members/{make_user().pk}/role"
    assert error(admin.call("put", outsider, {"role": "admin"}), 404) == {"message": NOT_A_MEMBER}
    assert Membership.objects.get(conversation=team, user=carol).role == "member"


def test_someone_added_back_reads_the_whole_history_again_and_posts(
    alice, bob, carol, team, group_post, login_client
):  # noqa: ANN001
    """Carol leaves, the group talks, Alice adds her back: as in Slack and Element, Carol reads
    everything from her first joining again, what was said while she was out included."""
    before = group_post(bob, team, "before she left")
    ok(login_client(carol).call("post", f"{URL}{team.pk}/leave"))
    while_out = group_post(bob, team, "while she was out")
    out_view = [m["text"] for m in ok(login_client(carol).get(f"{URL}{team.pk}/messages"))]
    assert before.text in out_view and while_out.text not in out_view
    ok(login_client(alice).call("post", f"{URL}{team.pk}/members", {"userIds": [str(carol.pk)]}))

    texts = [m["text"] for m in ok(login_client(carol).get(f"{URL}{team.pk}/messages"))]
    assert before.text in texts and while_out.text in texts
    ok(login_client(carol).call("post", f"{URL}{team.pk}/messages", {"text": "back"}), 201)
