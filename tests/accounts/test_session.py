"""GET check / check-auth, POST logout and PUT theme."""

import pytest

from accounts.api import LOGGED_OUT
from accounts.auth import INVALID_TOKEN, NO_TOKEN
from accounts.services import THEMES, UNKNOWN_THEME
from tests.accounts.conftest import assert_no_password, assert_user_json


@pytest.mark.parametrize("path", ["/api/auth/check", "/api/auth/check-auth"])
def test_check_returns_the_logged_in_user(login_client, alice, path):
    """Both spellings answer 200 with the User of the cookie, online (lastSeen null)."""
    response = login_client(alice).call("get", path)
    assert response.status_code == 200
    assert_user_json(response.json(), alice)
    assert response.json()["lastSeen"] is None
    assert_no_password(response, alice)


@pytest.mark.parametrize("path", ["/api/auth/check", "/api/auth/check-auth"])
def test_check_without_cookie_is_401(api, db, path):
    """No cookie: 401 JSON."""
    response = api.call("get", path)
    assert response.status_code == 401
    assert response.json() == {"message": NO_TOKEN}


def test_empty_cookie_is_401(api, db):
    """An empty `jwt` cookie (what logout leaves behind) counts as no token."""
    api.cookies["jwt"] = ""
    assert api.call("get", "/api/auth/check").json() == {"message": NO_TOKEN}


def test_logout_clears_the_cookie(login_client, alice):
    """200 with the seed's message; the cookie is emptied and expired with the same flags."""
    client = login_client(alice)
    response = client.call("post", "/api/auth/logout")
    assert response.status_code == 200
    assert response.json() == {"message": LOGGED_OUT}
    morsel = response.cookies["jwt"]
    assert morsel.value == ""
    assert int(morsel["max-age"]) == 0
    assert morsel["expires"].endswith("1970 00:00:00 GMT")
    assert (morsel["samesite"], morsel["path"], morsel["httponly"], morsel["secure"]) == (
        "Strict",
        "/",
        True,
        True,
    )
    assert client.call("get", "/api/auth/check").status_code == 401


def test_logout_without_a_session_still_succeeds(api, db):
    """Logging out with no or a bad cookie is not an error: the person wants out."""
    assert api.call("post", "/api/auth/logout").json() == {"message": LOGGED_OUT}
    api.cookies["jwt"] = "garbage"
    response = api.call("post", "/api/auth/logout")
    assert response.status_code == 200
    assert response.cookies["jwt"].value == ""


def test_revoked_cookie_says_invalid_token(login_client, alice):
    """After logout, the old cookie is refused as an invalid token."""
    client = login_client(alice)
    stale = client.cookies["jwt"].value
    client.call("post", "/api/auth/logout")
    client.cookies["jwt"] = stale
    assert client.call("get", "/api/auth/check").json() == {"message": INVALID_TOKEN}


def test_theme_is_saved(login_client, alice):
    """A known theme is stored on the account."""
    response = login_client(alice).call("put", "/api/auth/theme", {"theme": "dark"})
    assert response.status_code == 200
    assert_user_json(response.json(), alice)
    alice.refresh_from_db()
    assert alice.theme == "dark"
    assert "dark" in THEMES


@pytest.mark.parametrize("theme", ["neon", "", None, "DARK"])
def test_unknown_theme_is_refused(login_client, alice, theme):
    """An unknown theme: 400 and the old theme stays."""
    response = login_client(alice).call("put", "/api/auth/theme", {"theme": theme})
    assert response.status_code == 400
    assert response.json()["message"] == UNKNOWN_THEME
    alice.refresh_from_db()
    assert alice.theme == "light"
