"""The JSON API: one Ninja instance, errors always `{"message": ...}` with a 4xx status."""

import logging

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from accounts.api import router as auth_router
from attachments.api import router as attachments_router
from chatproject.errors import ServiceError
from chatproject.json_response import RENDERER
from chatproject.text import TextJsonParser
from messaging.api import router as messaging_router
from messaging.api_actions import router as actions_router
from messaging.api_conversations import router as conversations_router
from messaging.api_muting import router as muting_router
from safety.api import blocks_router, reports_router, users_router
from search.api import router as search_router

logger = logging.getLogger(__name__)

UNAUTHORIZED = "Unauthorized - No Token Provided"
INVALID_INPUT = "Invalid input"
NOT_FOUND = "Not found"
SERVER_ERROR = "Internal server error"
REQUEST_TOO_LARGE = "Request body is too large"
BAD_REQUEST = "Bad request"

api = NinjaAPI(
    title="Parley API",
    version="1.0",
    docs_url="/docs",
    urls_namespace="api",
    parser=TextJsonParser(),
    renderer=RENDERER,  # shared with chatproject/json_response.py: the same bytes either way
)
api.add_router("/auth/", auth_router)
api.add_router("/messages/", messaging_router)
api.add_router("/conversations/", conversations_router)
api.add_router("/conversations/", actions_router)
api.add_router("/conversations/", attachments_router)
api.add_router("/search/", search_router)
api.add_router("/conversations/", muting_router)
api.add_router("/users/", users_router)
api.add_router("/blocks", blocks_router)
api.add_router("/messages/", reports_router)


def json_error(request: HttpRequest, message: str, status: int, **extra: object) -> HttpResponse:
    return api.create_response(request, {"message": message, **extra}, status=status)


@api.exception_handler(ServiceError)
def on_service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    extra = {"errors": exc.errors} if exc.errors else {}
    response = json_error(request, exc.message, exc.status, **extra)
    if exc.retry_after is not None:
        response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return json_error(request, getattr(request, "auth_error", UNAUTHORIZED), 401)


@api.exception_handler(ValidationError)
def on_invalid_input(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    for error in exc.errors:
        field = ".".join(str(part) for part in error.get("loc", ())[1:]) or "body"
        errors.setdefault(field, []).append(str(error.get("msg", "invalid")))
    return json_error(request, INVALID_INPUT, 400, errors=errors)


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc.__cause__, ServiceError):  # Ninja wraps what the body parser raises
        return on_service_error(request, exc.__cause__)
    return json_error(request, str(exc), exc.status_code)


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return json_error(request, NOT_FOUND, 404)


@api.exception_handler(RequestDataTooBig)
def on_too_large(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    # A body over DATA_UPLOAD_MAX_MEMORY_SIZE (a huge base64 image) is the client's fault.
    return json_error(request, REQUEST_TOO_LARGE, 413)


@api.exception_handler(SuspiciousOperation)
def on_suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
    return json_error(request, BAD_REQUEST, 400)


@api.exception_handler(Exception)
def on_crash(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("unhandled API error", exc_info=exc)
    return json_error(request, SERVER_ERROR, 500)
