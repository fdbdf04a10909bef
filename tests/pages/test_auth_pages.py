"""Sign up, log in and log out through the HTML forms (no JavaScript needed)."""

import pytest
from django.test import Client

from accounts import services
from accounts.models import User
from accounts.tokens import token_issue, token_user
from accounts.views import LOGGED_OUT
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def signup(client, **fields):
    data = {"full_name": "Ann Lee", "email": "ann@example.com", "password": "secret1", **fields}
    return client.post("/signup/", data)


def test_sign_up_creates_the_account_logs_in_and_opens_the_chat(client):
    response = signup(client, email="Ann@Example.COM")
    assert response.status_code == 302
    assert response["Location"] == "/"
    user = User.objects.get(email="ann@example.com")
    cookie = response.cookies["jwt"]
    assert token_user(cookie.value) == user
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    chat = client.get("/")
    assert chat.status_code == 200
    assert "Ann Lee" in chat.content.decode()


def test_empty_sign_up_says_all_fields_are_required_on_each_field(client, parse):
    response = client.post("/signup/", {})
    assert response.status_code == 400
    page = parse(response)
    assert services.ALL_FIELDS_REQUIRED in page.text
    for label in ("Full name", "Email", "Password"):
        assert f"{label} is required" in page.text
    assert len(page.find("input", aria_invalid="true")) == 3
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("fields", "sentence", "field_id"),
    [
        ({"email": "not-an-email"}, services.INVALID_EMAIL, "id_email"),
        ({"password": "12345"}, services.PASSWORD_TOO_SHORT, "id_password"),
        ({"password": "x" * 1025}, services.PASSWORD_TOO_LONG, "id_password"),
        ({"full_name": "N" * 101}, services.NAME_TOO_LONG, "id_full_name"),
    ],
)
def test_sign_up_rules_and_sentences_are_the_apis(client, parse, fields, sentence, field_id):
    response = signup(client, **fields)
    assert response.status_code == 400
    page = parse(response)
    assert sentence in page.text
    field = page.find("input", id=field_id)[0]
    assert field["aria-invalid"] == "true"
    assert f"{field_id}_error" in field["aria-describedby"]
    assert "autofocus" in field  # the keyboard lands on the field to fix
    assert not User.objects.exists()


def test_an_email_taken_in_any_case_is_refused(client, alice, parse):
    response = signup(client, email="ALICE@example.com")
    assert response.status_code == 400
    assert services.EMAIL_EXISTS in parse(response).text


def test_a_refused_form_keeps_what_was_typed_except_the_password(client, parse):
    page = parse(signup(client, email="nope", password="secret-password"))
    assert page.find("input", id="id_full_name")[0]["value"] == "Ann Lee"
    assert page.find("input", id="id_email")[0]["value"] == "nope"
    assert "value" not in page.find("input", id="id_password")[0]


def test_sign_up_is_rate_limited_per_address(client, settings, parse):
    settings.SIGNUP_RATE_PER_IP = 1
    assert signup(client).status_code == 302
    response = signup(Client(), email="second@example.com")
    assert response.status_code == 429
    assert response["Retry-After"]
    assert services.TOO_MANY_SIGNUPS in parse(response).text


def test_log_in_with_any_email_case_then_land_on_next(client, alice):
    response = client.post(
        "/login/", {"email": "ALICE@example.com", "password": PASSWORD, "next": "/profile/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/profile/"
    assert token_user(response.cookies["jwt"].value) == alice


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"]
)
def test_next_never_leaves_the_site(client, alice, target):
    response = client.post("/login/", {"email": alice.email, "password": PASSWORD, "next": target})
    assert response["Location"] == "/"


def test_login_keeps_next_from_the_redirect(client, parse):
    response = client.get("/profile/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/profile/"
    page = parse(client.get(response["Location"]))
    assert page.find("input", name="next")[0]["value"] == "/profile/"


@pytest.mark.parametrize("email", ["alice@example.com", "nobody@example.com"])
def test_wrong_password_and_unknown_email_get_the_same_answer(client, alice, parse, email):
    response = client.post("/login/", {"email": email, "password": "wrong-password"})
    assert response.status_code == 400
    assert services.INVALID_CREDENTIALS in parse(response).text
    assert "jwt" not in response.cookies


def test_login_is_rate_limited_per_account(client, alice, settings, parse):
    settings.LOGIN_RATE_PER_ACCOUNT = 2
    for _ in range(2):
        client.post("/login/", {"email": alice.email, "password": "wrong-password"})
    response = client.post("/login/", {"email": alice.email, "password": PASSWORD})
    assert response.status_code == 429
    assert response["Retry-After"]
    assert services.TOO_MANY_ATTEMPTS in parse(response).text


def test_logged_in_people_skip_the_login_and_signup_pages(page_client, alice):
    client = page_client(alice)
    assert client.get("/login/")["Location"] == "/"
    assert client.get("/signup/")["Location"] == "/"


def test_log_out_clears_the_cookie_and_revokes_the_token(page_client, alice, parse):
    client = page_client(alice)
    token = client.cookies["jwt"].value
    response = client.post("/logout/", follow=True)
    assert response.redirect_chain == [("/login/", 302)]
    assert LOGGED_OUT in parse(response).text
    assert client.cookies["jwt"].value == ""
    assert token_user(token) is None  # a copied cookie is useless now
    stolen = page_client()
    stolen.cookies["jwt"] = token
    assert stolen.get("/")["Location"] == "/login/?next=/"


def test_log_out_is_a_post_only(page_client, alice):
    client = page_client(alice)
    assert client.get("/logout/").status_code == 405
    assert client.get("/").status_code == 200


def test_an_expired_or_forged_cookie_sends_people_to_log_in(page_client, alice, settings):
    client = page_client()
    client.cookies["jwt"] = token_issue(alice)[:-4] + "AAAA"
    assert client.get("/")["Location"] == "/login/?next=/"
    assert settings.LOGIN_URL == "/login/"
