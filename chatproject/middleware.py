"""Site-wide HTTP protections: cross-site write refusal, the Content-Security-Policy, and
refusing query strings and form posts that aren't UTF-8 text.

They run on the event loop under ASGI (`LoopMiddleware`), in a thread only to read a form body
or render a page.
"""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from chatproject.loop_middleware import LoopMiddleware
from chatproject.origin import origin_is_allowed
from chatproject.text import INVALID_TEXT, NOT_TEXT, form_non_text

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CROSS_SITE_WRITE = "Forbidden - cross-site request refused"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob: https:",
        "connect-src 'self' ws: wss:",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class CrossSiteWriteMiddleware(LoopMiddleware):
    """Refuse cookie-authenticated API writes that a foreign page started.

    The seed's React client sends JSON without a CSRF token, so the API cannot use Django's
    token; browsers always send Origin (and Sec-Fetch-Site) on cross-origin writes, which is
    what we check (chatproject/origin.py: the same rule as WebSocket handshakes). Non-browser
    clients send neither and are unaffected.
    """

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        if request.method in UNSAFE_METHODS and request.path.startswith("/api/"):
            origin = request.headers.get("Origin")
            fetch_site = request.headers.get("Sec-Fetch-Site", "")
            foreign = (origin is not None and not origin_is_allowed(request, origin)) or (
                fetch_site == "cross-site"
            )
            if foreign:
                return JsonResponse({"message": CROSS_SITE_WRITE}, status=403)
        return None


class ContentSecurityPolicyMiddleware(LoopMiddleware):
    """Send a strict CSP (no inline script or style) on every response."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


class TextInputMiddleware(LoopMiddleware):
    """Refuse a query string or urlencoded form whose names or values aren't UTF-8, naming it.

    This is the one place that can still see them: Django decodes both with errors="replace",
    so by the time a form's clean() or a view runs, "%ED%A0%80" (an encoded lone surrogate) is
    three innocent-looking U+FFFD and would be stored as such. One middleware covers every page,
    form (admin included) and API query string. JSON bodies are checked where they are decoded,
    by the API's parser (chatproject/text.py); multipart fields are left to Django's decoding.
    """

    def request_needs_thread(self, request: HttpRequest) -> bool:
        # A form body may be spooled to disk; a refused page is rendered (templates, user).
        return not request.path.startswith("/api/") and (
            request.content_type == FORM_CONTENT_TYPE
            or form_non_text(request.META.get("QUERY_STRING", "")) is not None
        )

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        is_api = request.path.startswith("/api/")
        field = form_non_text(request.META.get("QUERY_STRING", ""))
        if field is None and not is_api and request.content_type == FORM_CONTENT_TYPE:
            # Reading the body here is what request.POST would do next anyway.
            field = form_non_text(request.body)
        if field is None:
            return None
        if is_api:
            return JsonResponse(
                {"message": INVALID_TEXT, "errors": {field: [NOT_TEXT]}}, status=400
            )
        context = {"status": 400, "message": f"{INVALID_TEXT}: {field}"}
        return render(request, "error.html", context, status=400)
