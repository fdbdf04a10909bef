"""A local stand-in for Cloudinary: its upload API and its delivery host, on 127.0.0.1.

The real `cloudinary` SDK talks to it when pointed there with
`cloudinary.config(upload_prefix=fake.url)` (or `?upload_prefix=` in CLOUDINARY_URL, or the
CLOUDINARY_UPLOAD_PREFIX variable). Like Cloudinary it checks the cloud name, the API key
and the request signature (SHA-1 over the sorted parameters plus the API secret), sniffs
the image format, and answers with the usual JSON (public_id, version, format, secure_url,
...). `destroy` deletes an upload. Uploaded bytes are served back at their secure_url and
at the SDK's delivery URLs once `cloudinary.config(**fake.delivery)` is set, so a test can
fetch what a browser would see.

Raw uploads (`resource_type="raw"`, any bytes) are accepted whole or in parts (the SDK's
`upload_large`: `Content-Range` and `X-Unique-Upload-Id` headers). A `type="private"` upload
is not served at any public URL, only through a signed, unexpired
`/v1_1/<cloud>/raw/download?...` URL (`cloudinary.utils.private_download_url`), as a download.

    with FakeCloudinary() as fake:
        cloudinary.config(upload_prefix=fake.url, **fake.credentials, **fake.delivery)
        ...                       # fake.uploads holds every stored upload
        fake.mode = "error"       # 500 JSON from now on ("garbage": 502 HTML, "hang": no answer)
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import sys
import threading
import time
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import PurePosixPath
from typing import Any, Self
from urllib.parse import parse_qs

API_PATH = re.compile(
    r"^/v1_1/(?P<cloud>[^/]+)/(?P<rtype>image|raw|video|auto)/(?P<action>upload|destroy)$"
)
DOWNLOAD_PATH = re.compile(r"^/v1_1/(?P<cloud>[^/]+)/(?P<rtype>image|raw|video)/download$")
CONTENT_RANGE = re.compile(r"^bytes (?P<first>\d+)-(?P<last>\d+)/(?P<total>\d+)$")
DELIVERY_PATH = re.compile(
    r"^/(?P<cloud>[^/]+)/image/upload/(?:v\d+/)?(?P<public_id>.+?)(?:\.(?P<ext>[a-z0-9]+))?$"
)
MAGIC = [
    (b"\xff\xd8\xff", "jpg", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png", "image/png"),
    (b"GIF87a", "gif", "image/gif"),
    (b"GIF89a", "gif", "image/gif"),
]
MODES = ("ok", "error", "garbage", "hang")
HANG_LIMIT = 30.0  # seconds a "hang" request waits at most if the test never releases it
UNSIGNED_FIELDS = {"file", "api_key", "signature", "resource_type", "cloud_name"}


@dataclass(frozen=True)
class Upload:
    """One accepted upload, as Cloudinary would have stored it."""

    public_id: str
    version: int
    format: str
    content_type: str
    content: bytes
    fields: dict[str, str]
    secure_url: str
    resource_type: str = "image"
    type: str = "upload"


def sniff(content: bytes) -> tuple[str, str] | None:
    """(format, content type) of an image Cloudinary would accept, else None."""
    for magic, fmt, mime in MAGIC:
        if content.startswith(magic):
            return fmt, mime
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "webp", "image/webp"
    return None


def expected_signature(fields: dict[str, str], api_secret: str, algorithm: str = "sha1") -> str:
    """Cloudinary's request signature: sorted `k=v` pairs joined by `&`, plus the secret."""
    pairs = sorted(
        f"{key}={value}".replace("&", "%26")
        for key, value in fields.items()
        if key not in UNSIGNED_FIELDS and value
    )
    return hashlib.new(algorithm, ("&".join(pairs) + api_secret).encode()).hexdigest()


class FakeCloudinary:
    """Cloudinary's upload API and delivery host in a background thread."""

    def __init__(
        self,
        cloud_name: str = "parley-fake",
        api_key: str = "614335564976464",
        api_secret: str = "fake-api-secret-0123456789",
    ) -> None:
        self.cloud_name = cloud_name
        self.api_key = api_key
        self.api_secret = api_secret
        self.mode = "ok"
        self.uploads: list[Upload] = []
        self.parts: dict[str, bytearray] = {}  # upload id -> bytes received so far
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request seen
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self) -> Self:
        fake = self

        class Handler(_Handler):
            owner = fake

        self._release.clear()
        self._server = _Server(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering; the port then refuses connections, like Cloudinary being down."""
        self._release.set()  # let any hanging request finish
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def release(self) -> None:
        """Let requests held by the "hang" mode answer (with a 500)."""
        self._release.set()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what tests use -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Base URL for `upload_prefix` and the host of every secure_url it hands out."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def delivery(self) -> dict[str, object]:
        """SDK settings that make its delivery URLs point here (a plain-http custom domain)."""
        return {"secure": False, "cname": self.host, "private_cdn": False, "cdn_subdomain": False}

    @property
    def credentials(self) -> dict[str, str]:
        return {
            "cloud_name": self.cloud_name,
            "api_key": self.api_key,
            "api_secret": self.api_secret,
        }

    @property
    def cloudinary_url(self) -> str:
        """A CLOUDINARY_URL that also points the SDK's uploads here."""
        return (
            f"cloudinary://{self.api_key}:{self.api_secret}@{self.cloud_name}"
            f"?upload_prefix={self.url}"
        )

    def upload_for(self, url: str) -> Upload | None:
        """The public upload served at `url` (private ones are never public)."""
        with self._lock:
            return next(
                (u for u in self.uploads if u.secure_url == url and u.type != "private"), None
            )

    # --- behaviour ------------------------------------------------------------------------------
    def _answer(
        self,
        cloud: str,
        action: str,
        fields: dict[str, str],
        file: tuple[str, bytes] | None,
        rtype: str = "image",
        headers: Any = None,
    ) -> tuple[int, dict]:
        """(status, JSON body) for one signed API request."""
        if cloud != self.cloud_name:
            return 404, {"error": {"message": f"Invalid cloud_name {cloud}"}}
        if fields.get("api_key") != self.api_key:
            return 401, {"error": {"message": f"Unknown API key {fields.get('api_key')}"}}
        if fields.get("signature") != expected_signature(fields, self.api_secret):
            return 401, {"error": {"message": "Invalid Signature"}}
        if action == "destroy":
            return self._destroy(fields.get("public_id", ""))
        if rtype == "raw":
            return self._upload_raw(fields, file, headers or {})
        return self._upload(fields, file)

    def _destroy(self, public_id: str) -> tuple[int, dict]:
        with self._lock:
            kept = [u for u in self.uploads if u.public_id != public_id]
            found = len(kept) < len(self.uploads)
            self.uploads[:] = kept
        return 200, {"result": "ok" if found else "not found"}

    def _upload_raw(
        self, fields: dict[str, str], file: tuple[str, bytes] | None, headers: Any
    ) -> tuple[int, dict]:
        """Any bytes, whole or in parts; the public id is the one asked for (raw keeps its
        extension in it)."""
        if file is None:
            return 400, {"error": {"message": "Missing required parameter - file"}}
        public_id = fields.get("public_id") or secrets.token_hex(10)
        content = file[1]
        content_range = CONTENT_RANGE.match(headers.get("Content-Range") or "")
        if content_range:
            upload_id = headers.get("X-Unique-Upload-Id", "")
            with self._lock:
                received = self.parts.setdefault(upload_id, bytearray())
                if int(content_range["first"]) != len(received):
                    return 400, {"error": {"message": "Parts out of order"}}
                received += content
                if int(content_range["last"]) + 1 < int(content_range["total"]):
                    return 200, {"done": False, "public_id": public_id}
                content = bytes(self.parts.pop(upload_id))
        kind = fields.get("type") or "upload"
        version = int(time.time())
        secure_url = f"{self.url}/{self.cloud_name}/raw/{kind}/v{version}/{public_id}"
        upload = Upload(
            public_id, version, "", "application/octet-stream", content, dict(fields),
            secure_url, resource_type="raw", type=kind,
        )  # fmt: skip
        with self._lock:
            self.uploads.append(upload)
        return 200, {
            "public_id": public_id,
            "version": version,
            "resource_type": "raw",
            "type": kind,
            "bytes": len(content),
            "secure_url": secure_url,
            "url": secure_url,
            "done": True,
        }

    def _download(self, cloud: str, fields: dict[str, str]) -> tuple[int, bytes, dict]:
        """A signed private download: (status, body, headers)."""
        if cloud != self.cloud_name or fields.get("api_key") != self.api_key:
            return 401, b"Unknown cloud or API key", {}
        if fields.get("signature") != expected_signature(fields, self.api_secret):
            return 401, b"Invalid Signature", {}
        if int(fields.get("expires_at") or 0) < time.time():
            return 401, b"Expired", {}
        with self._lock:
            upload = next((u for u in self.uploads if u.public_id == fields.get("public_id")), None)
        if upload is None:
            return 404, b"Resource not found", {}
        name = PurePosixPath(upload.public_id).name
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        return 200, upload.content, headers

    def _upload(self, fields: dict[str, str], file: tuple[str, bytes] | None) -> tuple[int, dict]:
        if file is None:
            return 400, {"error": {"message": "Missing required parameter - file"}}
        filename, content = file
        sniffed = sniff(content)
        if sniffed is None:
            return 400, {"error": {"message": "Invalid image file"}}
        fmt, mime = sniffed
        if fields.get("public_id"):
            public_id = fields["public_id"]
        elif fields.get("use_filename") in ("1", "true") and filename:
            public_id = PurePosixPath(filename).stem
            if fields.get("unique_filename") not in ("0", "false"):
                public_id += "_" + secrets.token_hex(3)
        else:
            public_id = secrets.token_hex(10)
        if fields.get("folder"):
            public_id = f"{fields['folder'].strip('/')}/{public_id}"
        version = int(time.time())
        secure_url = f"{self.url}/{self.cloud_name}/image/upload/v{version}/{public_id}.{fmt}"
        upload = Upload(public_id, version, fmt, mime, content, dict(fields), secure_url)
        with self._lock:
            self.uploads.append(upload)
        return 200, {
            "asset_id": secrets.token_hex(16),
            "public_id": public_id,
            "version": version,
            "version_id": secrets.token_hex(16),
            "signature": hashlib.sha1(
                f"public_id={public_id}&version={version}".encode()
            ).hexdigest(),
            "format": fmt,
            "resource_type": "image",
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "tags": [tag for tag in fields.get("tags", "").split(",") if tag],
            "bytes": len(content),
            "type": "upload",
            "etag": hashlib.md5(content).hexdigest(),  # noqa: S324 - an etag, not security
            "placeholder": False,
            "url": secure_url,
            "secure_url": secure_url,
            "original_filename": PurePosixPath(filename).stem,
        }


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (the SDK's timeout) leaves a broken pipe: expected here.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    owner: FakeCloudinary
    protocol_version = "HTTP/1.1"  # keep-alive, like the SDK's urllib3 pool expects

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # quiet test output

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: dict) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        fake = self.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        fake.requests.append(("POST", self.path))
        if fake.mode == "hang":
            fake._release.wait(HANG_LIMIT)
            self._json(500, {"error": {"message": "Request timeout"}})
            return
        if fake.mode == "error":
            self._json(500, {"error": {"message": "General Error"}})
            return
        if fake.mode == "garbage":
            self._send(502, b"<html><body>502 Bad Gateway</body></html>", "text/html")
            return
        match = API_PATH.match(self.path)
        if not match:
            self._json(404, {"error": {"message": "Not found"}})
            return
        fields, file = _parse_multipart(self.headers.get("Content-Type", ""), body)
        status, payload = fake._answer(
            match["cloud"], match["action"], fields, file, match["rtype"], self.headers
        )
        self._json(status, payload)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        fake = self.owner
        fake.requests.append(("GET", self.path))
        path, _, query = self.path.partition("?")
        download = DOWNLOAD_PATH.match(path)
        if download:
            fields = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
            status, body, headers = fake._download(download["cloud"], fields)
            self._send(status, body, "application/octet-stream", headers)
            return
        url = fake.url + self.path
        upload = fake.upload_for(url)
        if upload is None:
            match = DELIVERY_PATH.match(self.path)
            if match and match["cloud"] == fake.cloud_name:
                with fake._lock:
                    upload = next(
                        (u for u in fake.uploads if u.public_id == match["public_id"]), None
                    )
        if upload is None:
            self._send(404, b"Resource not found", "text/plain")
            return
        self._send(200, upload.content, upload.content_type)


def _parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], tuple | None]:
    """Form fields and the (filename, bytes) of the `file` part of a multipart body."""
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    fields: dict[str, list[str]] = {}
    file = None
    if not message.is_multipart():
        return {}, None
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if name == "file":
            file = (part.get_filename() or "", payload)
            continue
        fields.setdefault(name.removesuffix("[]"), []).append(payload.decode())
    return {key: ",".join(values) for key, values in fields.items()}, file
