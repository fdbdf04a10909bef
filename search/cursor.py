"""The opaque cursor of a search page cut short: where the scan stopped, unreadable to clients.

The scan's boundary is the id of a message that matched but that the reader may not see, so
it must not be shown as is: it is encrypted (an HMAC-SHA256 keystream from SECRET_KEY and a
random nonce) and authenticated (HMAC tag), so a client can only hand it back.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from django.utils.crypto import salted_hmac

PREFIX = "~"
_NONCE, _TAG = 12, 16


def _key() -> bytes:
    return salted_hmac("search.cursor", "key", algorithm="sha256").digest()


def _keystream(key: bytes, nonce: bytes, length: int) -> bytes:
    out = b""
    block = 0
    while len(out) < length:
        out += hmac.new(key, b"ks" + nonce + block.to_bytes(4, "big"), hashlib.sha256).digest()
        block += 1
    return out[:length]


def seal(value: str) -> str:
    key, nonce, plain = _key(), secrets.token_bytes(_NONCE), value.encode()
    body = bytes(a ^ b for a, b in zip(plain, _keystream(key, nonce, len(plain)), strict=True))
    tag = hmac.new(key, b"mac" + nonce + body, hashlib.sha256).digest()[:_TAG]
    return PREFIX + base64.urlsafe_b64encode(nonce + body + tag).decode().rstrip("=")


def unseal(token: str) -> str | None:
    """The value sealed in `token`, or None when it is not one of ours."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    try:
        raw = base64.urlsafe_b64decode(token[1:] + "=" * (-len(token[1:]) % 4))
    except (ValueError, TypeError):
        return None
    if len(raw) <= _NONCE + _TAG:
        return None
    key, nonce, body, tag = _key(), raw[:_NONCE], raw[_NONCE:-_TAG], raw[-_TAG:]
    expected = hmac.new(key, b"mac" + nonce + body, hashlib.sha256).digest()[:_TAG]
    if not hmac.compare_digest(tag, expected):
        return None
    plain = bytes(a ^ b for a, b in zip(body, _keystream(key, nonce, len(body)), strict=True))
    try:
        return plain.decode()
    except UnicodeDecodeError:
        return None
