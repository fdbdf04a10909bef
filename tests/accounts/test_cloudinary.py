"""Avatars through Cloudinary: the real SDK and django-cloudinary-storage against a local fake.

Nothing here touches the internet: the SDK's `upload_prefix` points at
tests/fakes/cloudinary_server.py on 127.0.0.1.
"""

import io
import json
import logging
import os
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.storage import storages
from django.db import DatabaseError
from django.test.signals import setting_changed
from PIL import Image

from accounts.models import User
from chatproject.images import NOT_AN_IMAGE, STORAGE_DOWN, image_decode, image_store
from tests.accounts import images
from tests.fakes.cloudinary_server import FakeCloudinary

ROOT = Path(__file__).resolve().parents[2]
UPDATE = "/api/auth/update-profile"
CLOUDINARY_BACKEND = "chatproject.storage.CloudinaryMediaStorage"


@pytest.fixture
def fake() -> FakeCloudinary:
    with FakeCloudinary() as server:
        yield server


@pytest.fixture
def cloudinary_media(fake, settings, monkeypatch):  # noqa: ANN001
    """The default storage becomes Cloudinary's, its SDK pointed at the fake."""
    import cloudinary

    # django-cloudinary-storage checks for credentials when first imported.
    monkeypatch.setenv("CLOUDINARY_URL", fake.cloudinary_url)
    from cloudinary_storage import app_settings

    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": CLOUDINARY_BACKEND}}
    cloudinary.config(upload_prefix=fake.url, **fake.credentials, **fake.delivery)
    yield fake
    # The package reloads its settings (and demands credentials) whenever a later test
    # overrides MEDIA_URL; it must not outlive this fixture.
    setting_changed.disconnect(app_settings.reload_settings)
    monkeypatch.delenv("CLOUDINARY_URL")
    cloudinary.reset_config()


@pytest.fixture
def client(login_client, alice):  # noqa: ANN001
    return login_client(alice)


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - the local fake
        return response.read()


def test_avatar_is_uploaded_to_cloudinary(cloudinary_media, client, alice, stored_files):
    """The upload reaches Cloudinary signed; the profile points at Cloudinary's copy."""
    fake = cloudinary_media
    assert type(storages["default"]).__name__ == "CloudinaryMediaStorage"
    raw = images.jpeg_with_gps()
    response = client.call("put", UPDATE, {"profilePic": images.data_url(raw, "image/jpeg")})
    assert response.status_code == 200
    url = response.json()["profilePic"]
    assert len(fake.uploads) == 1
    upload = fake.uploads[0]
    assert upload.public_id.startswith("media/avatars/")
    assert upload.fields["folder"] == "media/avatars"
    assert upload.fields["api_key"] == fake.api_key  # and the fake checked the signature
    assert url.startswith(f"{fake.url}/{fake.cloud_name}/image/upload/")
    assert url.endswith(upload.public_id)
    alice.refresh_from_db()
    assert alice.profile_pic == upload.public_id  # the storage name is the public id
    assert client.call("get", "/api/auth/check").json()["profilePic"] == url
    assert stored_files() == []  # nothing went to the local disk
    # What a browser gets at that URL is the re-encoded picture, without EXIF or GPS.
    served = Image.open(io.BytesIO(_fetch(url)))
    assert served.format == "JPEG"
    assert not served.getexif()
    assert images.CAMERA_MAKER.encode() not in upload.content
    assert _fetch(upload.secure_url) == upload.content


def test_stored_images_can_be_deleted(cloudinary_media):
    """Deleting through the storage (as message clean-up does) removes the Cloudinary copy."""
    name = image_store(image_decode(images.b64(images.picture()), max_side=64), folder="messages")
    assert [u.public_id for u in cloudinary_media.uploads] == [name]
    assert storages["default"].delete(name) is True
    assert cloudinary_media.uploads == []


def test_replacing_an_avatar_destroys_the_old_one_on_cloudinary(
    cloudinary_media, client, alice, django_capture_on_commit_callbacks
):
    """Once the new avatar is saved, the old one is destroyed on Cloudinary: one upload is left."""
    fake = cloudinary_media
    with django_capture_on_commit_callbacks(execute=True):
        first = client.call("put", UPDATE, {"profilePic": images.data_url(images.picture())})
        second = client.call(
            "put", UPDATE, {"profilePic": images.data_url(images.picture(color="navy"))}
        )
    assert (first.status_code, second.status_code) == (200, 200)
    alice.refresh_from_db()
    assert [u.public_id for u in fake.uploads] == [alice.profile_pic]
    assert any(path.endswith("/image/destroy") for _, path in fake.requests)


def test_a_failed_save_destroys_the_new_upload_on_cloudinary(
    cloudinary_media, client, alice, monkeypatch, django_capture_on_commit_callbacks
):
    """The database write after the upload fails: the new picture is destroyed on Cloudinary,
    the old one (still the profile's) is kept."""
    fake = cloudinary_media
    first = client.call("put", UPDATE, {"profilePic": images.data_url(images.picture())})
    assert first.status_code == 200
    alice.refresh_from_db()
    kept = alice.profile_pic

    def failing_save(self: User, *args: object, **kwargs: object) -> None:
        raise DatabaseError("disk I/O error")

    monkeypatch.setattr(User, "save", failing_save)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.call(
            "put", UPDATE, {"profilePic": images.data_url(images.picture(color="navy"))}
        )
    assert response.status_code == 500
    assert [u.public_id for u in fake.uploads] == [kept]
    alice.refresh_from_db()
    assert alice.profile_pic == kept


def test_bad_image_never_reaches_cloudinary(cloudinary_media, client, alice):
    """Pillow refuses the file before any upload is attempted."""
    payload = images.data_url(images.HTML, "image/png")
    response = client.call("put", UPDATE, {"profilePic": payload})
    assert response.status_code == 400
    assert response.json()["message"] == NOT_AN_IMAGE
    assert cloudinary_media.requests == []


def _stop(fake: FakeCloudinary) -> None:
    fake.stop()


@pytest.mark.parametrize(
    "break_it",
    [
        lambda fake: setattr(fake, "mode", "error"),
        lambda fake: setattr(fake, "mode", "garbage"),
        _stop,
        lambda fake: setattr(fake, "api_secret", "rotated-secret"),
    ],
    ids=["500-json", "502-html", "down", "wrong-credentials"],
)
def test_cloudinary_failure_is_503_and_changes_nothing(
    cloudinary_media, client, alice, stored_files, caplog, break_it
):
    """Cloudinary failing or unreachable: 503 JSON, the profile (name too) is unchanged."""
    break_it(cloudinary_media)
    body = {"profilePic": images.data_url(images.picture()), "fullName": "Not Saved"}
    with caplog.at_level(logging.WARNING, logger="chatproject.images"):
        response = client.call("put", UPDATE, body)
    assert response.status_code == 503
    assert response.json() == {"message": STORAGE_DOWN}
    alice.refresh_from_db()
    assert (alice.full_name, alice.profile_pic) == ("Alice Martin", "")
    assert stored_files() == []
    assert cloudinary_media.uploads == []
    assert "image storage failed" in caplog.text  # operators can see why


def test_hanging_cloudinary_times_out_with_503(cloudinary_media, client, alice, settings):
    """A Cloudinary that never answers costs CLOUDINARY_UPLOAD_TIMEOUT, then 503."""
    settings.CLOUDINARY_UPLOAD_TIMEOUT = 0.5
    cloudinary_media.mode = "hang"
    response = client.call("put", UPDATE, {"profilePic": images.data_url(images.picture())})
    cloudinary_media.release()
    assert response.status_code == 503
    assert response.json() == {"message": STORAGE_DOWN}
    alice.refresh_from_db()
    assert alice.profile_pic == ""


# --- configuration from the environment, in a fresh process --------------------------------------
UPLOAD_SCRIPT = textwrap.dedent(
    """
    import base64, json, django
    django.setup()
    from django.conf import settings
    from django.core.files.storage import storages
    from chatproject.images import image_decode, image_store, image_url
    from tests.accounts.images import picture

    payload = base64.b64encode(picture("PNG")).decode()
    name = image_store(image_decode(payload, max_side=64), folder="avatars")
    apps = settings.INSTALLED_APPS
    print(json.dumps({
        "use_cloudinary": settings.USE_CLOUDINARY,
        "storage": type(storages["default"]).__name__,
        "after_staticfiles": apps[apps.index("django.contrib.staticfiles") + 1],
        "name": name,
        "url": image_url(name),
    }))
    """
)
CLOUDINARY_VARS = (
    "CLOUDINARY_URL",
    "CLOUDINARY_CLOUD_NAME",
    "CLOUDINARY_API_KEY",
    "CLOUDINARY_API_SECRET",
    "CLOUDINARY_UPLOAD_PREFIX",
)


def _run(script: str, **env: str) -> subprocess.CompletedProcess:
    """Run `script` with the real settings in debug mode and only the given Cloudinary env."""
    full_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CLOUDINARY_"))},
        **dict.fromkeys(CLOUDINARY_VARS, ""),  # "" also masks a developer's .env
        "DJANGO_SETTINGS_MODULE": "chatproject.settings",
        "DJANGO_DEBUG": "1",
        "MONGO_URI": "",
        "MONGODB_URI": "",
        "REDIS_URL": "",
        "MEDIA_ROOT": str(django_settings.MEDIA_ROOT),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _upload_via_env(fake: FakeCloudinary, **env: str) -> dict:
    result = _run(UPLOAD_SCRIPT, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_cloudinary_url_configures_the_storage(fake):
    """CLOUDINARY_URL alone switches media to Cloudinary (SDK reads it, credentials included)."""
    out = _upload_via_env(fake, CLOUDINARY_URL=fake.cloudinary_url)
    assert out["use_cloudinary"] is True
    assert out["storage"] == "CloudinaryMediaStorage"
    assert out["after_staticfiles"] == "cloudinary_storage"
    assert [u.public_id for u in fake.uploads] == [out["name"]]
    # Production delivery: Cloudinary's own https CDN.
    assert (
        out["url"] == f"https://res.cloudinary.com/{fake.cloud_name}/image/upload/v1/{out['name']}"
    )


def test_three_cloudinary_variables_configure_the_storage(fake):
    """CLOUDINARY_CLOUD_NAME, _API_KEY and _API_SECRET work as well as CLOUDINARY_URL."""
    out = _upload_via_env(
        fake,
        CLOUDINARY_CLOUD_NAME=fake.cloud_name,
        CLOUDINARY_API_KEY=fake.api_key,
        CLOUDINARY_API_SECRET=fake.api_secret,
        CLOUDINARY_UPLOAD_PREFIX=fake.url,
    )
    assert out["use_cloudinary"] is True
    assert out["storage"] == "CloudinaryMediaStorage"
    assert [u.public_id for u in fake.uploads] == [out["name"]]
    assert out["url"].startswith(f"https://res.cloudinary.com/{fake.cloud_name}/image/upload/")


def test_no_cloudinary_settings_means_local_media():
    """Without Cloudinary settings media stay on the local disk."""
    script = (
        "import django; django.setup(); from django.conf import settings;"
        "from django.core.files.storage import storages;"
        "print(settings.USE_CLOUDINARY, type(storages['default']).__name__,"
        " 'cloudinary_storage' in settings.INSTALLED_APPS)"
    )
    result = _run(script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "FileSystemStorage", "False"]


@pytest.mark.parametrize(
    "env,complaint",
    [
        ({"CLOUDINARY_CLOUD_NAME": "demo"}, "CLOUDINARY_API_KEY, CLOUDINARY_API_SECRET"),
        ({"CLOUDINARY_API_KEY": "1", "CLOUDINARY_API_SECRET": "s"}, "CLOUDINARY_CLOUD_NAME"),
        (
            {"CLOUDINARY_URL": "cloudinary://k:s@demo", "CLOUDINARY_CLOUD_NAME": "other"},
            "CLOUDINARY_API_KEY, CLOUDINARY_API_SECRET",
        ),
        ({"CLOUDINARY_URL": "https://api.cloudinary.com"}, "cloudinary://"),
    ],
    ids=["only-cloud-name", "no-cloud-name", "url-plus-half", "url-wrong-scheme"],
)
def test_half_a_cloudinary_configuration_refuses_to_start(env, complaint):
    """A partial or malformed Cloudinary configuration stops start-up with a clear message."""
    result = _run("import django; django.setup()", **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert complaint in result.stderr
