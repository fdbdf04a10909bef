"""Let server-rendered pages see the user of the `jwt` cookie (the admin keeps its session)."""

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts.tokens import atoken_user, token_user
from chatproject.loop_middleware import LoopMiddleware


class JWTCookieMiddleware(LoopMiddleware):
    """`request.user` / `await request.auser()`: the session's user, else the token's.

    Both stay lazy (nothing is read until a view asks), so this runs on the event loop.
    """

    def process_request(self, request: HttpRequest) -> None:
        token = request.COOKIES.get(settings.JWT_COOKIE_NAME)
        if not token or request.path.startswith("/api/"):
            return
        session_user, session_auser = request.user, request.auser

        def resolve() -> object:
            if session_user.is_authenticated:
                return session_user
            return token_user(token) or AnonymousUser()

        async def aresolve() -> object:
            user = await session_auser()
            if user.is_authenticated:
                return user
            return await atoken_user(token) or AnonymousUser()

        request.user = SimpleLazyObject(resolve)
        request.auser = aresolve
