"""The one place that issues and verifies login tokens (JWT, HS256) for HTTP and WebSockets."""

from datetime import UTC, datetime

import jwt
from django.conf import settings
from django.http import HttpResponse

from accounts.models import User
from chatproject.ids import parse_pk

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["exp", "iat", "sub"]


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
    """The active user a token names, or None when it is missing, forged, expired or revoked."""
    if not token:
        return None
    try:
        claims = jwt.decode(
            token,
            settings.JWT_SECRET,
            algorithms=[ALGORITHM],  # pinned: "none" and other algorithms are refused
            options={"require": REQUIRED_CLAIMS},
        )
    except jwt.PyJWTError:
        return None
    subject, version = claims.get("sub"), claims.get("ver")
    # bool is an int subclass: `"ver": true` must not pass for version 1.
    if not isinstance(subject, str) or type(version) is not int:
        return None
    pk = parse_pk(User, subject)
    if pk is None:
        return None
    user = User.objects.filter(pk=pk, is_active=True).first()
    if user is None or user.token_version != version:
        return None
    return user


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
