"""Rotating JWT_SECRET: tokens signed with JWT_PREVIOUS_SECRETS still verify until removed."""

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from accounts.auth import INVALID_TOKEN
from accounts.checks import JWT_PREVIOUS_SECRET_WEAK, JWT_SECRET_WEAK, check_jwt_secret
from tests.accounts.conftest import jwt_of
from tests.conftest import PASSWORD, ApiClient

CHECK = "/api/auth/check"
NEW = "the-new-secret-after-rotation-0123456789abcdefghij"
OLD = "the-old-secret-before-rotation-9876543210zyxwvuts"
OLDER = "an-even-older-secret-from-last-year-AbCdEfGhIjKlMn"


@pytest.fixture
def rotated(settings):  # noqa: ANN001, ANN201
    """JWT_SECRET changed to NEW, the secrets before it kept for verification."""
    settings.JWT_SECRET = NEW
    settings.JWT_PREVIOUS_SECRETS = [OLD, OLDER]
    return settings


def _token(user, secret: str, **changes: object) -> str:  # noqa: ANN001
    now = datetime.now(tz=UTC)
    claims = {
        "sub": str(user.pk),
        "ver": user.token_version,
        "iat": now,
        "exp": now + timedelta(days=7),
        **changes,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def _check(token: str):  # noqa: ANN202
    client = ApiClient()
    client.cookies["jwt"] = token
    return client.call("get", CHECK)


@pytest.mark.parametrize("secret", [OLD, OLDER])
def test_tokens_signed_with_a_previous_secret_still_work(rotated, alice, secret):
    """After a rotation nobody is logged out: old cookies verify against JWT_PREVIOUS_SECRETS."""
    response = _check(_token(alice, secret))
    assert response.status_code == 200
    assert response.json()["_id"] == str(alice.pk)


def test_new_tokens_are_signed_with_the_current_secret_only(rotated, api, alice):
    """A login after the rotation gets a token that verifies with JWT_SECRET and no other."""
    token = jwt_of(
        api.call("post", "/api/auth/login", {"email": alice.email, "password": PASSWORD})
    )
    assert jwt.decode(token, NEW, algorithms=["HS256"])["sub"] == str(alice.pk)
    for secret in (OLD, OLDER):
        with pytest.raises(jwt.InvalidSignatureError):
            jwt.decode(token, secret, algorithms=["HS256"])


def test_a_token_signed_with_an_unknown_secret_is_refused(rotated, alice):
    """A secret that is neither current nor listed as previous: 401."""
    response = _check(_token(alice, "never-configured-secret-0123456789abcdefghijkl"))
    assert response.status_code == 401
    assert response.json() == {"message": INVALID_TOKEN}


def test_removing_a_previous_secret_ends_its_tokens(rotated, alice):
    """Once the old secret is dropped from JWT_PREVIOUS_SECRETS its tokens stop working."""
    token = _token(alice, OLD)
    rotated.JWT_PREVIOUS_SECRETS = [OLDER]
    assert _check(token).status_code == 401


def test_old_secret_tokens_still_expire_and_get_revoked(rotated, alice):
    """A previous secret only vouches for the signature: expiry and revocation still apply."""
    expired = _token(alice, OLD, exp=datetime.now(tz=UTC) - timedelta(seconds=1))
    stale = _token(alice, OLD, ver=alice.token_version + 1)
    assert _check(expired).status_code == 401
    assert _check(stale).status_code == 401


def test_deploy_check_flags_a_weak_previous_secret(settings):
    """`check --deploy` warns about a short previous secret, and says nothing of strong ones."""
    settings.JWT_SECRET = NEW
    settings.JWT_PREVIOUS_SECRETS = [OLD, "hunter2"]
    ids = [problem.id for problem in check_jwt_secret()]
    assert ids == [JWT_PREVIOUS_SECRET_WEAK]
    assert "entry 2" in check_jwt_secret()[0].msg  # names which one, never the secret itself
    assert "hunter2" not in check_jwt_secret()[0].msg
    settings.JWT_PREVIOUS_SECRETS = [OLD]
    assert check_jwt_secret() == []
    settings.JWT_SECRET = "weak"
    assert [problem.id for problem in check_jwt_secret()] == [JWT_SECRET_WEAK]
