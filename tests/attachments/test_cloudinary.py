"""Attachments on Cloudinary: private raw uploads, downloads by short-lived signed redirect.

The real SDK talks to tests/fakes/cloudinary_server.py on 127.0.0.1, never to the internet.
"""

import time
import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlsplit

import pytest

from attachments.models import Attachment
from attachments.storage import CLOUDINARY_PART_BYTES
from tests.attachments.conftest import PDF

pytestmark = pytest.mark.django_db


def _fetch(url: str) -> tuple[int, bytes, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - the local fake
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def test_a_file_is_a_private_raw_upload(cloudinary_media, uploaded, alice, direct):  # noqa: ANN001
    """Stored as `resource_type=raw`, `type=private` under attachments/, named by a random
    key (plus an ASCII form of the name, which Cloudinary names downloads after)."""
    file = uploaded(alice, direct, "Compte rendu été.pdf", PDF)
    [upload] = cloudinary_media.uploads
    assert (upload.resource_type, upload.type) == ("raw", "private")
    assert upload.public_id.startswith("attachments/")
    assert upload.public_id.endswith("/Compte_rendu_ete.pdf")
    assert upload.content == PDF
    assert Attachment.objects.get().storage_name == upload.public_id
    assert file["url"].startswith("/api/attachments/")  # ours, checked; not Cloudinary's
    assert _fetch(upload.secure_url)[0] == 404  # no public URL reaches it


def test_a_member_is_redirected_to_a_short_lived_signed_url(
    cloudinary_media, uploaded, send_file, login_client, alice, bob, direct, make_user, settings
):  # noqa: ANN001
    """After the same check as local files, 302 to a signed download URL that expires in
    ATTACHMENT_URL_TTL seconds; a non-member gets 404 and no URL."""
    settings.ATTACHMENT_URL_TTL = 60
    file = uploaded(alice, direct)
    send_file(alice, direct, file["_id"])

    response = login_client(bob).get(file["url"])

    assert response.status_code == 302
    assert response["Cache-Control"] == "private, no-store"
    location = response["Location"]
    query = parse_qs(urlsplit(location).query)
    assert location.startswith(f"{cloudinary_media.url}/v1_1/{cloudinary_media.cloud_name}/raw/")
    assert 0 < int(query["expires_at"][0]) - time.time() <= 60
    status, body, headers = _fetch(location)
    assert (status, body) == (200, PDF)
    assert headers["Content-Disposition"].startswith("attachment")

    stranger = login_client(make_user()).get(file["url"])
    assert stranger.status_code == 404 and "Location" not in stranger


def test_an_expired_or_altered_url_is_refused(cloudinary_media, uploaded, alice, direct, settings):  # noqa: ANN001
    """The fake checks what Cloudinary checks: the signature and the expiry."""
    from attachments.storage import attachment_file_signed_url

    uploaded(alice, direct)
    name = Attachment.objects.get().storage_name
    settings.ATTACHMENT_URL_TTL = -1
    assert _fetch(attachment_file_signed_url(name))[0] == 401
    settings.ATTACHMENT_URL_TTL = 60
    url = attachment_file_signed_url(name)
    assert _fetch(url.replace("public_id=attachments", "public_id=other"))[0] == 401


def test_a_big_file_goes_up_in_parts(cloudinary_media, upload, alice, direct, settings):  # noqa: ANN001
    """Cloudinary takes big files in parts: one part is all an upload holds in memory."""
    settings.ATTACHMENT_MAX_BYTES = 20 * 1024 * 1024
    content = b"line of text\n" * (CLOUDINARY_PART_BYTES * 2 // 13 + 10)  # 2 parts and a bit
    response = upload(alice, direct, "big.txt", content)
    assert response.status_code == 201, response.content
    [stored] = cloudinary_media.uploads
    assert stored.content == content
    posts = [path for method, path in cloudinary_media.requests if method == "POST"]
    assert len(posts) == 3


def test_deleting_destroys_the_private_upload(
    cloudinary_media, uploaded, send_file, alice, direct, django_capture_on_commit_callbacks
):  # noqa: ANN001
    from attachments.services import attachments_delete

    file = uploaded(alice, direct)
    message = send_file(alice, direct, file["_id"]).json()
    with django_capture_on_commit_callbacks(execute=True):
        attachments_delete(message_ids=[message["_id"]])
    assert cloudinary_media.uploads == []
    assert any(path.endswith("/raw/destroy") for _, path in cloudinary_media.requests)


def test_storage_down_is_503_and_nothing_is_recorded(cloudinary_media, upload, alice, direct):  # noqa: ANN001
    from attachments.storage import STORAGE_DOWN

    cloudinary_media.mode = "error"
    response = upload(alice, direct, "a.pdf", PDF)
    assert response.status_code == 503 and response.json()["message"] == STORAGE_DOWN
    assert response["Retry-After"]
    assert not Attachment.objects.exists()
