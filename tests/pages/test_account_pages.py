"""Profile and settings pages: avatar, name, theme and password through plain forms."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts import services
from accounts.forms import FULL_NAME_REQUIRED
from accounts.tokens import token_user
from accounts.views import NOTHING_CHANGED, PASSWORD_CHANGED, PROFILE_SAVED, THEME_SAVED
from chatproject.images import NOT_AN_IMAGE, TOO_LARGE
from tests.accounts.images import picture
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_profile_shows_avatar_name_email_and_member_since(page_client, alice, parse):
    page = parse(page_client(alice).get("/profile/"))
    assert page.find("input", id="id_full_name")[0]["value"] == "Alice Martin"
    assert "alice@example.com" in page.text
    assert (
        f"Member since {alice.created_at:%B} {alice.created_at.day}, {alice.created_at.year}"
        in page.text
    )
    avatar = page.find("img", id="avatar-preview")[0]
    assert avatar["src"].endswith("img/avatar.svg")  # the default avatar
    assert page.find("form", id="profile-form")[0]["enctype"] == "multipart/form-data"


def test_profile_form_saves_a_new_name(page_client, alice, parse):
    client = page_client(alice)
    response = client.post("/profile/", {"full_name": "  Alice   Dupont "}, follow=True)
    assert response.redirect_chain == [("/profile/", 302)]
    assert PROFILE_SAVED in parse(response).text
    alice.refresh_from_db()
    assert alice.full_name == "Alice Dupont"


def test_profile_form_uploads_an_avatar(page_client, alice, parse):
    upload = SimpleUploadedFile("me.png", picture("PNG", (900, 600)), content_type="image/png")
    response = page_client(alice).post(
        "/profile/", {"full_name": "Alice Martin", "avatar": upload}, follow=True
    )
    assert PROFILE_SAVED in parse(response).text
    alice.refresh_from_db()
    assert alice.profile_pic.startswith("avatars/")
    header = parse(response).find("img", id="me-avatar")[0]
    assert alice.profile_pic in header["src"]


def test_profile_refuses_a_file_that_is_not_a_picture(page_client, alice, parse):
    upload = SimpleUploadedFile("evil.png", b"<script>alert(1)</script>", content_type="image/png")
    response = page_client(alice).post("/profile/", {"full_name": "Alice", "avatar": upload})
    assert response.status_code == 400
    assert NOT_AN_IMAGE in parse(response).text
    alice.refresh_from_db()
    assert alice.profile_pic == "" and alice.full_name == "Alice Martin"  # nothing half-saved


def test_profile_refuses_a_picture_over_the_limit_before_reading_it(
    page_client, alice, parse, settings
):
    settings.IMAGE_MAX_BYTES = 1000
    upload = SimpleUploadedFile("big.png", b"x" * 1001, content_type="image/png")
    response = page_client(alice).post("/profile/", {"avatar": upload})
    assert response.status_code == 400
    assert TOO_LARGE in parse(response).text


def test_profile_form_is_rate_limited_like_the_api(page_client, alice, parse, settings):
    """The page goes through the same service: past PROFILE_UPDATE_RATE_PER_USER, 429 with
    Retry-After and the reason on the form; the name is not changed."""
    settings.PROFILE_UPDATE_RATE_PER_USER = 1
    client = page_client(alice)
    assert client.post("/profile/", {"full_name": "Alice One"}).status_code == 302
    response = client.post("/profile/", {"full_name": "Alice Two"})
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert services.TOO_MANY_PROFILE_UPDATES in parse(response).text
    alice.refresh_from_db()
    assert alice.full_name == "Alice One"


def test_profile_needs_a_name_or_a_picture(page_client, alice, parse):
    client = page_client(alice)
    response = client.post("/profile/", {"full_name": "   "})
    assert response.status_code == 400
    assert FULL_NAME_REQUIRED in parse(response).text
    response = client.post("/profile/", {"full_name": "Alice Martin"}, follow=True)
    assert NOTHING_CHANGED in parse(response).text


def test_settings_offers_every_theme_with_the_saved_one_checked(page_client, make_user, parse):
    user = make_user(theme="ocean")
    page = parse(page_client(user).get("/settings/"))
    radios = page.find("input", type="radio", name="theme")
    assert [r["value"] for r in radios] == list(services.THEMES)
    assert [r["value"] for r in radios if "checked" in r] == ["ocean"]
    assert len(services.THEMES) >= 6 and {"light", "dark"} <= set(services.THEMES)


def test_settings_form_saves_the_theme_and_every_page_starts_in_it(page_client, alice, parse):
    client = page_client(alice)
    response = client.post("/settings/", {"theme": "forest"}, follow=True)
    assert THEME_SAVED in parse(response).text
    alice.refresh_from_db()
    assert alice.theme == "forest"
    for path in ("/", "/profile/", "/settings/"):
        assert (
            client.get(path)
            .content.decode()
            .startswith('<!doctype html>\n<html lang="en" data-theme="forest">')
        )


def test_settings_refuses_an_unknown_theme(page_client, alice, parse):
    response = page_client(alice).post("/settings/", {"theme": "hotdog-stand"})
    assert response.status_code == 400
    assert services.UNKNOWN_THEME in parse(response).text
    alice.refresh_from_db()
    assert alice.theme == "light"


def test_changing_the_password_keeps_this_browser_and_signs_out_the_others(
    page_client, alice, parse
):
    here, elsewhere = page_client(alice), page_client(alice)
    old_token = elsewhere.cookies["jwt"].value
    response = here.post(
        "/settings/password/",
        {"current_password": PASSWORD, "new_password": "new-secret-99"},
        follow=True,
    )
    assert PASSWORD_CHANGED in parse(response).text
    assert token_user(old_token) is None
    assert elsewhere.get("/")["Location"] == "/login/?next=/"
    assert here.get("/").status_code == 200
    alice.refresh_from_db()
    assert alice.check_password("new-secret-99")


@pytest.mark.parametrize(
    ("current", "new", "sentence"),
    [
        ("wrong-password", "new-secret-99", services.WRONG_PASSWORD),
        (PASSWORD, "short", services.PASSWORD_TOO_SHORT),
        ("", "", services.ALL_FIELDS_REQUIRED),
    ],
)
def test_password_change_errors_use_the_apis_sentences(
    page_client, alice, parse, current, new, sentence
):
    response = page_client(alice).post(
        "/settings/password/", {"current_password": current, "new_password": new}
    )
    assert response.status_code == 400
    assert sentence in parse(response).text
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


@pytest.mark.parametrize("path", ["/profile/", "/settings/", "/"])
def test_account_pages_need_a_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={path}"
