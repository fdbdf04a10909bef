"""POST /api/auth/signup: every row of the contract, and what gets stored."""

import pytest

from accounts.models import User
from accounts.services import (
    ALL_FIELDS_REQUIRED,
    EMAIL_EXISTS,
    INVALID_EMAIL,
    NAME_TOO_LONG,
    PASSWORD_TOO_LONG,
    PASSWORD_TOO_SHORT,
    TOO_MANY_SIGNUPS,
)
from tests.accounts.conftest import assert_no_password, assert_user_json, jwt_of

SIGNUP = "/api/auth/signup"
GOOD = {"fullName": "Ann Lee", "email": "ann@example.com", "password": "secret1"}


def test_signup_creates_the_user_and_logs_them_in(api, db):
    """A new account answers 201 with the User, and its cookie already works."""
    response = api.call("post", SIGNUP, GOOD)
    assert response.status_code == 201
    user = User.objects.get(email="ann@example.com")
    assert_user_json(response.json(), user)
    assert response.json()["profilePic"] == ""
    assert response.json()["lastSeen"] is None
    assert_no_password(response, user)
    assert jwt_of(response)
    check = api.call("get", "/api/auth/check")
    assert check.status_code == 200
    assert check.json()["_id"] == str(user.pk)


def test_signup_stores_email_lower_case_and_tidies_the_name(api, db):
    """Emails are stored lower-case and trimmed; runs of spaces in a name collapse."""
    body = {"fullName": "  Ann   Lee ", "email": "  Ann@Example.COM ", "password": "secret1"}
    response = api.call("post", SIGNUP, body)
    assert response.status_code == 201
    assert response.json()["email"] == "ann@example.com"
    assert response.json()["fullName"] == "Ann Lee"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"email": "ann@example.com", "password": "secret1"},
        {"fullName": "Ann", "password": "secret1"},
        {"fullName": "Ann", "email": "ann@example.com"},
        {"fullName": "   ", "email": "ann@example.com", "password": "secret1"},
        {"fullName": "Ann", "email": "", "password": "secret1"},
        {"fullName": "Ann", "email": "ann@example.com", "password": ""},
        {"fullName": None, "email": None, "password": None},
    ],
    ids=[
        "empty",
        "no-name",
        "no-email",
        "no-password",
        "blank-name",
        "blank-email",
        "blank-password",
        "nulls",
    ],
)
def test_missing_fields_are_refused(api, db, body):
    """Any missing or blank field: 400 "All fields are required", nobody created."""
    response = api.call("post", SIGNUP, body)
    assert response.status_code == 400
    assert response.json()["message"] == ALL_FIELDS_REQUIRED
    assert not User.objects.exists()
    assert "jwt" not in response.cookies


@pytest.mark.parametrize("password", ["a", "12345", "     "])
def test_short_password_is_refused(api, db, password):
    """Fewer than 6 characters: 400 with the contract's sentence."""
    response = api.call("post", SIGNUP, {**GOOD, "password": password})
    assert response.status_code == 400
    assert response.json()["message"] == PASSWORD_TOO_SHORT
    assert response.json()["errors"] == {"password": [PASSWORD_TOO_SHORT]}
    assert not User.objects.exists()


def test_six_characters_is_enough(api, db):
    """Exactly 6 characters is the minimum that passes."""
    assert api.call("post", SIGNUP, {**GOOD, "password": "123456"}).status_code == 201


def test_absurdly_long_password_is_refused(api, db):
    """A password over 1024 characters is refused (it only costs hashing time)."""
    response = api.call("post", SIGNUP, {**GOOD, "password": "x" * 1025})
    assert response.status_code == 400
    assert response.json()["message"] == PASSWORD_TOO_LONG


@pytest.mark.parametrize(
    "email",
    ["not-an-email", "ann@", "@example.com", "ann@@example.com", "ann example@example.com", "a@b"],
)
def test_invalid_email_is_refused(api, db, email):
    """A malformed email: 400 "Invalid email format"."""
    response = api.call("post", SIGNUP, {**GOOD, "email": email})
    assert response.status_code == 400
    assert response.json()["message"] == INVALID_EMAIL
    assert not User.objects.exists()


def test_overlong_email_is_refused(api, db):
    """An address longer than the column (254) is refused as invalid, not a 500."""
    email = "a" * 64 + "@" + ".".join(["b" * 60] * 4) + ".com"
    assert len(email) > 254
    response = api.call("post", SIGNUP, {**GOOD, "email": email})
    assert response.status_code == 400
    assert response.json()["message"] == INVALID_EMAIL


def test_overlong_name_is_refused(api, db):
    """Names over 100 characters: 400 with its own sentence."""
    response = api.call("post", SIGNUP, {**GOOD, "fullName": "A" * 101})
    assert response.status_code == 400
    assert response.json()["message"] == NAME_TOO_LONG


@pytest.mark.parametrize("email", ["ann@example.com", "ANN@example.com", " Ann@Example.Com "])
def test_existing_email_is_refused_case_insensitively(api, make_user, email):
    """The same address in any case: 400 "Email already exists", no second account."""
    make_user(email="ann@example.com")
    response = api.call("post", SIGNUP, {**GOOD, "email": email})
    assert response.status_code == 400
    assert response.json()["message"] == EMAIL_EXISTS
    assert User.objects.count() == 1


def test_signups_are_rate_limited_per_ip(api, db, settings):
    """Too many sign-ups from one address: 429 with Retry-After; another address still works."""
    settings.SIGNUP_RATE_PER_IP = 2
    for n in range(2):
        body = {**GOOD, "email": f"user{n}@example.com"}
        assert api.call("post", SIGNUP, body, REMOTE_ADDR="10.1.1.1").status_code == 201
    response = api.call(
        "post", SIGNUP, {**GOOD, "email": "late@example.com"}, REMOTE_ADDR="10.1.1.1"
    )
    assert response.status_code == 429
    assert response.json()["message"] == TOO_MANY_SIGNUPS
    assert 0 < int(response["Retry-After"]) <= 3600
    assert not User.objects.filter(email="late@example.com").exists()
    other = api.call("post", SIGNUP, {**GOOD, "email": "late@example.com"}, REMOTE_ADDR="10.2.2.2")
    assert other.status_code == 201


def test_invisible_characters_are_dropped_from_names(api, db):
    """Control characters and text-direction overrides never reach a stored name."""
    body = {**GOOD, "fullName": "\u202eAnn\u0000 \x1b[31mLee\t"}
    response = api.call("post", SIGNUP, body)
    assert response.status_code == 201
    assert response.json()["fullName"] == "Ann [31mLee"


def test_a_name_of_only_control_characters_is_missing(api, db):
    """A name with nothing visible counts as no name."""
    response = api.call("post", SIGNUP, {**GOOD, "fullName": "\u0000\u202e\x07\u200b\ufeff"})
    assert response.status_code == 400
    assert response.json()["message"] == ALL_FIELDS_REQUIRED
