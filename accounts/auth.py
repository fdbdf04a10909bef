"""Ninja authentication from the `jwt` cookie, through the token module."""

from django.conf import settings
from django.http import HttpRequest
from ninja.security import APIKeyCookie

from accounts.models import User
from accounts.tokens import token_user

NO_TOKEN = "Unauthorized - No Token Provided"
INVALID_TOKEN = "Unauthorized - Invalid Token"


class JWTCookieAuth(APIKeyCookie):
    param_name = settings.JWT_COOKIE_NAME

    def __init__(self) -> None:
        # Cross-site writes are refused by CrossSiteWriteMiddleware (Origin check), so the
        # seed's same-origin JSON client keeps working without a CSRF token.
        super().__init__(csrf=False)

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        user = token_user(key)
        if user is None:
            request.auth_error = INVALID_TOKEN if key else NO_TOKEN
            return None
        request.user = user
        return user


cookie_auth = JWTCookieAuth()
