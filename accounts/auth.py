"""Ninja authentication from the `jwt` cookie, for sync and async routes alike."""

import asyncio
from collections.abc import Awaitable

from django.conf import settings
from django.http import HttpRequest
from ninja.security import APIKeyCookie

from accounts.models import User
from accounts.tokens import atoken_user, token_user

NO_TOKEN = "Unauthorized - No Token Provided"
INVALID_TOKEN = "Unauthorized - Invalid Token"


class JWTCookieAuth(APIKeyCookie):
    """One auth object for both kinds of route.

    Ninja (1.7) calls a sync auth callback of an async route through `sync_to_async`: a thread
    hop per request, and a database query in that thread. Marked `is_async`, this callback is
    instead called directly in both cases (`ninja.operation`): on an async route, on the event
    loop, it returns a coroutine that Ninja awaits (a cached user answers without leaving the
    loop); on a sync route, in the request's thread where no loop runs, it returns the user
    itself, which Ninja's sync path accepts as is.
    """

    param_name = settings.JWT_COOKIE_NAME

    def __init__(self) -> None:
        # Cross-site writes are refused by CrossSiteWriteMiddleware (Origin check), so the
        # seed's same-origin JSON client keeps working without a CSRF token.
        super().__init__(csrf=False)
        self.is_async = True

    def __call__(self, request: HttpRequest) -> User | None | Awaitable[User | None]:
        key = self._get_key(request)
        if _on_event_loop():
            return self.aauthenticate(request, key)
        return self.authenticate(request, key)

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        return self._accept(request, key, token_user(key))

    async def aauthenticate(self, request: HttpRequest, key: str | None) -> User | None:
        return self._accept(request, key, await atoken_user(key))

    def _accept(self, request: HttpRequest, key: str | None, user: User | None) -> User | None:
        if user is None:
            request.auth_error = INVALID_TOKEN if key else NO_TOKEN
            return None
        request.user = user
        return user


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


cookie_auth = JWTCookieAuth()
