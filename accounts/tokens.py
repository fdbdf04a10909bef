"""The one place that issues and verifies login tokens (JWT, HS256) for HTTP and WebSockets."""

import threading
import time
from datetime import UTC, datetime
from typing import Any

import jwt
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpResponse

from accounts import user_cache
from accounts.models import User
from chatproject.ids import parse_pk

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["exp", "iat", "sub"]
VERIFIED_MAX = 4096  # tokens whose signature this process has checked and remembers


class _Verified:
    """Tokens whose signature and claims were checked: token -> (user pk, version, expiry).

    Checking an HS256 signature with PyJWT costs ~0.2 ms, on every REST request and socket
    connect (a tenth of a REST send's event-loop time, bench.profile). A token is immutable:
    once its signature is good it stays good until it expires, which is checked on every use.
    Revocation never depended on this: the token version is compared with the user's on every
    use (`_current`). Only good tokens are kept; the oldest go first past VERIFIED_MAX.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._tokens: dict[str, tuple[Any, int, float]] = {}
        self._lock = threading.Lock()

    def get(self, token: str) -> tuple[Any, int] | None:
        entry = self._tokens.get(token)
        if entry is None:
            return None
        if time.time() >= entry[2]:
            with self._lock:
                self._tokens.pop(token, None)
            return None
        return entry[0], entry[1]

    def put(self, token: str, subject: tuple[Any, int], expires: float) -> None:
        with self._lock:
            while len(self._tokens) >= self.size:
                self._tokens.pop(next(iter(self._tokens)))
            self._tokens[token] = (*subject, expires)

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()


verified = _Verified(VERIFIED_MAX)


@receiver(setting_changed)
def _secrets_changed(*, setting: str, **kwargs: Any) -> None:
    # A rotation restarts the processes; tests change the secrets in place.
    if setting in ("JWT_SECRET", "JWT_PREVIOUS_SECRETS"):
        verified.clear()


def token_issue(user: User) -> str:
    """A signed token for `user`, valid for JWT_LIFETIME and until their token version changes."""
    now = datetime.now(tz=UTC)
    payload = {
        "sub": str(user.pk),
        "ver": user.token_version,
        "iat": now,
        "exp": now + settings.JWT_LIFETIME,
    }
    return jwt.encode(payload, settings.JWT_SECRET, algorithm=ALGORITHM)


def token_user(token: str | None) -> User | None:
    """The active user a token names, or None when it is missing, forged, expired or revoked.

    The user comes from the process's user cache (accounts/user_cache.py): no query on a hit.
    """
    subject = _token_subject(token)
    if subject is None:
        return None
    return _current(user_cache.cache.user(subject[0]), subject[1])


async def atoken_user(token: str | None) -> User | None:
    """`token_user` for the event loop: a cache hit never leaves it; a miss queries in a thread."""
    subject = _token_subject(token)
    if subject is None:
        return None
    return _current(await user_cache.cache.auser(subject[0]), subject[1])


def _token_subject(token: str | None) -> tuple[Any, int] | None:
    """(user pk, token version) of a valid token, or None."""
    if not token:
        return None
    known = verified.get(token)
    if known is not None:
        return known
    claims = _verified_claims(token)
    if claims is None:
        return None
    subject, version = claims.get("sub"), claims.get("ver")
    # bool is an int subclass: `"ver": true` must not pass for version 1.
    if not isinstance(subject, str) or type(version) is not int:
        return None
    pk = parse_pk(User, subject)
    if pk is None:
        return None
    exp = claims["exp"]  # required, and checked by PyJWT to be a number
    verified.put(token, (pk, version), float(exp))
    return pk, version


def _current(user: User | None, version: int) -> User | None:
    """The user if the account is active and the token is of its current version."""
    if user is None or not user.is_active or user.token_version != version:
        return None
    return user


def _verified_claims(token: str) -> dict | None:
    """The claims of a token signed with JWT_SECRET or one of JWT_PREVIOUS_SECRETS, if valid.

    Previous secrets keep the tokens issued before a rotation working until they expire; they
    never sign anything new (token_issue uses JWT_SECRET only).
    """
    for secret in (settings.JWT_SECRET, *settings.JWT_PREVIOUS_SECRETS):
        if not secret:
            continue
        try:
            return jwt.decode(
                token,
                secret,
                algorithms=[ALGORITHM],  # pinned: "none" and other algorithms are refused
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.InvalidSignatureError:
            continue  # perhaps signed with an older secret
        except jwt.PyJWTError:  # malformed, expired, missing claims: no secret will fix that
            return None
    return None


def set_token_cookie(response: HttpResponse, user: User) -> None:
    """Log `user` in on this response: a fresh token in the HTTP-only `jwt` cookie."""
    response.set_cookie(
        settings.JWT_COOKIE_NAME,
        token_issue(user),
        max_age=int(settings.JWT_LIFETIME.total_seconds()),
        httponly=True,
        samesite="Strict",
        secure=settings.JWT_COOKIE_SECURE,
        path="/",
    )


def clear_token_cookie(response: HttpResponse) -> None:
    """Tell the browser to drop the `jwt` cookie (the token itself is revoked separately)."""
    # Same flags as when it was set (delete_cookie would drop HttpOnly and Secure).
    response.set_cookie(
        settings.JWT_COOKIE_NAME,
        "",
        max_age=0,
        expires="Thu, 01 Jan 1970 00:00:00 GMT",
        httponly=True,
        samesite="Strict",
        secure=settings.JWT_COOKIE_SECURE,
        path="/",
    )
