"""Uploading a file to a conversation: what is accepted, what is refused, names, limits."""

import pytest

from attachments.checks import EMPTY_FILE, EXECUTABLE, MARKUP, NOT_ALLOWED
from attachments.models import Attachment
from attachments.services import NOT_A_MEMBER_NOW, TOO_MANY_UPLOADS
from attachments.uploads import FILE_REQUIRED, FILE_TOO_LARGE
from chatproject.image_slots import DECODE_BUSY
from messaging.selectors import CONVERSATION_NOT_FOUND
from tests.attachments.conftest import (
    CSV,
    ELF,
    EXE,
    HTML,
    MARKDOWN,
    PDF,
    PNG,
    SCRIPT,
    SVG,
    TEXT,
    URL,
    docx,
    jar,
    zip_of,
)

pytestmark = pytest.mark.django_db


def refused(response, status: int = 400) -> str:  # noqa: ANN001
    assert response.status_code == status, response.content
    body = response.json()
    assert body["errors"] == {"file": [body["message"]]}
    return body["message"]


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("minutes.pdf", PDF, "application/pdf"),
        ("list.txt", TEXT, "text/plain"),
        ("budget.csv", CSV, "text/csv"),
        ("README.md", MARKDOWN, "text/markdown"),
        ("photos.zip", zip_of({"a.jpg": b"\xff\xd8\xff"}), "application/zip"),
        (
            "letter.docx",
            docx(),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
    ],
)
def test_allowed_files_are_stored_and_described(
    upload, alice, direct, stored, name, content, content_type
):  # noqa: ANN001
    """A PDF, text, CSV, markdown, ZIP or Word file comes back as `{_id, name, size, type, url}`,
    its type decided from the bytes, the bytes stored under attachments/."""
    response = upload(alice, direct, name, content)

    assert response.status_code == 201, response.content
    body = response.json()
    attachment = Attachment.objects.get(pk=body["_id"])
    assert body == {
        "_id": str(attachment.pk),
        "name": name,
        "size": len(content),
        "type": content_type,
        "url": f"/api/attachments/{attachment.pk}/{name}",
    }
    [path] = stored()
    assert path.parent.name == "attachments" and path.read_bytes() == content
    assert name not in str(path)  # the stored name is ours, never the client's
    assert attachment.message_id is None and attachment.uploader_id == alice.pk


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("invoice.pdf", EXE, EXECUTABLE),  # a Windows program renamed .pdf
        ("notes.txt", ELF, EXECUTABLE),
        ("notes.txt", SCRIPT, EXECUTABLE),  # a shell script renamed .txt
        ("game.zip", jar(), EXECUTABLE),  # a Java program is a ZIP with a manifest
        ("setup.exe", PDF, EXECUTABLE),  # by name too: double-clicked, it would run
        ("helper.js", TEXT, EXECUTABLE),
        ("run.bat", TEXT, EXECUTABLE),
        ("notes.txt", HTML, MARKUP),  # an HTML page renamed .txt
        ("notes.md", b"# Notes\n\nhello <script>alert(1)</script>\n", MARKUP),
        ("logo.svg", SVG, MARKUP),
        ("logo.txt", SVG, MARKUP),
        ("page.html", TEXT, MARKUP),
        ("feed.xml", b"<?xml version='1.0'?><feed/>", MARKUP),
        ("blank.pdf", b"", EMPTY_FILE),
        ("photo.png", PNG, NOT_ALLOWED),  # pictures go in as images, re-encoded
        ("data.dat", b"\x00\x01\x02\x03" * 64, NOT_ALLOWED),  # bytes nobody can vouch for
        ("notes.txt", b"text\x00with a NUL", NOT_ALLOWED),  # not text after all
    ],
)
def test_refused_files_get_400_naming_the_field_and_store_nothing(
    upload, alice, direct, stored, name, content, message
):  # noqa: ANN001
    """Programs and scripts (by content or by name), HTML, SVG and XML (even renamed .txt),
    empty files and types outside ATTACHMENT_TYPES: 400 with the reason; nothing is kept."""
    assert refused(upload(alice, direct, name, content)) == message
    assert stored() == [] and not Attachment.objects.exists()


def test_allowed_types_are_a_setting(upload, alice, direct, settings, media):  # noqa: ANN001
    """An operator who removes PDF from ATTACHMENT_TYPES gets PDFs refused; one who adds PNG
    gets PNGs accepted. HTML stays refused whatever the setting says."""
    settings.ATTACHMENT_TYPES = ["image/png", "text/html", "text/plain"]
    assert refused(upload(alice, direct, "minutes.pdf", PDF)) == NOT_ALLOWED
    assert upload(alice, direct, "pixel.png", PNG).json()["type"] == "image/png"
    assert refused(upload(alice, direct, "page.html", HTML)) == MARKUP
    assert refused(upload(alice, direct, "page.txt", HTML)) == MARKUP


def test_a_name_that_hides_the_type_gets_the_right_extension(upload, alice, direct, media):  # noqa: ANN001
    """A ZIP called report.pdf is sent as report.pdf.zip: the receiver's computer opens it for
    what it is."""
    body = upload(alice, direct, "report.pdf", zip_of({"a.txt": b"a"})).json()
    assert (body["name"], body["type"]) == ("report.pdf.zip", "application/zip")


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        # XSS in a name is data: kept as typed, shown as text by whoever displays it.
        ('<img src=x onerror="alert(1)">.pdf', '<img src=x onerror="alert(1)">.pdf'),
        ("<svg onload=alert(1)>.pdf", "<svg onload=alert(1)>.pdf"),
        ("<script>alert(1)</script>.pdf", "script>.pdf"),  # "/" starts a file name
        ("../../etc/passwd.pdf", "passwd.pdf"),  # no folder part, ever
        ("..\\..\\windows\\notes.pdf", "notes.pdf"),
        ("invoice\u202egpj.pdf", "invoicegpj.pdf"),  # an RTL override would show "fdp.jpg"
        ("a\u200bb\x07c.pdf", "abc.pdf"),  # zero-width and control characters
        ("  spaced   out .pdf", "spaced out .pdf"),
        ("ré\u0301sumé.pdf", "ré\u0301sumé.pdf".replace("e\u0301", "é")),
        ("x" * 300 + ".pdf", "x" * 251 + ".pdf"),  # 255 at most, the extension kept
    ],
)
def test_names_are_cleaned_and_come_back_as_data(upload, alice, direct, media, sent, kept):  # noqa: ANN001
    """The name loses folders, control and bidi characters and extra spaces, and is cut to 255
    characters; markup in it is returned verbatim in JSON, never interpreted."""
    response = upload(alice, direct, sent, PDF)
    assert response.status_code == 201, response.content
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response.json()["name"] == kept
    assert Attachment.objects.get().name == kept


def _raw_upload(client, direct, disposition: bytes):  # noqa: ANN001, ANN202
    boundary = "XyZ"
    body = (
        f"--{boundary}\r\n".encode()
        + b'Content-Disposition: form-data; name="file"; '
        + disposition
        + b"\r\nContent-Type: application/pdf\r\n\r\n"
        + PDF
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return client.generic(
        "POST",
        f"{URL}{direct}/attachments",
        body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def test_a_lone_surrogate_in_the_name_never_gets_stored(login_client, alice, direct, media):  # noqa: ANN001
    """An encoded lone surrogate in the name (RFC 2231 `filename*`) is not stored as one: the
    name stays valid UTF-8. Raw invalid UTF-8 in the part's header is a 400, not a 500."""
    client = login_client(alice)
    response = _raw_upload(client, direct, b"filename*=UTF-8''bad%ED%A0%80name.pdf")
    assert response.status_code == 201, response.content
    name = response.json()["name"]
    assert name.startswith("bad") and name.endswith("name.pdf")
    assert all(not 0xD800 <= ord(ch) <= 0xDFFF for ch in name)
    assert Attachment.objects.get().name.encode("utf-8")

    response = _raw_upload(client, direct, b'filename="bad\xed\xa0\x80name.pdf"')
    assert refused(response) == FILE_REQUIRED


def test_clean_name_drops_lone_surrogates():
    """Whatever decoded the name, a lone surrogate never reaches storage or JSON."""
    from attachments.checks import clean_name

    assert clean_name("bad\ud800name.pdf") == "badname.pdf"


def test_too_large_is_413_and_nothing_is_kept(upload, alice, direct, stored, settings):  # noqa: ANN001
    """A file over ATTACHMENT_MAX_BYTES: 413 naming the field; no file, no row."""
    settings.ATTACHMENT_MAX_BYTES = 1000
    assert refused(upload(alice, direct, "big.txt", b"a" * 1001), 413) == FILE_TOO_LARGE
    assert upload(alice, direct, "fits.txt", b"a" * 1000).status_code == 201
    assert len(stored()) == 1 and Attachment.objects.count() == 1


def test_a_body_announced_too_large_is_not_parsed(upload, alice, direct, settings, monkeypatch):  # noqa: ANN001
    """When Content-Length already says the file cannot fit, the multipart body is not read."""
    from django.http import multipartparser

    settings.ATTACHMENT_MAX_BYTES = 1000
    parsed = []
    real = multipartparser.Parser.__iter__

    def spy(self):  # noqa: ANN001, ANN202
        parsed.append(True)
        return real(self)

    monkeypatch.setattr(multipartparser.Parser, "__iter__", spy)
    assert refused(upload(alice, direct, "big.txt", b"a" * 200_000), 413) == FILE_TOO_LARGE
    assert parsed == []


@pytest.mark.parametrize("body", [None, "json", "wrong-field"])
def test_no_file_is_400(login_client, alice, direct, body):  # noqa: ANN001
    """No body, a JSON body, or the file under another field name: 400 saying how to send it."""
    client = login_client(alice)
    path = f"{URL}{direct}/attachments"
    if body is None:
        response = client.post(path)
    elif body == "json":
        response = client.call("post", path, {"file": "x"})
    else:
        from django.core.files.uploadedfile import SimpleUploadedFile

        response = client.post(path, {"document": SimpleUploadedFile("a.pdf", PDF)})
    assert refused(response) == FILE_REQUIRED


def test_only_members_upload(upload, alice, bob, make_user, make_group, media):  # noqa: ANN001
    """Someone never in the conversation: 404 (as for an unknown id); someone who left: 403."""
    group = make_group(alice, bob)
    stranger = make_user()
    response = upload(stranger, group, "a.pdf", PDF)
    assert response.status_code == 404 and response.json()["message"] == CONVERSATION_NOT_FOUND
    assert upload(alice, "999999", "a.pdf", PDF).status_code == 404
    assert upload(alice, "not-an-id", "a.pdf", PDF).status_code == 404

    from messaging.groups import group_leave

    group_leave(user=bob, conversation_id=str(group.pk))
    response = upload(bob, group, "a.pdf", PDF)
    assert response.status_code == 403 and response.json()["message"] == NOT_A_MEMBER_NOW
    assert not Attachment.objects.exists()


def test_needs_login_and_same_site(upload, api, alice, direct):  # noqa: ANN001
    """No cookie: 401. Another site's page posting with the cookie: 403."""
    assert upload(api, direct, "a.pdf", PDF).status_code == 401
    foreign = upload(alice, direct, "a.pdf", PDF, HTTP_ORIGIN="https://evil.example")
    assert foreign.status_code == 403


def test_uploads_are_rate_limited_per_user(upload, alice, bob, direct, settings, media):  # noqa: ANN001
    """Past ATTACHMENT_RATE_PER_USER uploads in the window: 429 with Retry-After; others are
    not affected."""
    settings.ATTACHMENT_RATE_PER_USER = 2
    assert [upload(alice, direct, "a.pdf", PDF).status_code for _ in range(2)] == [201, 201]
    response = upload(alice, direct, "a.pdf", PDF)
    assert response.status_code == 429 and response.json()["message"] == TOO_MANY_UPLOADS
    assert int(response["Retry-After"]) >= 1
    assert upload(bob, direct, "b.pdf", PDF).status_code == 201


def test_big_uploads_do_not_wait_for_picture_slots(upload, alice, direct, settings, media):  # noqa: ANN001
    """Files are never decoded: with every picture slot taken, a large file still goes in
    (pictures would get 503 "too many pictures")."""
    from chatproject.image_slots import _slots

    settings.IMAGE_DECODE_CONCURRENCY = 1
    settings.IMAGE_DECODE_WAIT = 0.05
    held = _slots.acquire()
    try:
        response = upload(alice, direct, "big.txt", b"a" * 600_000)
    finally:
        _slots.release(held)
    assert response.status_code == 201, response.content
    assert DECODE_BUSY not in response.content.decode()


def test_big_uploads_wait_for_a_file_slot_then_get_503(upload, alice, direct, settings, media):  # noqa: ANN001
    """A burst of large files is parsed a few at a time (ATTACHMENT_UPLOAD_CONCURRENCY); one
    that gets no slot in time is refused with 503 and Retry-After before its body is read, and
    nothing is stored. Pictures do not wait for these slots, nor small files."""
    from chatproject.image_slots import FILES_BUSY, _file_slots

    settings.ATTACHMENT_UPLOAD_CONCURRENCY = 1
    settings.IMAGE_DECODE_WAIT = 0.05
    held = _file_slots.acquire()
    try:
        busy = upload(alice, direct, "big.txt", b"a" * 600_000)
        small = upload(alice, direct, "small.txt", b"a" * 1_000)
    finally:
        _file_slots.release(held)
    assert busy.status_code == 503 and busy.json()["message"] == FILES_BUSY
    assert int(busy["Retry-After"]) >= 1
    assert small.status_code == 201
    assert Attachment.objects.count() == 1  # the small one
    assert upload(alice, direct, "big.txt", b"a" * 600_000).status_code == 201  # slot free again
