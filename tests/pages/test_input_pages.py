"""Form posts and query strings that aren't UTF-8 get a 400 page naming the field, never a 500.

Django itself decodes them with errors="replace", so without the check a name sent as
`%ED%A0%80` (an encoded lone surrogate) would be stored as "���".
"""

import pytest

from accounts.models import User
from chatproject.text import INVALID_TEXT

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"


def post_form(client, path: str, body: bytes, content_type: str = FORM):
    return client.post(path, body, content_type=content_type)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"full_name=%ED%A0%80&email=ann%40example.com&password=secret12", "full_name"),
        (b"full_name=Ann&email=ann%40example.com&password=secret%FF", "password"),
        (b"full_name=Ann\xff&email=ann%40example.com&password=secret12", "full_name"),
    ],
    ids=["encoded surrogate", "percent-escaped bad byte", "raw bad byte"],
)
def test_sign_up_with_text_that_is_not_utf8_is_a_400_page_and_no_account(
    client, parse, body, field
):
    """The sign-up form refuses the post instead of storing replacement characters."""
    response = post_form(client, "/signup/", body)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert f"{INVALID_TEXT}: {field}" in parse(response).text
    assert not User.objects.exists()
    assert "jwt" not in response.cookies


def test_log_in_with_a_password_that_is_not_utf8_is_a_400_page_naming_it(client, parse, alice):
    response = post_form(client, "/login/", b"email=alice%40example.com&password=%ED%A0%80abc")
    assert response.status_code == 400
    assert f"{INVALID_TEXT}: password" in parse(response).text


def test_password_change_with_text_that_is_not_utf8_is_a_400_page(page_client, parse, alice):
    body = b"current_password=%ED%A0%80&new_password=another-secret"
    response = post_form(page_client(alice), "/settings/password/", body)
    assert response.status_code == 400
    assert f"{INVALID_TEXT}: current_password" in parse(response).text


def test_a_query_string_that_is_not_utf8_is_a_400_page_naming_the_parameter(client, parse):
    response = client.get("/login/?next=%ED%A0%80")
    assert response.status_code == 400
    assert f"{INVALID_TEXT}: next" in parse(response).text


def test_a_form_in_another_charset_is_refused_by_django_not_a_500(client, alice):
    """Guard: a declared charset that could decode to surrogates is Django's own 400."""
    body = b"email=alice%40example.com&password=%5Cud800abc"
    response = post_form(client, "/login/", body, f"{FORM}; charset=unicode_escape")
    assert response.status_code == 400
