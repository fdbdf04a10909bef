"""The one Origin rule, for REST writes and WebSocket handshakes alike.

A browser's `Origin` is allowed when it is this site's own origin (same scheme, host and port,
default ports normalised) or one listed in CSRF_TRUSTED_ORIGINS. "This site" is what Django makes
of the request: the Host header checked against ALLOWED_HOSTS, and the scheme, which honours
SECURE_PROXY_SSL_HEADER behind a TLS-offloading proxy. A WebSocket handshake is turned into a
Django request so both paths go through that same code.
"""

import io
from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest
from django.utils.http import is_same_domain

DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int]  # scheme, host name, port


def origin_parse(value: str) -> Origin | None:
    """`scheme://host[:port]` as a comparable triple; None for anything else ("null", paths)."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:  # a port that is not a number, a malformed IPv6 literal
        return None
    scheme = parts.scheme.lower()
    if (
        scheme not in DEFAULT_PORTS
        or not parts.hostname
        or parts.username is not None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        return None
    return scheme, parts.hostname, DEFAULT_PORTS[scheme] if port is None else port


def _trusted(origin: Origin) -> bool:
    """Listed in CSRF_TRUSTED_ORIGINS, where `https://*.example.com` covers its subdomains."""
    for entry in settings.CSRF_TRUSTED_ORIGINS:
        trusted = origin_parse(entry)
        if trusted is None or trusted[0] != origin[0] or trusted[2] != origin[2]:
            continue
        if trusted[1].startswith("*."):
            if is_same_domain(origin[1], trusted[1][1:]):
                return True
        elif trusted[1] == origin[1]:
            return True
    return False


def origin_is_allowed(request: HttpRequest, origin: str) -> bool:
    """This request's own origin, or a trusted one.

    Raises DisallowedHost (a 400 for HTTP) when the Host is not in ALLOWED_HOSTS.
    """
    own = origin_parse(f"{request.scheme}://{request.get_host()}")
    sent = origin_parse(origin)
    return sent is not None and (sent == own or _trusted(sent))


def websocket_request(scope: dict[str, Any]) -> HttpRequest:
    """The handshake as Django sees an HTTP GET: same Host, header and proxy-scheme rules."""
    scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
    return ASGIRequest({**scope, "type": "http", "method": "GET", "scheme": scheme}, io.BytesIO())


def websocket_origin_is_allowed(scope: dict[str, Any]) -> bool:
    origins = [value for name, value in scope.get("headers", []) if name.lower() == b"origin"]
    if len(origins) != 1:  # browsers always send exactly one
        return False
    try:
        return origin_is_allowed(websocket_request(scope), origins[0].decode("latin1"))
    except DisallowedHost:
        return False


class WebsocketOriginValidator:
    """ASGI middleware: a handshake from a foreign or missing Origin is refused (HTTP 403)."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and not websocket_origin_is_allowed(scope):
            # Closing before accepting is what the server turns into a 403 response.
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
