"""Fixtures for the attachment tests: a fresh MEDIA_ROOT, sample files, upload and send helpers."""

import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import User
from tests.accounts.test_cloudinary import (  # noqa: F401 - fixtures for test_cloudinary.py
    cloudinary_media,
    fake,
)
from tests.conftest import ApiClient
from tests.messaging.conftest import (  # noqa: F401 - fixtures shared with the messaging tests
    _no_one_online,
    group_post,
    make_group,
    make_message,
    open_socket,
    sent_events,
)

URL = "/api/conversations/"

# --- sample files: what each really is, whatever it is called ---------------------------------
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
TEXT = b"Shopping list\n- milk\n- bread\n"
CSV = b"name,amount\nmilk,2\nbread,1\n"
MARKDOWN = b"# Notes\n\nSome *notes* with `code`.\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00"
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56
SCRIPT = b"#!/bin/sh\nrm -rf ~\n"
HTML = b"<!DOCTYPE html>\n<html><body><script>alert(document.cookie)</script></body></html>\n"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>\n'
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"


def zip_of(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return out.getvalue()


def docx() -> bytes:
    """A Word document as Word writes one: [Content_Types].xml first, then word/..."""
    return zip_of(
        {
            "[Content_Types].xml": b"<?xml version='1.0'?><Types/>",
            "_rels/.rels": b"<?xml version='1.0'?><Relationships/>",
            "word/document.xml": b"<?xml version='1.0'?><w:document/>",
        }
    )


def jar() -> bytes:
    return zip_of({"META-INF/MANIFEST.MF": b"Main-Class: Evil\n", "Evil.class": b"\xca\xfe"})


@pytest.fixture
def media(settings, tmp_path: Path) -> Path:  # noqa: ANN001
    """A fresh, empty MEDIA_ROOT (local storage) for this test."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    return root


@pytest.fixture
def stored(media: Path) -> Callable[[], list[Path]]:
    """The files under MEDIA_ROOT now."""
    return lambda: sorted(path for path in media.rglob("*") if path.is_file())


@pytest.fixture
def direct(alice, bob) -> Any:  # noqa: ANN001
    """Alice and Bob's direct conversation (its pk)."""
    from messaging.direct import direct_conversation_id

    return direct_conversation_id(alice.pk, bob.pk)


@pytest.fixture
def upload(login_client) -> Callable[..., Any]:  # noqa: ANN001
    """`upload(user_or_client, conversation, name, content)` -> the response of the upload."""

    def post(who: User | ApiClient, conversation: Any, name: str, content: bytes, **extra: Any):
        client = who if isinstance(who, ApiClient) else login_client(who)
        file = SimpleUploadedFile(name, content, content_type="application/octet-stream")
        cid = getattr(conversation, "pk", conversation)
        return client.post(f"{URL}{cid}/attachments", {"file": file}, **extra)

    return post


@pytest.fixture
def uploaded(upload, media) -> Callable[..., dict]:  # noqa: ANN001
    """`uploaded(user, conversation, name="notes.pdf", content=PDF)` -> the Attachment JSON."""

    def make(user: User, conversation: Any, name: str = "notes.pdf", content: bytes = PDF) -> dict:
        response = upload(user, conversation, name, content)
        assert response.status_code == 201, response.content
        return response.json()

    return make


@pytest.fixture
def send_file(login_client) -> Callable[..., Any]:  # noqa: ANN001
    """`send_file(user, conversation, attachment_id, text=None, client_id=None)` -> response."""

    def send(user: User, conversation: Any, attachment_id: str, **body: Any):
        cid = getattr(conversation, "pk", conversation)
        payload = {"attachmentId": attachment_id, **body}
        return login_client(user).call("post", f"{URL}{cid}/messages", payload)

    return send
