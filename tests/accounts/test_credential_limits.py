"""Every password check is throttled alike: API login, login page, /admin/login/, password change.

Policy (OWASP Authentication Cheat Sheet): failures are limited tightly per (account, address),
loosely per account from all addresses, and all attempts per address. So an attacker on one
address locks only themselves out, and the owner still gets in from another.
"""

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import aauthenticate, authenticate
from django.test import Client, RequestFactory

from accounts.limits import TooManyAttempts
from accounts.services import (
    INVALID_CREDENTIALS,
    TOO_MANY_ATTEMPTS,
    TOO_MANY_PASSWORD_ATTEMPTS,
    WRONG_PASSWORD,
)
from tests.conftest import PASSWORD
from tests.pages.conftest import Page

LOGIN = "/api/auth/login"
ADMIN_LOGIN = "/admin/login/"
CHANGE_PASSWORD = "/api/auth/change-password"
ATTACKER, OWNER = "203.0.113.66", "198.51.100.7"


def _login(api, email: str, password: str = "wrong-pass", ip: str = ATTACKER):  # noqa: ANN001
    return api.call("post", LOGIN, {"email": email, "password": password}, REMOTE_ADDR=ip)


def _assert_throttled(response, message: str = TOO_MANY_ATTEMPTS) -> None:  # noqa: ANN001
    assert response.status_code == 429
    assert response.json()["message"] == message
    assert 0 < int(response["Retry-After"]) <= 900
    assert "jwt" not in response.cookies


# --- API login ----------------------------------------------------------------------------------
def test_an_attacker_cannot_lock_the_owner_out(api, alice):
    """With the default limits, 5 and then 50 failures elsewhere leave the owner able to log in.

    The attacker's own address is refused after its 5 failures.
    """
    for _ in range(5):
        assert _login(api, "alice@example.com").status_code == 400
    _assert_throttled(_login(api, "alice@example.com", PASSWORD))
    assert _login(api, "alice@example.com", PASSWORD, ip=OWNER).status_code == 200
    for n in range(45):  # a botnet: 5 failures from each of 9 more addresses
        _login(api, "alice@example.com", ip=f"192.0.2.{n // 5}")
    assert _login(api, "alice@example.com", PASSWORD, ip=OWNER).status_code == 200


def test_the_attackers_address_is_refused_for_that_account(api, alice, bob, settings):
    """After LOGIN_RATE_PER_ACCOUNT_IP failures that address gets 429 even with the right password.

    Other accounts from the same address are still checked normally.
    """
    settings.LOGIN_RATE_PER_ACCOUNT_IP = 3
    for _ in range(3):
        assert _login(api, "alice@example.com").status_code == 400
    _assert_throttled(_login(api, "ALICE@example.com", PASSWORD))
    assert _login(api, "bob@example.com").json() == {"message": INVALID_CREDENTIALS}


def test_unknown_accounts_are_limited_like_real_ones(api, alice, settings):
    """An unknown email is throttled after the same number of tries: no enumeration by 429."""
    settings.LOGIN_RATE_PER_ACCOUNT_IP = 2
    for email in ("alice@example.com", "nobody@example.com"):
        statuses = [_login(api, email).status_code for _ in range(3)]
        assert statuses == [400, 400, 429]


def test_failures_from_many_addresses_eventually_lock_the_account(api, alice, settings):
    """LOGIN_RATE_PER_ACCOUNT failures from all addresses together lock the account everywhere."""
    settings.LOGIN_RATE_PER_ACCOUNT_IP = 3
    settings.LOGIN_RATE_PER_ACCOUNT = 7
    for ip in ("192.0.2.1", "192.0.2.2"):
        assert [_login(api, "alice@example.com", ip=ip).status_code for _ in range(4)] == [
            400,
            400,
            400,
            429,
        ]
    assert _login(api, "alice@example.com", ip="192.0.2.3").status_code == 400  # the 7th failure
    _assert_throttled(_login(api, "alice@example.com", PASSWORD, ip=OWNER))


def test_a_success_clears_only_that_addresss_failures(api, alice, settings):
    """Logging in resets the count for this address; failures from elsewhere still add up."""
    settings.LOGIN_RATE_PER_ACCOUNT_IP = 3
    settings.LOGIN_RATE_PER_ACCOUNT = 5
    for _ in range(2):
        _login(api, "alice@example.com", ip=OWNER)
    assert _login(api, "alice@example.com", PASSWORD, ip=OWNER).status_code == 200
    # Without the reset this address would be refused on its next failure.
    for _ in range(2):
        assert _login(api, "alice@example.com", ip=OWNER).status_code == 400
    assert _login(api, "alice@example.com", ip=ATTACKER).status_code == 400  # 5 in all
    _assert_throttled(_login(api, "alice@example.com", PASSWORD, ip="192.0.2.9"))


# --- the login page -----------------------------------------------------------------------------
def test_login_page_lets_the_owner_in_from_another_address(client, alice):
    """The HTML form follows the same policy: the attacker gets 429, the owner gets in."""
    for _ in range(5):
        client.post("/login/", {"email": alice.email, "password": "wrong"}, REMOTE_ADDR=ATTACKER)
    refused = client.post(
        "/login/", {"email": alice.email, "password": PASSWORD}, REMOTE_ADDR=ATTACKER
    )
    assert refused.status_code == 429
    assert refused["Retry-After"]
    assert TOO_MANY_ATTEMPTS in Page(refused.content.decode()).text
    owner = Client().post(
        "/login/", {"email": alice.email, "password": PASSWORD}, REMOTE_ADDR=OWNER
    )
    assert owner.status_code == 302
    assert owner.cookies["jwt"].value


# --- /admin/login/ ------------------------------------------------------------------------------
@pytest.fixture
def operator(make_user):  # noqa: ANN001, ANN201
    return make_user(email="root@example.com", is_staff=True, is_superuser=True)


def _admin_login(client: Client, password: str, ip: str = ATTACKER):
    return client.post(
        ADMIN_LOGIN, {"username": "root@example.com", "password": password}, REMOTE_ADDR=ip
    )


def test_admin_login_refuses_the_right_password_after_repeated_failures(operator):
    """5 wrong superuser passwords, then the right one: a 429 page, and no admin session."""
    attacker = Client()
    for _ in range(5):
        assert (
            _admin_login(attacker, "wrong-password").status_code == 200
        )  # the form, with an error
    refused = _admin_login(attacker, PASSWORD)
    assert refused.status_code == 429
    assert refused["Retry-After"]
    assert TOO_MANY_ATTEMPTS in Page(refused.content.decode()).text
    assert attacker.get("/admin/").status_code == 302  # still sent to the login page
    owner = Client()
    assert _admin_login(owner, PASSWORD, ip=OWNER).status_code == 302
    assert owner.get("/admin/").status_code == 200


def test_admin_and_api_logins_share_the_counters(api, operator, settings):
    """Failures on /admin/login/ count toward the same limit as the API's (one limiter)."""
    settings.LOGIN_RATE_PER_ACCOUNT_IP = 3
    for _ in range(2):
        _admin_login(Client(), "wrong-password")
    assert _login(api, "root@example.com").status_code == 400
    _assert_throttled(_login(api, "root@example.com", PASSWORD))


def test_every_django_authenticate_call_is_limited(operator, settings):
    """authenticate() and aauthenticate() (any Django login view) count and refuse alike."""
    settings.LOGIN_RATE_PER_ACCOUNT_IP = 2
    request = RequestFactory().post(ADMIN_LOGIN, REMOTE_ADDR=ATTACKER)
    for _ in range(2):
        assert authenticate(request, username="root@example.com", password="wrong") is None
    with pytest.raises(TooManyAttempts):
        async_to_sync(aauthenticate)(request, username="ROOT@example.com", password=PASSWORD)
    elsewhere = RequestFactory().post(ADMIN_LOGIN, REMOTE_ADDR=OWNER)
    assert authenticate(elsewhere, username="root@example.com", password=PASSWORD) == operator


# --- password change ----------------------------------------------------------------------------
def test_change_password_limits_wrong_current_passwords(login_client, alice, settings):
    """A stolen cookie cannot guess the current password: 429 after the limit, nothing changed.

    The same person from another address is not affected.
    """
    settings.LOGIN_RATE_PER_ACCOUNT_IP = 3
    client = login_client(alice)
    right = {"currentPassword": PASSWORD, "newPassword": "brand-new-pass"}
    for n in range(3):
        body = {"currentPassword": f"guess-{n}", "newPassword": "brand-new-pass"}
        response = client.call("put", CHANGE_PASSWORD, body, REMOTE_ADDR=ATTACKER)
        assert response.json()["message"] == WRONG_PASSWORD
    refused = client.call("put", CHANGE_PASSWORD, right, REMOTE_ADDR=ATTACKER)
    _assert_throttled(refused, TOO_MANY_PASSWORD_ATTEMPTS)
    assert refused.json()["errors"] == {"currentPassword": [TOO_MANY_PASSWORD_ATTEMPTS]}
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)
    owner = login_client(alice).call("put", CHANGE_PASSWORD, right, REMOTE_ADDR=OWNER)
    assert owner.status_code == 200


def test_settings_page_limits_wrong_current_passwords(login_client, alice, settings):
    """The settings form's password change is limited the same way, with a 429 page."""
    settings.LOGIN_RATE_PER_ACCOUNT_IP = 3
    client = login_client(alice)  # the page reads the same `jwt` cookie
    for n in range(3):
        wrong = {"current_password": f"guess-{n}", "new_password": "new-secret-99"}
        assert client.post("/settings/password/", wrong).status_code == 400
    right = {"current_password": PASSWORD, "new_password": "new-secret-99"}
    refused = client.post("/settings/password/", right)
    assert refused.status_code == 429
    assert refused["Retry-After"]
    assert TOO_MANY_PASSWORD_ATTEMPTS in Page(refused.content.decode()).text
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)
