"""One Origin rule for REST writes and WebSocket handshakes: this site's own origin (scheme, host
and port) or one listed in DJANGO_CSRF_TRUSTED_ORIGINS, on a Host from ALLOWED_HOSTS."""

from dataclasses import dataclass, field

import pytest
from asgiref.sync import async_to_sync
from channels.testing import ApplicationCommunicator
from django.test import Client

from chatproject.asgi import application
from chatproject.middleware import CROSS_SITE_WRITE

pytestmark = pytest.mark.django_db

PROXY_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


@dataclass
class Case:
    """A browser on `origin` reaching a server that sees `scheme` and `host`."""

    origin: str | None
    host: str = "127.0.0.1:8000"
    scheme: str = "http"  # what the app itself receives (http behind a TLS-offloading proxy)
    forwarded_proto: str | None = None  # X-Forwarded-Proto set by the proxy
    trust_proxy: bool = True  # SECURE_PROXY_SSL_HEADER configured (production's default)
    headers: dict[str, str] = field(default_factory=dict)


TRUSTED = ["https://app.example.net", "https://*.example.org"]
CASES = {
    # allowed
    "same origin": (Case("http://127.0.0.1:8000"), True),
    "https site, default port implied": (
        Case("https://chat.example.com", host="chat.example.com", scheme="https"),
        True,
    ),
    "default port written out": (
        Case("https://chat.example.com:443", host="chat.example.com", scheme="https"),
        True,
    ),
    "Host with the default port": (Case("http://localhost", host="localhost:80"), True),
    "listed in CSRF_TRUSTED_ORIGINS": (Case("https://app.example.net"), True),
    "subdomain of a trusted wildcard": (Case("https://eu.chat.example.org"), True),
    "TLS offloaded by a trusted proxy": (
        Case("https://chat.example.com", host="chat.example.com", forwarded_proto="https"),
        True,
    ),
    # refused
    "same host, another port": (Case("http://127.0.0.1:9999"), False),
    "same host and port, https page": (Case("https://127.0.0.1:8000"), False),
    "same host, port left out": (Case("http://127.0.0.1"), False),
    "http page on an https site": (
        Case("http://chat.example.com", host="chat.example.com", scheme="https"),
        False,
    ),
    "another allowed host": (Case("http://localhost:8000"), False),
    "lookalike host": (Case("http://127.0.0.1.evil.example:8000"), False),
    "foreign site": (Case("https://evil.example"), False),
    "null origin": (Case("null"), False),
    "not an origin": (Case("127.0.0.1:8000"), False),
    "trusted origin, other scheme": (Case("http://app.example.net"), False),
    "trusted origin, other port": (Case("https://app.example.net:8443"), False),
    "https page, proxy says http": (
        Case("https://chat.example.com", host="chat.example.com", forwarded_proto="http"),
        False,
    ),
    "https page, proxy header missing": (
        Case("https://chat.example.com", host="chat.example.com"),
        False,
    ),
    "X-Forwarded-Proto without SECURE_PROXY_SSL_HEADER": (
        Case(
            "https://chat.example.com",
            host="chat.example.com",
            forwarded_proto="https",
            trust_proxy=False,
        ),
        False,
    ),
    "Host not in ALLOWED_HOSTS": (Case("http://evil.example", host="evil.example"), False),
}


@pytest.fixture
def site(settings):  # noqa: ANN001 - pytest-django fixture
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost", "chat.example.com", "testserver"]
    settings.CSRF_TRUSTED_ORIGINS = TRUSTED
    settings.SECURE_PROXY_SSL_HEADER = PROXY_HEADER
    return settings


def _headers(case: Case) -> dict[str, str]:
    headers = {"host": case.host, **case.headers}
    if case.origin is not None:
        headers["origin"] = case.origin
    if case.forwarded_proto is not None:
        headers["x-forwarded-proto"] = case.forwarded_proto
    return headers


def rest_write_allowed(case: Case) -> bool:
    """POST /api/auth/logout as that browser: 200 when let through; 403 (or 400 for a bad Host)."""
    meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in _headers(case).items()}
    response = Client().post("/api/auth/logout", secure=case.scheme == "https", **meta)
    if response.status_code == 403:
        assert response.json() == {"message": CROSS_SITE_WRITE}
    assert response.status_code in (200, 400, 403), response.content
    return response.status_code == 200


async def _handshake(case: Case) -> bool:
    scope = {
        "type": "websocket",
        "scheme": "wss" if case.scheme == "https" else "ws",
        "path": "/ws/",
        "query_string": b"",
        "headers": [(k.encode(), v.encode()) for k, v in _headers(case).items()],
        "subprotocols": [],
        "client": ("203.0.113.9", 50000),
        "server": ("127.0.0.1", 8000),
    }
    socket = ApplicationCommunicator(application, scope)
    await socket.send_input({"type": "websocket.connect"})
    reply = await socket.receive_output(timeout=5)
    await socket.send_input({"type": "websocket.disconnect", "code": 1000})
    await socket.wait(timeout=5)
    # Closing before accepting is what Daphne turns into HTTP 403 at the handshake.
    assert reply["type"] in ("websocket.accept", "websocket.close"), reply
    return reply["type"] == "websocket.accept"


def websocket_allowed(case: Case) -> bool:
    return async_to_sync(_handshake)(case)


@pytest.mark.parametrize(("case", "allowed"), list(CASES.values()), ids=list(CASES))
def test_rest_writes_and_websockets_apply_the_same_origin_rule(site, case, allowed):
    """Scheme, host and port must all match this site (default ports aside), or be trusted."""
    if not case.trust_proxy:
        site.SECURE_PROXY_SSL_HEADER = None
    assert rest_write_allowed(case) is allowed
    assert websocket_allowed(case) is allowed


def test_a_websocket_without_origin_is_refused_at_the_handshake(site):
    """Browsers always send Origin on a WebSocket handshake; one without it is refused."""
    assert not websocket_allowed(Case(None))
