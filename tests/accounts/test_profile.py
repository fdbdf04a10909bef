"""PUT /api/auth/update-profile: names, avatars, and what a bad upload must not leave behind."""

import io
from pathlib import Path

import pytest
from django.db import DatabaseError
from django.test import override_settings
from PIL import Image

from accounts import services
from accounts.models import User
from accounts.services import (
    AVATAR_MAX_SIDE,
    NAME_TOO_LONG,
    PROFILE_PIC_REQUIRED,
    TOO_MANY_PROFILE_UPDATES,
)
from chatproject.api import REQUEST_TOO_LARGE, SERVER_ERROR
from chatproject.images import NOT_AN_IMAGE, TOO_LARGE, TOO_MANY_PIXELS
from tests.accounts import images
from tests.accounts.conftest import assert_no_password, assert_user_json

UPDATE = "/api/auth/update-profile"


@pytest.fixture
def client(login_client, alice, media_root):  # noqa: ANN001
    """Alice's API client, with an empty MEDIA_ROOT."""
    return login_client(alice)


def _snapshot(user: User) -> tuple:
    user.refresh_from_db()
    return user.full_name, user.profile_pic, user.updated_at


def _stored_image(media_root, url: str) -> Image.Image:  # noqa: ANN001
    assert url.startswith("/media/avatars/")
    path = media_root / url.removeprefix("/media/")
    assert path.is_file()
    return Image.open(path)


# --- good updates -------------------------------------------------------------------------------
def test_new_name_only(client, alice):
    """A name alone updates the name and leaves the picture alone."""
    response = client.call("put", UPDATE, {"fullName": "  Alice   Cooper "})
    assert response.status_code == 200
    alice.refresh_from_db()
    assert alice.full_name == "Alice Cooper"
    assert_user_json(response.json(), alice)
    assert response.json()["profilePic"] == ""
    assert_no_password(response, alice)


@pytest.mark.parametrize(
    "fmt,mime,extension",
    [
        ("PNG", "image/png", "png"),
        ("JPEG", "image/jpeg", "jpg"),
        ("GIF", "image/gif", "gif"),
        ("WEBP", "image/webp", "webp"),
    ],
)
def test_avatar_from_a_data_url(client, alice, media_root, stored_files, fmt, mime, extension):
    """Each allowed format is stored re-encoded under avatars/ and served at the returned URL."""
    response = client.call(
        "put", UPDATE, {"profilePic": images.data_url(images.picture(fmt), mime)}
    )
    assert response.status_code == 200
    url = response.json()["profilePic"]
    assert url.endswith("." + extension)
    assert _stored_image(media_root, url).format == fmt
    assert len(stored_files()) == 1
    alice.refresh_from_db()
    assert alice.profile_pic == url.removeprefix("/media/")
    served = client.get(url)
    assert served.status_code == 200
    assert Image.open(io.BytesIO(b"".join(served.streaming_content))).format == fmt
    assert client.call("get", "/api/auth/check").json()["profilePic"] == url


def test_avatar_as_bare_base64(client, media_root):
    """Base64 without the data-URL prefix (and with line breaks) is accepted too."""
    encoded = images.b64(images.picture("JPEG"))
    wrapped = "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
    response = client.call("put", UPDATE, {"profilePic": wrapped})
    assert response.status_code == 200
    assert _stored_image(media_root, response.json()["profilePic"]).format == "JPEG"


def test_name_and_avatar_together(client, alice, media_root):
    """Both fields in one request both change."""
    body = {"fullName": "Al", "profilePic": images.data_url(images.picture())}
    response = client.call("put", UPDATE, body)
    assert response.status_code == 200
    assert response.json()["fullName"] == "Al"
    assert response.json()["profilePic"].startswith("/media/avatars/")


def test_exif_and_gps_are_stripped(client, media_root):
    """A phone photo is re-encoded: no EXIF (GPS, camera) survives; its rotation is applied."""
    raw = images.jpeg_with_gps(size=(64, 48), orientation=6)
    assert images.CAMERA_MAKER.encode() in raw
    assert Image.open(io.BytesIO(raw)).getexif().get_ifd(images.GPS_IFD)
    response = client.call("put", UPDATE, {"profilePic": images.data_url(raw, "image/jpeg")})
    assert response.status_code == 200
    stored = _stored_image(media_root, response.json()["profilePic"])
    assert stored.format == "JPEG"
    assert not stored.getexif()
    assert "exif" not in stored.info
    assert stored.size == (48, 64)  # orientation 6 = rotated a quarter turn
    content = (media_root / response.json()["profilePic"].removeprefix("/media/")).read_bytes()
    assert images.CAMERA_MAKER.encode() not in content
    assert b"Exif" not in content


def test_multi_picture_jpeg_from_a_phone_is_accepted(client, media_root):
    """An MPO (JPEG plus a second picture) is a JPEG to a browser: stored as a plain JPEG."""
    raw = images.multi_picture_jpeg()
    assert Image.open(io.BytesIO(raw)).format == "MPO"
    response = client.call("put", UPDATE, {"profilePic": images.data_url(raw, "image/jpeg")})
    assert response.status_code == 200
    stored = _stored_image(media_root, response.json()["profilePic"])
    assert stored.format == "JPEG"
    assert response.json()["profilePic"].endswith(".jpg")


def test_large_pictures_are_scaled_down(client, media_root):
    """Avatars are stored no larger than AVATAR_MAX_SIDE on their longest side."""
    raw = images.picture("PNG", size=(1200, 800))
    response = client.call("put", UPDATE, {"profilePic": images.data_url(raw)})
    assert response.status_code == 200
    stored = _stored_image(media_root, response.json()["profilePic"])
    assert max(stored.size) == AVATAR_MAX_SIDE
    assert stored.size == (AVATAR_MAX_SIDE, AVATAR_MAX_SIDE * 2 // 3)


def test_a_new_avatar_replaces_the_old_one(client, alice):
    """The profile points at the newest upload."""
    first = client.call("put", UPDATE, {"profilePic": images.data_url(images.picture())})
    second = client.call(
        "put", UPDATE, {"profilePic": images.data_url(images.picture(color="navy"))}
    )
    assert first.json()["profilePic"] != second.json()["profilePic"]
    alice.refresh_from_db()
    assert alice.profile_pic == second.json()["profilePic"].removeprefix("/media/")


def _path(media_root, response) -> Path:  # noqa: ANN001
    return media_root / response.json()["profilePic"].removeprefix("/media/")


def test_the_old_avatar_file_is_deleted_once_the_new_one_is_saved(
    client, alice, media_root, stored_files, django_capture_on_commit_callbacks
):
    """Replacing an avatar removes the old file, after the commit (never before the row points
    at the new one); only the new file is left."""
    first = client.call("put", UPDATE, {"profilePic": images.data_url(images.picture())})
    old = _path(media_root, first)
    with django_capture_on_commit_callbacks() as after_commit:
        second = client.call(
            "put", UPDATE, {"profilePic": images.data_url(images.picture(color="navy"))}
        )
        assert second.status_code == 200
        assert old.is_file()  # the transaction has not committed yet
    for callback in after_commit:
        callback()
    assert not old.exists()
    assert stored_files() == [_path(media_root, second)]


def test_a_new_name_keeps_the_avatar_file(
    client, alice, media_root, stored_files, django_capture_on_commit_callbacks
):
    """Changing only the name touches no file."""
    first = client.call("put", UPDATE, {"profilePic": images.data_url(images.picture())})
    with django_capture_on_commit_callbacks(execute=True):
        assert client.call("put", UPDATE, {"fullName": "Alice B"}).status_code == 200
    assert stored_files() == [_path(media_root, first)]


def test_a_failed_save_leaves_no_new_file_and_keeps_the_old_one(
    client, alice, media_root, stored_files, monkeypatch, django_capture_on_commit_callbacks
):
    """The database write after the upload fails: 500, the new file is deleted again, the old
    avatar (file and profile) stays."""
    first = client.call("put", UPDATE, {"profilePic": images.data_url(images.picture())})
    alice.refresh_from_db()
    before = _snapshot(alice)
    real_save = User.save

    def failing_save(self: User, *args: object, **kwargs: object) -> None:
        if "profile_pic" in (kwargs.get("update_fields") or ()):
            raise DatabaseError("disk I/O error")
        real_save(self, *args, **kwargs)

    monkeypatch.setattr(User, "save", failing_save)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.call(
            "put", UPDATE, {"profilePic": images.data_url(images.picture(color="navy"))}
        )
    assert response.status_code == 500
    assert response.json() == {"message": SERVER_ERROR}
    assert stored_files() == [_path(media_root, first)]
    assert _snapshot(alice) == before


def test_profile_updates_are_rate_limited_per_user(
    client, alice, bob, login_client, stored_files, settings, monkeypatch
):
    """Past PROFILE_UPDATE_RATE_PER_USER in the window: 429 with Retry-After, counted before the
    picture is decoded, nothing changed or stored; other people are unaffected."""
    settings.PROFILE_UPDATE_RATE_PER_USER = 2
    settings.PROFILE_UPDATE_RATE_WINDOW = 60
    for name in ("Alice A", "Alice B"):
        assert client.call("put", UPDATE, {"fullName": name}).status_code == 200
    before = _snapshot(alice)

    def no_decoding(*args: object, **kwargs: object) -> None:
        raise AssertionError("a refused update must not decode its picture")

    monkeypatch.setattr(services, "image_decode", no_decoding)
    body = {"profilePic": images.data_url(images.picture()), "fullName": "Alice C"}
    response = client.call("put", UPDATE, body)
    assert response.status_code == 429
    assert response.json()["message"] == TOO_MANY_PROFILE_UPDATES
    assert 1 <= int(response["Retry-After"]) <= 60
    assert _snapshot(alice) == before
    assert stored_files() == []
    assert login_client(bob).call("put", UPDATE, {"fullName": "Bob B"}).status_code == 200


# --- refused updates ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "body",
    [
        {},
        {"profilePic": ""},
        {"fullName": "   "},
        {"fullName": "\u0000\u202e"},
        {"profilePic": None, "fullName": None},
    ],
    ids=["empty", "empty-pic", "blank-name", "invisible-name", "nulls"],
)
def test_nothing_to_update(client, alice, stored_files, body):
    """Neither a picture nor a name: 400 "Profile pic is required"."""
    before = _snapshot(alice)
    response = client.call("put", UPDATE, body)
    assert response.status_code == 400
    assert response.json()["message"] == PROFILE_PIC_REQUIRED
    assert _snapshot(alice) == before
    assert stored_files() == []


def test_overlong_name(client, alice):
    """A name over 100 characters: 400, name unchanged."""
    response = client.call("put", UPDATE, {"fullName": "B" * 101})
    assert response.status_code == 400
    assert response.json()["message"] == NAME_TOO_LONG
    alice.refresh_from_db()
    assert alice.full_name == "Alice Martin"


BAD_AVATARS = {
    "random-bytes": (images.b64(bytes(range(256)) * 4), 400, NOT_AN_IMAGE),
    "not-base64": ("this is not base64 at all!", 400, NOT_AN_IMAGE),
    "plain-text-data-url": ("data:text/plain;base64," + images.b64(b"hello"), 400, NOT_AN_IMAGE),
    "svg": (images.data_url(images.SVG, "image/svg+xml"), 400, NOT_AN_IMAGE),
    "html-claiming-png": (images.data_url(images.HTML, "image/png"), 400, NOT_AN_IMAGE),
    "html-bare-base64": (images.b64(images.HTML), 400, NOT_AN_IMAGE),
    "non-base64-data-url": ("data:image/png,<svg onload=alert(1)>", 400, NOT_AN_IMAGE),
    "bmp": (images.data_url(images.picture("BMP"), "image/bmp"), 400, NOT_AN_IMAGE),
    "tiff": (images.data_url(images.picture("TIFF"), "image/tiff"), 400, NOT_AN_IMAGE),
    "truncated-png": (images.data_url(images.picture()[:60]), 400, NOT_AN_IMAGE),
    "png-claiming-100000x100000": (
        images.data_url(images.png_header_claiming(100_000, 100_000)),
        413,
        TOO_MANY_PIXELS,
    ),
    "png-claiming-7000x7000": (
        images.data_url(images.png_header_claiming(7000, 7000)),
        413,
        TOO_MANY_PIXELS,
    ),
    "real-7000x7000-bomb": (images.data_url(images.bomb_png(7000)), 413, TOO_MANY_PIXELS),
}


@pytest.mark.parametrize("payload,status,message", BAD_AVATARS.values(), ids=BAD_AVATARS.keys())
def test_bad_avatar_is_refused_and_nothing_is_stored(
    client, alice, stored_files, payload, status, message
):
    """Not an image, a lying type, or huge dimensions: 4xx JSON, no file, profile unchanged."""
    before = _snapshot(alice)
    response = client.call("put", UPDATE, {"profilePic": payload, "fullName": "Should Not Stick"})
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["message"] == message
    assert _snapshot(alice) == before
    assert stored_files() == []


def test_image_over_the_byte_cap(client, alice, stored_files, settings):
    """A valid image over IMAGE_MAX_BYTES: 413 "Image is too large", nothing stored."""
    settings.IMAGE_MAX_BYTES = 20_000
    raw = images.noisy_png((200, 200))
    assert len(raw) > 20_000
    before = _snapshot(alice)
    response = client.call("put", UPDATE, {"profilePic": images.data_url(raw)})
    assert response.status_code == 413
    assert response.json()["message"] == TOO_LARGE
    assert _snapshot(alice) == before
    assert stored_files() == []


def test_default_byte_cap_is_five_megabytes(client, alice, stored_files, settings):
    """Just over 5 MB of image fits in the request but is refused as too large."""
    assert settings.IMAGE_MAX_BYTES == 5 * 1024 * 1024
    raw = images.picture() + b"\0" * (settings.IMAGE_MAX_BYTES + 1)
    response = client.call("put", UPDATE, {"profilePic": images.data_url(raw)})
    assert response.status_code == 413
    assert response.json()["message"] == TOO_LARGE
    assert stored_files() == []


def test_request_body_over_the_upload_limit(client, alice, stored_files):
    """A body past DATA_UPLOAD_MAX_MEMORY_SIZE: 413 JSON, never a 500."""
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=50_000):
        payload = images.data_url(images.noisy_png((300, 300)))
        response = client.call("put", UPDATE, {"profilePic": payload})
    assert response.status_code == 413
    assert response.json() == {"message": REQUEST_TOO_LARGE}
    assert stored_files() == []
    alice.refresh_from_db()
    assert alice.profile_pic == ""


def test_update_needs_a_login(api, alice, stored_files):
    """Without a cookie: 401 and nothing stored."""
    response = api.call("put", UPDATE, {"profilePic": images.data_url(images.picture())})
    assert response.status_code == 401
    assert stored_files() == []
