"""POST /api/auth/login: credentials, identical failures, and the rate limits."""

from unittest.mock import patch

import pytest
from django.contrib.auth.hashers import BCryptSHA256PasswordHasher

from accounts.services import ALL_FIELDS_REQUIRED, INVALID_CREDENTIALS, TOO_MANY_ATTEMPTS
from tests.accounts.conftest import assert_no_password, assert_user_json, jwt_of
from tests.conftest import PASSWORD

LOGIN = "/api/auth/login"


def test_login_returns_the_user_and_sets_the_cookie(api, alice):
    """Right email and password: 200 User and a working `jwt` cookie."""
    response = api.call("post", LOGIN, {"email": "alice@example.com", "password": PASSWORD})
    assert response.status_code == 200
    assert_user_json(response.json(), alice)
    assert_no_password(response, alice)
    assert jwt_of(response)
    assert api.call("get", "/api/auth/check").json()["_id"] == str(alice.pk)


def test_login_email_is_case_insensitive(api, alice):
    """The address may be typed in any case, with stray spaces."""
    response = api.call("post", LOGIN, {"email": " ALICE@Example.com ", "password": PASSWORD})
    assert response.status_code == 200


def test_unknown_email_and_wrong_password_answer_alike(api, alice):
    """Status and body are identical, so the answer never tells whether an account exists."""
    wrong = api.call("post", LOGIN, {"email": "alice@example.com", "password": "wrong-pass"})
    unknown = api.call("post", LOGIN, {"email": "nobody@example.com", "password": "wrong-pass"})
    assert wrong.status_code == unknown.status_code == 400
    assert wrong.json() == unknown.json() == {"message": INVALID_CREDENTIALS}
    assert "jwt" not in wrong.cookies and "jwt" not in unknown.cookies


def test_password_is_case_sensitive(api, alice):
    """The password must match exactly."""
    response = api.call("post", LOGIN, {"email": "alice@example.com", "password": PASSWORD.upper()})
    assert response.json() == {"message": INVALID_CREDENTIALS}


def test_deactivated_user_cannot_log_in(api, make_user):
    """A deactivated account gets the same answer as a wrong password."""
    make_user(email="gone@example.com", is_active=False)
    response = api.call("post", LOGIN, {"email": "gone@example.com", "password": PASSWORD})
    assert response.status_code == 400
    assert response.json() == {"message": INVALID_CREDENTIALS}


@pytest.fixture
def hash_runs():
    """How many times bcrypt ran since the test started (checking a password encodes it too)."""
    runs = {"n": 0}
    encode = BCryptSHA256PasswordHasher.encode

    def counted(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        runs["n"] += 1
        return encode(*args, **kwargs)

    with patch.object(BCryptSHA256PasswordHasher, "encode", counted):
        yield lambda: runs["n"]


@pytest.mark.parametrize(
    "email,password",
    [
        ("alice@example.com", "wrong-pass"),
        ("gone@example.com", PASSWORD),
        ("nobody@example.com", PASSWORD),
    ],
    ids=["wrong-password", "deactivated", "unknown-email"],
)
def test_every_refused_login_costs_one_password_hash(
    api, alice, make_user, hash_runs, email, password
):
    """Wrong password, deactivated account and unknown email all hash once: no timing tell."""
    make_user(email="gone@example.com", is_active=False)
    before = hash_runs()
    response = api.call("post", LOGIN, {"email": email, "password": password})
    assert response.json() == {"message": INVALID_CREDENTIALS}
    assert hash_runs() - before == 1


@pytest.mark.parametrize(
    "body",
    [{}, {"email": "alice@example.com"}, {"password": PASSWORD}, {"email": " ", "password": "x"}],
    ids=["empty", "no-password", "no-email", "blank-email"],
)
def test_missing_fields_are_refused(api, alice, body):
    """Missing email or password: 400 "All fields are required"."""
    response = api.call("post", LOGIN, body)
    assert response.status_code == 400
    assert response.json()["message"] == ALL_FIELDS_REQUIRED


def _attempt(api, email: str, password: str = "wrong-pass", ip: str = "10.0.0.1"):  # noqa: ANN001
    return api.call("post", LOGIN, {"email": email, "password": password}, REMOTE_ADDR=ip)


def test_logins_are_limited_per_ip(api, alice, settings):
    """One address trying many accounts gets 429 + Retry-After; other addresses do not."""
    settings.LOGIN_RATE_PER_IP = 4
    for n in range(4):
        assert _attempt(api, f"user{n}@example.com", ip="10.0.0.7").status_code == 400
    blocked = _attempt(api, "alice@example.com", PASSWORD, ip="10.0.0.7")
    assert blocked.status_code == 429
    assert blocked.json() == {"message": TOO_MANY_ATTEMPTS}
    assert 0 < int(blocked["Retry-After"]) <= settings.LOGIN_RATE_WINDOW
    assert _attempt(api, "alice@example.com", PASSWORD, ip="10.0.0.8").status_code == 200


def test_forwarded_for_is_ignored_unless_trusted(api, alice, settings):
    """A client cannot dodge the IP limit by inventing X-Forwarded-For headers."""
    settings.LOGIN_RATE_PER_IP = 2
    for n in range(2):
        api.call(
            "post",
            LOGIN,
            {"email": f"u{n}@example.com", "password": "x"},
            REMOTE_ADDR="10.0.0.5",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}",
        )
    spoofed = api.call(
        "post",
        LOGIN,
        {"email": "alice@example.com", "password": PASSWORD},
        REMOTE_ADDR="10.0.0.5",
        HTTP_X_FORWARDED_FOR="192.0.2.200",
    )
    assert spoofed.status_code == 429


def test_forwarded_for_is_used_behind_a_trusted_proxy(api, alice, settings):
    """With TRUST_X_FORWARDED_FOR the proxy-reported client address is what gets limited."""
    settings.LOGIN_RATE_PER_IP = 1
    settings.TRUST_X_FORWARDED_FOR = True
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    body = {"email": "alice@example.com", "password": PASSWORD}
    first = api.call("post", LOGIN, body, HTTP_X_FORWARDED_FOR="198.51.100.1", **proxy)
    assert first.status_code == 200
    assert (
        api.call("post", LOGIN, body, HTTP_X_FORWARDED_FOR="198.51.100.1", **proxy).status_code
        == 429
    )
    assert (
        api.call("post", LOGIN, body, HTTP_X_FORWARDED_FOR="198.51.100.2", **proxy).status_code
        == 200
    )
