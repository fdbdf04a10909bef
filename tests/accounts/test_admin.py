"""The users admin: list, search, avatar, deactivation, and password resets."""

import pytest
from django.test import Client

from accounts.models import User
from accounts.tokens import token_issue
from tests.conftest import ApiClient

CHANGELIST = "/admin/accounts/user/"


@pytest.fixture
def operator(make_user) -> User:  # noqa: ANN001
    return make_user(
        email="root@example.com", full_name="Root Operator", is_staff=True, is_superuser=True
    )


@pytest.fixture
def admin_client(operator) -> Client:  # noqa: ANN001
    client = Client()
    client.force_login(operator)
    return client


def _token_works(token: str) -> bool:
    client = ApiClient()
    client.cookies["jwt"] = token
    return client.call("get", "/api/auth/check").status_code == 200


def test_changelist_lists_users_with_avatars(admin_client, alice, bob):
    """A superuser sees every user, each with an avatar image."""
    response = admin_client.get(CHANGELIST)
    assert response.status_code == 200
    page = response.content.decode()
    assert "alice@example.com" in page and "bob@example.com" in page
    assert page.count('class="parley-avatar"') == 3  # alice, bob and the operator


def test_uploaded_avatar_is_shown(admin_client, alice):
    """A user's own picture replaces the placeholder."""
    User.objects.filter(pk=alice.pk).update(profile_pic="avatars/abc.png")
    assert '<img src="/media/avatars/abc.png"' in admin_client.get(CHANGELIST).content.decode()


@pytest.mark.parametrize("query", ["alice", "ALICE@EXAMPLE", "Martin"])
def test_search_finds_by_email_or_name(admin_client, alice, bob, query):
    """Searching matches email or full name, case-insensitively."""
    page = admin_client.get(CHANGELIST, {"q": query}).content.decode()
    assert "alice@example.com" in page
    assert "bob@example.com" not in page


def test_deactivate_action_ends_the_users_sessions(admin_client, alice, bob):
    """Deactivating a user: they are inactive, their token stops working, others are unaffected."""
    alice_token, bob_token = token_issue(alice), token_issue(bob)
    response = admin_client.post(
        CHANGELIST, {"action": "deactivate", "_selected_action": [alice.pk]}, follow=True
    )
    assert response.status_code == 200
    assert "Deactivated 1 user(s)." in response.content.decode()
    alice.refresh_from_db()
    assert alice.is_active is False
    assert not _token_works(alice_token)
    assert _token_works(bob_token)
    login = ApiClient().call(
        "post", "/api/auth/login", {"email": alice.email, "password": "correct-horse-42"}
    )
    assert login.status_code == 400


def test_reactivate_lets_the_user_log_in_again(admin_client, alice):
    """Reactivation restores login (old tokens stay revoked)."""
    old = token_issue(alice)
    admin_client.post(CHANGELIST, {"action": "deactivate", "_selected_action": [alice.pk]})
    admin_client.post(CHANGELIST, {"action": "reactivate", "_selected_action": [alice.pk]})
    alice.refresh_from_db()
    assert alice.is_active is True
    assert not _token_works(old)
    login = ApiClient().call(
        "post", "/api/auth/login", {"email": alice.email, "password": "correct-horse-42"}
    )
    assert login.status_code == 200


def test_operator_cannot_deactivate_themselves(admin_client, operator, alice):
    """The acting operator is skipped, so nobody locks themselves out by accident."""
    admin_client.post(
        CHANGELIST, {"action": "deactivate", "_selected_action": [operator.pk, alice.pk]}
    )
    operator.refresh_from_db()
    assert operator.is_active is True
    assert admin_client.get(CHANGELIST).status_code == 200


def test_unticking_active_on_the_change_page_revokes_tokens(admin_client, alice):
    """Deactivating through the edit form also ends the user's sessions."""
    token = token_issue(alice)
    page = admin_client.get(f"{CHANGELIST}{alice.pk}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if value is not None and name not in {"groups", "user_permissions"}
    }
    data.update({"email": alice.email, "full_name": alice.full_name, "theme": "light"})
    data.pop("is_active", None)
    data["created_at_0"], data["created_at_1"] = "2024-01-01", "00:00:00"
    response = admin_client.post(f"{CHANGELIST}{alice.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    alice.refresh_from_db()
    assert alice.is_active is False
    assert not _token_works(token)


def test_password_reset_by_an_operator_revokes_tokens(admin_client, alice):
    """Setting a new password in the admin logs the user out everywhere."""
    token = token_issue(alice)
    response = admin_client.post(
        f"{CHANGELIST}{alice.pk}/password/",
        {"password1": "Operator-Set-99", "password2": "Operator-Set-99", "usable_password": "true"},
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("Operator-Set-99")
    assert not _token_works(token)


def test_add_user_stores_the_email_lower_case(admin_client):
    """The add form accepts a mixed-case email and stores it lower-case, with a usable login."""
    response = admin_client.post(
        f"{CHANGELIST}add/",
        {
            "email": "New.Person@Example.COM",
            "full_name": "New Person",
            "password1": "A-long-pass-123",
            "password2": "A-long-pass-123",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="new.person@example.com")
    assert user.check_password("A-long-pass-123")


def test_add_user_with_an_existing_email_in_other_case_is_a_form_error(admin_client, alice):
    """A duplicate differing only in case is reported on the form, not a 500."""
    response = admin_client.post(
        f"{CHANGELIST}add/",
        {
            "email": "ALICE@example.com",
            "full_name": "Alice Again",
            "password1": "A-long-pass-123",
            "password2": "A-long-pass-123",
        },
    )
    assert response.status_code == 200
    assert "email" in response.context["adminform"].form.errors
    assert User.objects.filter(email="alice@example.com").count() == 1


def test_admin_is_for_staff_only(login_client, alice):
    """A regular user (even with a valid cookie) is sent to the admin login."""
    client = Client()
    client.force_login(alice)
    assert client.get(CHANGELIST).status_code == 302
    assert login_client(alice).get(CHANGELIST).status_code == 302
