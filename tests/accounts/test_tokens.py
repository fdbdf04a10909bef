"""The `jwt` cookie: its flags, what a token holds, forged tokens, and revocation."""

import base64
import functools
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings

from accounts.auth import INVALID_TOKEN, NO_TOKEN
from accounts.models import User
from accounts.services import WRONG_PASSWORD, user_revoke_tokens
from accounts.tokens import token_issue
from tests.accounts.conftest import jwt_of
from tests.conftest import PASSWORD, ApiClient

CHECK = "/api/auth/check"
SEVEN_DAYS = 7 * 24 * 3600


def _status_with(token: str, path: str = CHECK) -> tuple[int, dict]:
    client = ApiClient()
    client.cookies["jwt"] = token
    response = client.call("get", path)
    return response.status_code, response.json()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(user: User, **changes: object) -> dict:
    now = datetime.now(tz=UTC)
    claims = {
        "sub": str(user.pk),
        "ver": user.token_version,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(days=7)).timestamp()),
    }
    for key, value in changes.items():
        if value is ...:
            claims.pop(key)
        else:
            claims[key] = value
    return claims


def _hs256(claims: dict, key: str | bytes = "") -> str:
    return jwt.encode(claims, key or settings.JWT_SECRET, algorithm="HS256")


def _raw_token(header: dict, claims: dict, sign: bytes | None) -> str:
    """Assemble a token by hand: PyJWT refuses to build some of these lies."""
    signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
    signature = hmac.new(sign, signing_input.encode(), hashlib.sha256).digest() if sign else b""
    return f"{signing_input}.{_b64url(signature)}"


# --- the cookie ----------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/api/auth/login", "/api/auth/signup"])
def test_cookie_flags(api, alice, path):
    """HttpOnly, SameSite=Strict, Secure outside debug, whole site, 7 days."""
    body = {"email": "alice@example.com", "password": PASSWORD}
    if path.endswith("signup"):
        body = {"fullName": "Newcomer", "email": "new@example.com", "password": "secret1"}
    morsel = api.call("post", path, body).cookies["jwt"]
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Strict"
    assert settings.DEBUG is False and morsel["secure"] is True
    assert morsel["path"] == "/"
    assert int(morsel["max-age"]) == SEVEN_DAYS


def test_issued_token_is_hs256_with_the_required_claims(api, alice):
    """HS256, `sub` the user id as a string, `iat`, and `exp` seven days later."""
    token = jwt_of(
        api.call("post", "/api/auth/login", {"email": alice.email, "password": PASSWORD})
    )
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(token, settings.JWT_SECRET, algorithms=["HS256"])
    assert claims["sub"] == str(alice.pk)
    assert claims["exp"] - claims["iat"] == SEVEN_DAYS


def test_no_cookie_is_unauthorized(api, db):
    """No cookie: 401 with the seed's sentence."""
    response = api.call("get", CHECK)
    assert response.status_code == 401
    assert response.json() == {"message": NO_TOKEN}


def test_token_elsewhere_than_the_cookie_is_ignored(api, alice):
    """Only the cookie counts; a bearer header with a valid token is not accepted."""
    response = api.call("get", CHECK, HTTP_AUTHORIZATION=f"Bearer {token_issue(alice)}")
    assert response.status_code == 401


def test_a_genuine_token_works(alice):
    """The control case for the forgeries below."""
    assert _status_with(_hs256(_claims(alice)))[0] == 200


# --- forged, broken and stale tokens ------------------------------------------------------------
@functools.cache
def _rsa_private_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _rsa_public_pem(private_pem: bytes) -> bytes:
    key = serialization.load_pem_private_key(private_pem, password=None)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


FORGERIES = {
    "alg-none": lambda u: jwt.encode(_claims(u), None, algorithm="none"),
    "alg-none-by-hand": lambda u: _raw_token({"alg": "none", "typ": "JWT"}, _claims(u), None),
    "hs512-right-key": lambda u: jwt.encode(_claims(u), settings.JWT_SECRET, algorithm="HS512"),
    "hs384-right-key": lambda u: jwt.encode(_claims(u), settings.JWT_SECRET, algorithm="HS384"),
    "rs256-own-key": lambda u: jwt.encode(_claims(u), _rsa_private_pem(), algorithm="RS256"),
    # Key confusion: HS256 "signed" with an RSA public key, as if the server verified with it.
    "hs256-signed-with-public-key": lambda u: _raw_token(
        {"alg": "HS256", "typ": "JWT"}, _claims(u), _rsa_public_pem(_rsa_private_pem())
    ),
    "rs256-header-hmac-signature": lambda u: _raw_token(
        {"alg": "RS256", "typ": "JWT"}, _claims(u), settings.JWT_SECRET.encode()
    ),
    "wrong-key": lambda u: _hs256(_claims(u), "another-secret-that-is-long-enough-0123456789"),
    "no-exp": lambda u: _hs256(_claims(u, exp=...)),
    "expired": lambda u: _hs256(
        _claims(u, iat=int(datetime.now(UTC).timestamp()) - 8 * 86400, exp=1_600_000_000)
    ),
    "expired-a-second-ago": lambda u: _hs256(
        _claims(u, exp=int(datetime.now(UTC).timestamp()) - 1)
    ),
    "no-iat": lambda u: _hs256(_claims(u, iat=...)),
    "iat-in-the-future": lambda u: _hs256(
        _claims(u, iat=int((datetime.now(UTC) + timedelta(days=1)).timestamp()))
    ),
    "no-sub": lambda u: _hs256(_claims(u, sub=...)),
    "sub-is-a-number": lambda u: _raw_token(
        {"alg": "HS256", "typ": "JWT"}, _claims(u, sub=u.pk), settings.JWT_SECRET.encode()
    ),
    "sub-is-a-list": lambda u: _raw_token(
        {"alg": "HS256", "typ": "JWT"}, _claims(u, sub=[str(u.pk)]), settings.JWT_SECRET.encode()
    ),
    "sub-not-an-id": lambda u: _hs256(_claims(u, sub="../admin")),
    "sub-unknown-user": lambda u: _hs256(_claims(u, sub="987654321")),
    "sub-huge-number": lambda u: _hs256(_claims(u, sub="9" * 40)),
    "no-version": lambda u: _hs256(_claims(u, ver=...)),
    "stale-version": lambda u: _hs256(_claims(u, ver=u.token_version + 1)),
    "version-string": lambda u: _hs256(_claims(u, ver="0")),
    "not-a-jwt": lambda u: "definitely-not-a-token",
    "two-segments": lambda u: ".".join(_hs256(_claims(u)).split(".")[:2]),
    "truncated-signature": lambda u: _hs256(_claims(u))[:-4],
}


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # HS384/HS512
@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
def test_forged_or_broken_token_is_unauthorized(alice, forge):
    """Every forged, expired, malformed or stale token: 401 "Unauthorized - Invalid Token"."""
    status, body = _status_with(forge(alice))
    assert status == 401
    assert body == {"message": INVALID_TOKEN}


def test_version_must_be_an_integer_not_a_boolean(alice):
    """`"ver": true` is not version 1 (bool is an int subclass in Python)."""
    User.objects.filter(pk=alice.pk).update(token_version=1)
    alice.refresh_from_db()
    assert _status_with(_hs256(_claims(alice)))[0] == 200
    assert _status_with(_hs256(_claims(alice, ver=True))) == (401, {"message": INVALID_TOKEN})


def test_edited_payload_is_unauthorized(alice, bob):
    """Swapping the payload of Alice's real token for one naming Bob breaks the signature."""
    header, _, signature = token_issue(alice).split(".")
    payload = _b64url(json.dumps(_claims(bob)).encode())
    status, body = _status_with(f"{header}.{payload}.{signature}")
    assert (status, body) == (401, {"message": INVALID_TOKEN})
    assert _status_with(token_issue(bob))[0] == 200  # Bob's own token is fine


def test_token_of_a_deactivated_user_is_unauthorized(alice):
    """Deactivating an account (even without revoking) makes its token useless."""
    token = token_issue(alice)
    User.objects.filter(pk=alice.pk).update(is_active=False)
    assert _status_with(token)[0] == 401


def test_token_of_a_deleted_user_is_unauthorized(alice):
    """A deleted account's token is refused, not a 500."""
    token = token_issue(alice)
    alice.delete()
    assert _status_with(token) == (401, {"message": INVALID_TOKEN})


@pytest.mark.parametrize(
    "method,path,body",
    [
        ("get", "/api/auth/check-auth", None),
        ("put", "/api/auth/update-profile", {"fullName": "X"}),
        ("put", "/api/auth/change-password", {"currentPassword": "a", "newPassword": "b"}),
        ("put", "/api/auth/theme", {"theme": "dark"}),
    ],
)
def test_protected_endpoints_refuse_forged_tokens(alice, method, path, body):
    """Every authenticated endpoint uses the same check."""
    client = ApiClient()
    client.cookies["jwt"] = FORGERIES["alg-none"](alice)
    response = client.call(method, path, body)
    assert response.status_code == 401
    assert response.json() == {"message": INVALID_TOKEN}
    alice.refresh_from_db()
    assert alice.full_name == "Alice Martin"


# --- revocation ---------------------------------------------------------------------------------
def _logged_in(user: User) -> tuple[ApiClient, str]:
    client = ApiClient()
    response = client.call("post", "/api/auth/login", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 200
    return client, jwt_of(response)


def test_logout_revokes_every_token_of_the_user(alice, bob):
    """After logout the old cookie (kept by an attacker) and other devices' cookies are 401."""
    laptop, laptop_token = _logged_in(alice)
    phone, phone_token = _logged_in(alice)
    bob_client, _ = _logged_in(bob)
    response = laptop.call("post", "/api/auth/logout")
    assert response.status_code == 200
    assert _status_with(laptop_token) == (401, {"message": INVALID_TOKEN})
    assert _status_with(phone_token)[0] == 401
    assert phone.call("get", CHECK).status_code == 401
    assert bob_client.call("get", CHECK).status_code == 200  # other users are unaffected
    _, fresh = _logged_in(alice)  # logging in again works
    assert _status_with(fresh)[0] == 200


def test_password_change_revokes_old_tokens_and_sets_a_fresh_cookie(alice):
    """Old cookies stop working; the response's new cookie works; the new password logs in."""
    laptop, old_token = _logged_in(alice)
    _, phone_token = _logged_in(alice)
    response = laptop.call(
        "put",
        "/api/auth/change-password",
        {"currentPassword": PASSWORD, "newPassword": "brand-new-pass"},
    )
    assert response.status_code == 200
    assert response.json()["_id"] == str(alice.pk)
    new_token = jwt_of(response)
    assert new_token and new_token != old_token
    assert response.cookies["jwt"]["httponly"] is True
    assert _status_with(old_token) == (401, {"message": INVALID_TOKEN})
    assert _status_with(phone_token)[0] == 401
    assert _status_with(new_token)[0] == 200
    assert laptop.call("get", CHECK).status_code == 200  # the client kept the fresh cookie
    login = ApiClient().call
    old = login("post", "/api/auth/login", {"email": alice.email, "password": PASSWORD})
    new = login("post", "/api/auth/login", {"email": alice.email, "password": "brand-new-pass"})
    assert (old.status_code, new.status_code) == (400, 200)


def test_wrong_current_password_changes_nothing(alice):
    """A wrong current password: 400, the password and existing tokens stay as they were."""
    client, token = _logged_in(alice)
    response = client.call(
        "put", "/api/auth/change-password", {"currentPassword": "nope-nope", "newPassword": "x" * 8}
    )
    assert response.status_code == 400
    assert response.json()["message"] == WRONG_PASSWORD
    assert "jwt" not in response.cookies
    assert _status_with(token)[0] == 200


# --- The verified-token memory (accounts/tokens.py `verified`) ---------------------------------


def test_a_token_signature_is_checked_once_then_remembered(db, alice, monkeypatch):  # noqa: ANN001
    from accounts import tokens

    tokens.verified.clear()
    token = token_issue(alice)
    decoded = []
    real_decode = jwt.decode
    monkeypatch.setattr(jwt, "decode", lambda *a, **k: decoded.append(1) or real_decode(*a, **k))

    assert tokens.token_user(token) == alice
    assert tokens.token_user(token) == alice
    assert len(decoded) == 1


def test_a_remembered_token_still_expires_and_is_still_revoked(db, alice, monkeypatch):  # noqa: ANN001
    from accounts import tokens

    token = token_issue(alice)
    assert tokens.token_user(token) == alice  # remembered now

    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    monkeypatch.setattr(tokens.time, "time", lambda: exp)
    assert tokens.verified.get(token) is None  # forgotten at its expiry: PyJWT decides again
    monkeypatch.undo()

    fresh = token_issue(alice)
    assert tokens.token_user(fresh) == alice
    user_revoke_tokens(user=alice)  # "log out everywhere"
    assert tokens.token_user(fresh) is None  # remembered, and refused at once


def test_a_forged_token_is_never_remembered(db, alice):  # noqa: ANN001
    from accounts import tokens

    forged = jwt.encode(_claims(alice), "not-the-secret", algorithm="HS256")
    assert tokens.token_user(forged) is None
    assert tokens.verified.get(forged) is None
