"""`userUpdated`: a new name or avatar reaches everyone who shares a conversation with that person
(and their own other tabs), and no one else."""

from messaging.profiles import user_updated_shape

PROFILE = "/api/auth/update-profile"


def updates(events: list) -> list:
    return [(ids, data) for ids, event, data in events if event == "userUpdated"]


def test_a_new_name_reaches_direct_and_group_contacts_and_no_stranger(
    alice, bob, carol, make_user, make_group, login_client, sent_events
):  # noqa: ANN001
    dan = make_user(email="dan@example.com", full_name="Dan Stranger")
    eve = make_user(email="eve@example.com", full_name="Eve Left")
    assert login_client(alice).call(
        "POST", "/api/conversations/", {"userId": str(bob.pk)}
    ).status_code in (200, 201)
    group = make_group(carol, alice, eve, title="Trip")
    me = login_client(eve)
    assert me.call("POST", f"/api/conversations/{group.pk}/leave").status_code == 200

    with sent_events() as events:
        response = login_client(alice).call("PUT", PROFILE, {"fullName": "Alice Moreau"})
    assert response.status_code == 200, response.content
    [(ids, data)] = updates(events)
    assert set(ids) == {str(alice.pk), str(bob.pk), str(carol.pk)}  # not Dan, not Eve who left
    assert str(dan.pk) not in ids
    assert data == {
        "user": {
            "_id": str(alice.pk),
            "fullName": "Alice Moreau",
            "profilePic": data["user"]["profilePic"],
        }
    }


def test_a_new_avatar_carries_its_url(
    alice, bob, make_group, login_client, sent_events, png_data_url, chat_media
):  # noqa: ANN001
    make_group(alice, bob)
    with sent_events() as events:
        response = login_client(alice).call("PUT", PROFILE, {"profilePic": png_data_url()})
    assert response.status_code == 200, response.content
    [(ids, data)] = updates(events)
    assert set(ids) == {str(alice.pk), str(bob.pk)}
    assert data["user"]["profilePic"] == response.json()["profilePic"] != ""
    assert data["user"]["fullName"] == "Alice Martin"


def test_a_refused_update_announces_nothing(alice, bob, make_group, login_client, sent_events):  # noqa: ANN001
    make_group(alice, bob)
    with sent_events() as events:
        response = login_client(alice).call(
            "PUT", PROFILE, {"profilePic": "data:image/png;base64,AAAA"}
        )
    assert response.status_code == 400
    assert updates(events) == []


def test_the_shape_has_only_what_pages_show(alice):  # noqa: ANN001
    assert set(user_updated_shape(alice)) == {"_id", "fullName", "profilePic"}
