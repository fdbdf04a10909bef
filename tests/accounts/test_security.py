"""Cross-site writes, hostile request bodies, and leaks: the API's security defaults."""

import json

import pytest

from accounts.models import User
from chatproject.middleware import CROSS_SITE_WRITE
from tests.accounts import images
from tests.accounts.conftest import FOREIGN_ORIGIN, SAME_ORIGIN, assert_no_password
from tests.conftest import PASSWORD, ApiClient


# --- cross-site writes --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_ORIGIN": FOREIGN_ORIGIN},
        {"HTTP_ORIGIN": "null"},  # sandboxed iframes and file:// pages
        {"HTTP_ORIGIN": "http://testserver.evil.example"},
        {"HTTP_SEC_FETCH_SITE": "cross-site"},
    ],
    ids=["foreign-origin", "null-origin", "lookalike-origin", "sec-fetch-site"],
)
def test_cross_site_cookie_writes_are_refused(login_client, alice, headers):
    """A write started by another site: 403 JSON, and nothing happens."""
    client = login_client(alice)
    update = client.call("put", "/api/auth/update-profile", {"fullName": "Pwned"}, **headers)
    assert update.status_code == 403
    assert update.json() == {"message": CROSS_SITE_WRITE}
    logout = client.call("post", "/api/auth/logout", **headers)
    assert logout.status_code == 403
    alice.refresh_from_db()
    assert alice.full_name == "Alice Martin"
    assert client.call("get", "/api/auth/check").status_code == 200  # still logged in


def test_cross_site_login_is_refused(api, alice):
    """Login CSRF (logging the victim into the attacker's account) is refused too."""
    body = {"email": "alice@example.com", "password": PASSWORD}
    response = api.call("post", "/api/auth/login", body, HTTP_ORIGIN=FOREIGN_ORIGIN)
    assert response.status_code == 403
    assert "jwt" not in response.cookies


def test_same_origin_client_without_csrf_token_works(alice):
    """The seed's React client sends Origin but no CSRF token: every auth call works."""
    client = ApiClient(enforce_csrf_checks=True)
    same = {"HTTP_ORIGIN": SAME_ORIGIN, "HTTP_SEC_FETCH_SITE": "same-origin"}
    login = client.call(
        "post", "/api/auth/login", {"email": alice.email, "password": PASSWORD}, **same
    )
    assert login.status_code == 200
    update = client.call("put", "/api/auth/update-profile", {"fullName": "Alice B"}, **same)
    assert update.status_code == 200
    assert client.call("put", "/api/auth/theme", {"theme": "dark"}, **same).status_code == 200
    assert client.call("post", "/api/auth/logout", **same).status_code == 200
    signup = client.call(
        "post",
        "/api/auth/signup",
        {"fullName": "Cat", "email": "cat@example.com", "password": "secret1"},
        **same,
    )
    assert signup.status_code == 201


def test_clients_without_origin_work(login_client, alice):
    """Scripts and mobile apps send no Origin header; they are not browsers, so no CSRF risk."""
    client = login_client(alice)
    client.handler.enforce_csrf_checks = True
    assert (
        client.call("put", "/api/auth/update-profile", {"fullName": "Scripted"}).status_code == 200
    )


def test_trusted_origins_may_write(login_client, alice, settings):
    """An origin listed in DJANGO_CSRF_TRUSTED_ORIGINS (a separate front-end) is allowed."""
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.example.com"]
    response = login_client(alice).call(
        "put",
        "/api/auth/update-profile",
        {"fullName": "Trusted"},
        HTTP_ORIGIN="https://app.example.com",
    )
    assert response.status_code == 200


def test_cross_site_reads_get_no_cors_grant(login_client, alice):
    """A foreign page may send a GET, but no CORS header lets it read the answer."""
    response = login_client(alice).call("get", "/api/auth/check", HTTP_ORIGIN=FOREIGN_ORIGIN)
    assert "Access-Control-Allow-Origin" not in response.headers


# --- hostile bodies -----------------------------------------------------------------------------
ENDPOINTS = [
    ("post", "/api/auth/signup"),
    ("post", "/api/auth/login"),
    ("put", "/api/auth/update-profile"),
    ("put", "/api/auth/change-password"),
    ("put", "/api/auth/theme"),
]
RAW_BODIES = {
    "truncated-json": b'{"email": "a@b.c", "password": ',
    "not-json": b"email=a@b.c&password=x",
    "json-array": b'["a@b.c", "secret1"]',
    "json-string": b'"hello"',
    "json-number": b"42",
    "json-null": b"null",
    "not-utf8": b'{"email": "\xff\xfe"}',
    "nul-bytes": b'{"email": "a\\u0000@b.c", "password": "x\\u0000y", "fullName": "\\u0000"}',
    "deeply-nested": b"[" * 5000 + b"]" * 5000,
}
WRONG_TYPES = {
    "numbers": {"email": 5, "password": 123456, "fullName": 7, "profilePic": 1, "theme": 3},
    "lists": {"email": ["a@b.c"], "password": ["x"], "fullName": ["A"], "profilePic": ["x"]},
    "objects": {"email": {"a": 1}, "password": {}, "fullName": {"x": "y"}, "currentPassword": {}},
    "booleans": {"email": True, "password": False, "newPassword": True, "theme": True},
}


@pytest.mark.parametrize("method,path", ENDPOINTS)
@pytest.mark.parametrize("raw", RAW_BODIES.values(), ids=RAW_BODIES.keys())
def test_malformed_bodies_get_400_json(login_client, alice, method, path, raw):
    """Whatever the body, the answer is a 4xx JSON error, never a 500 or HTML."""
    client = login_client(alice)
    response = getattr(client, method)(path, raw, content_type="application/json")
    assert 400 <= response.status_code < 500
    assert response["Content-Type"].startswith("application/json")
    assert isinstance(response.json()["message"], str)


@pytest.mark.parametrize("method,path", ENDPOINTS)
@pytest.mark.parametrize("body", WRONG_TYPES.values(), ids=WRONG_TYPES.keys())
def test_wrong_field_types_get_400_json(login_client, alice, method, path, body):
    """Numbers, lists, objects or booleans where strings belong: 400 JSON naming the field."""
    client = login_client(alice)
    response = client.call(method, path, body)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["message"]
    alice.refresh_from_db()
    assert alice.full_name == "Alice Martin"


def test_nul_bytes_never_become_an_account(api, db):
    """A NUL byte inside an email is an invalid email, not a 500 or a stored account."""
    body = {"fullName": "Nul", "email": "a\u0000@b.cd", "password": "secret1"}
    response = api.call("post", "/api/auth/signup", body)
    assert response.status_code == 400
    assert not User.objects.exists()


def test_unknown_api_path_is_json_404(api, db):
    """Paths under /api/ that do not exist answer JSON, not an HTML page."""
    response = api.call("get", "/api/auth/nope")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")


def test_wrong_method_is_json(api, db):
    """A GET to a POST-only endpoint answers 405 JSON."""
    response = api.call("get", "/api/auth/login")
    assert response.status_code == 405


# --- leaks --------------------------------------------------------------------------------------
def test_no_response_ever_contains_the_password_hash(api, db, media_root):
    """Sign-up, login, check, profile, theme and password change: no hash, no password field."""
    body = {"fullName": "Dana", "email": "dana@example.com", "password": "secret1"}
    responses = [api.call("post", "/api/auth/signup", body)]
    user = User.objects.get(email="dana@example.com")
    responses += [
        api.call("post", "/api/auth/login", {"email": user.email, "password": "secret1"}),
        api.call("get", "/api/auth/check"),
        api.call("get", "/api/auth/check-auth"),
        api.call(
            "put", "/api/auth/update-profile", {"profilePic": images.data_url(images.picture())}
        ),
        api.call("put", "/api/auth/theme", {"theme": "forest"}),
        api.call(
            "put",
            "/api/auth/change-password",
            {"currentPassword": "secret1", "newPassword": "secret2"},
        ),
    ]
    for response in responses:
        assert response.status_code in (200, 201), response.content
        assert_no_password(response, user)
        assert "token_version" not in json.dumps(response.json())


def test_api_docs_are_served(api, db):
    """The OpenAPI schema lists the auth endpoints."""
    schema = api.get("/api/openapi.json").json()
    assert "/api/auth/signup" in schema["paths"]
    assert "/api/auth/check-auth" in schema["paths"]
