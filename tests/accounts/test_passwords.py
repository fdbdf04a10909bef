"""Password storage and rules: long passwords, bcrypt_sha256, and PUT change-password."""

import pytest
from django.contrib.auth.hashers import BCryptSHA256PasswordHasher, identify_hasher
from django.utils.module_loading import import_string

import chatproject.settings as production_settings
from accounts.models import User
from accounts.services import ALL_FIELDS_REQUIRED, PASSWORD_TOO_SHORT, WRONG_PASSWORD
from tests.conftest import PASSWORD

LONG_ASCII = "Tr0ub4dor&3-" * 8 + "abcd"  # 100 characters
UTF8_73 = "é" * 36 + "!"  # 73 bytes in UTF-8: one past bcrypt's 72-byte limit


def _signup_then_login(api, password: str) -> User:  # noqa: ANN001
    email = "long@example.com"
    body = {"fullName": "Long Pass", "email": email, "password": password}
    assert api.call("post", "/api/auth/signup", body).status_code == 201
    response = api.call("post", "/api/auth/login", {"email": email, "password": password})
    assert response.status_code == 200
    return User.objects.get(email=email)


@pytest.mark.parametrize(
    "password", [LONG_ASCII, UTF8_73, "🔐" * 40], ids=["100-chars", "73-bytes", "160-bytes-emoji"]
)
def test_long_passwords_sign_up_and_log_in(api, db, password):
    """Passwords past bcrypt's 72 bytes work end to end and are stored as bcrypt_sha256."""
    assert len(LONG_ASCII) == 100 and len(UTF8_73.encode()) == 73
    user = _signup_then_login(api, password)
    assert user.password.startswith("bcrypt_sha256$")
    assert identify_hasher(user.password).algorithm == "bcrypt_sha256"


def test_bytes_after_the_72nd_still_count(api, db):
    """Plain bcrypt ignores everything past 72 bytes; here a different tail is a wrong password."""
    password = "a" * 72 + "-right"
    _signup_then_login(api, password)
    response = api.call(
        "post", "/api/auth/login", {"email": "long@example.com", "password": "a" * 72 + "-wrong"}
    )
    assert response.status_code == 400


def test_production_hashes_with_bcrypt_sha256_first():
    """The real settings (not the fast test hasher) put Django's BCryptSHA256PasswordHasher first,
    at its full strength (run on the hashing pool: accounts/hashing.py)."""
    first = import_string(production_settings.PASSWORD_HASHERS[0])
    assert issubclass(first, BCryptSHA256PasswordHasher)
    assert (first.algorithm, first.rounds) == ("bcrypt_sha256", BCryptSHA256PasswordHasher.rounds)
    hasher = first()
    hasher.rounds = 4  # same code path as production, without its deliberate slowness
    encoded = hasher.encode(UTF8_73, hasher.salt())
    assert hasher.verify(UTF8_73, encoded)
    assert not hasher.verify(UTF8_73[:-1] + "?", encoded)


def test_change_password_rules(login_client, alice):
    """Missing fields, a wrong current password and a short new one: 400 and nothing changes."""
    client = login_client(alice)
    cases = [
        ({}, ALL_FIELDS_REQUIRED),
        ({"currentPassword": PASSWORD}, ALL_FIELDS_REQUIRED),
        ({"currentPassword": "wrong-password", "newPassword": "long-enough"}, WRONG_PASSWORD),
        ({"currentPassword": PASSWORD, "newPassword": "short"}, PASSWORD_TOO_SHORT),
    ]
    for body, message in cases:
        response = client.call("put", "/api/auth/change-password", body)
        assert response.status_code == 400, body
        assert response.json()["message"] == message
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_change_password_needs_a_login(api, alice):
    """Without a cookie: 401, and the password is untouched."""
    response = api.call(
        "put", "/api/auth/change-password", {"currentPassword": PASSWORD, "newPassword": "x" * 10}
    )
    assert response.status_code == 401
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_change_password_to_a_long_one(login_client, alice):
    """A 73-byte password works as a new password too."""
    response = login_client(alice).call(
        "put", "/api/auth/change-password", {"currentPassword": PASSWORD, "newPassword": UTF8_73}
    )
    assert response.status_code == 200
    alice.refresh_from_db()
    assert alice.check_password(UTF8_73)
    assert alice.password.startswith("bcrypt_sha256$")
