"""What a WebSocket handshake says: its login token (the same `jwt` cookie the HTTP API reads)
and the options of its query string."""

from typing import Any
from urllib.parse import parse_qs

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


def scope_asks_presence_deltas(scope: dict[str, Any]) -> bool:
    """`/ws/?presence=delta`: `userOnline`/`userOffline` among contacts, not whole lists."""
    query = scope.get("query_string", b"").decode("latin-1")
    return parse_qs(query).get("presence", [""])[-1] == "delta"


def scope_is_presence_only(scope: dict[str, Any]) -> bool:
    """`/ws/?messages=none`: a page that shows no messages (profile, settings) keeps the person
    online and hears every other event, but gets no `newMessage` and so marks nothing delivered."""
    query = scope.get("query_string", b"").decode("latin-1")
    return parse_qs(query).get("messages", [""])[-1] == "none"
