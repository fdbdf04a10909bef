"""A maximum-size upload is streamed to disk, never held whole in memory (docs/PERFORMANCE.md,
"File attachments" has the server's RSS for it)."""

import asyncio
import tracemalloc

import pytest
from asgiref.sync import async_to_sync

from accounts.tokens import token_issue
from attachments.models import Attachment

# The request runs on a thread of its own: it must see committed rows, not the test's transaction.
pytestmark = pytest.mark.django_db(transaction=True)

BOUNDARY = "parleyboundary"
PIECE = 64 * 1024  # what Daphne hands the application at a time is smaller still


def multipart(name: str, content: bytes) -> bytes:
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: text/plain\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


def asgi_post(path: str, body: bytes, cookie: str) -> list[dict]:
    """POST `body` through the real ASGI application in pieces, as a server would."""
    from chatproject.asgi import application

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 40000),
        "headers": [
            (b"host", b"localhost"),
            (b"cookie", f"jwt={cookie}".encode()),
            (b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode()),
            (b"content-length", str(len(body)).encode()),
        ],
    }
    view = memoryview(body)
    sent: list[dict] = []

    async def run() -> None:
        pieces = iter(range(0, len(body), PIECE))
        finished = asyncio.Event()

        async def receive() -> dict:
            start = next(pieces, None)
            if start is None:
                await finished.wait()  # the client stays connected until the answer
                return {"type": "http.disconnect"}
            chunk = bytes(view[start : start + PIECE])
            return {"type": "http.request", "body": chunk, "more_body": start + PIECE < len(body)}

        async def send(message: dict) -> None:
            sent.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                finished.set()

        await application(scope, receive, send)

    async_to_sync(run)()
    return sent


def test_a_20_mb_upload_never_holds_the_file_in_memory(alice, direct, media, settings):  # noqa: ANN001
    """Through the ASGI stack (body spooled to disk past FILE_UPLOAD_MAX_MEMORY_SIZE, the file
    parsed 64 KB at a time to a temporary file, scanned 1 MB at a time), Python's peak
    allocation for a 20 MB text file stays a small fraction of it."""
    settings.ATTACHMENT_MAX_BYTES = 20 * 1024 * 1024
    content = b"a line of text in a long log file\n" * (settings.ATTACHMENT_MAX_BYTES // 34)
    body = multipart("server.log", content)
    cookie = token_issue(alice)
    import chatproject.asgi  # noqa: F401 - imported outside the measurement, as in a server

    tracemalloc.start()
    try:
        sent = asgi_post(f"/api/conversations/{direct}/attachments", body, cookie)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert sent[0]["status"] == 201, sent
    assert Attachment.objects.get().size == len(content)
    assert peak < 10 * 1024 * 1024, (
        f"peak {peak / 2**20:.1f} MB for a {len(content) / 2**20:.0f} MB file"
    )


def test_through_asgi_a_file_upload_without_a_slot_is_refused_unread(alice, direct, settings):  # noqa: ANN001
    """The async path of the upload slots: 503 with Retry-After, nothing stored."""
    import json

    from chatproject.image_slots import FILES_BUSY, _file_slots

    settings.ATTACHMENT_UPLOAD_CONCURRENCY = 1
    settings.IMAGE_DECODE_WAIT = 0.05
    held = _file_slots.acquire()
    try:
        sent = asgi_post(
            f"/api/conversations/{direct}/attachments",
            multipart("big.log", b"x" * 600_000),
            token_issue(alice),
        )
    finally:
        _file_slots.release(held)
    assert sent[0]["status"] == 503
    assert (b"Retry-After", b"1") in sent[0]["headers"]
    assert json.loads(sent[1]["body"])["message"] == FILES_BUSY
    assert not Attachment.objects.exists()
