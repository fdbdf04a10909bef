"""Django's own password logins (the admin's) through the credential limiter."""

from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from accounts.limits import password_check
from accounts.models import User, normalize_email
from accounts.services import TOO_MANY_ATTEMPTS
from chatproject.net import client_ip


class LimitedModelBackend(ModelBackend):
    """ModelBackend whose password checks count and refuse exactly like the API login.

    The backend is the one place every `django.contrib.auth.authenticate()` call passes
    through (the admin login form today, any Django login view tomorrow), so none of them can
    forget the limit. The counters are the API's (`email:<address>`), so guesses spread over
    the admin and the API add up. Over a limit it raises `TooManyAttempts`, not
    `PermissionDenied`, which `authenticate()` would swallow into an ordinary "wrong
    password"; the page that called it answers 429 (`accounts.admin.admin_login`).
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if username is None or password is None:
            return None  # not a password login: nothing to guess, nothing to count
        email = normalize_email(username)  # the API's login ignores case; so does this one
        check_password = super().authenticate  # unknown and inactive users are hashed too
        return password_check(
            account=f"email:{email}",
            ip=client_ip(request) if request is not None else "unknown",
            check=lambda: check_password(request, username=email, password=password, **kwargs),
            message=TOO_MANY_ATTEMPTS,
        )

    async def aauthenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        # ModelBackend's own async version would skip the limiter.
        return await sync_to_async(self.authenticate)(request, username, password, **kwargs)
