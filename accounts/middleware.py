"""Let server-rendered pages see the user of the `jwt` cookie (the admin keeps its session)."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from accounts.tokens import token_user


class JWTCookieMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = request.COOKIES.get(settings.JWT_COOKIE_NAME)
        if token and not request.path.startswith("/api/"):
            session_user = request.user

            def resolve() -> object:
                if session_user.is_authenticated:
                    return session_user
                from django.contrib.auth.models import AnonymousUser

                return token_user(token) or AnonymousUser()

            request.user = SimpleLazyObject(resolve)
        return self.get_response(request)
