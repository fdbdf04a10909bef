"""The login token of a WebSocket handshake: the same `jwt` cookie the HTTP API reads."""

from typing import Any

from django.conf import settings
from django.http.cookie import parse_cookie


def scope_token(scope: dict[str, Any]) -> str | None:
    """The `jwt` cookie sent with the handshake, or None."""
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            # latin-1 like Django's HTTP handler: any byte sequence decodes, bad ones just fail.
            token = parse_cookie(value.decode("latin-1")).get(settings.JWT_COOKIE_NAME)
            if token:
                return token
    return None
