"""Site-wide HTTP protections: cross-site write refusal and the Content-Security-Policy."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from chatproject.origin import origin_is_allowed

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


class CrossSiteWriteMiddleware:
    """Refuse cookie-authenticated API writes that a foreign page started.

    The seed's React client sends JSON without a CSRF token, so the API cannot use Django's
    token; browsers always send Origin (and Sec-Fetch-Site) on cross-origin writes, which is
    what we check (chatproject/origin.py: the same rule as WebSocket handshakes). Non-browser
    clients send neither and are unaffected.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in UNSAFE_METHODS and request.path.startswith("/api/"):
            origin = request.headers.get("Origin")
            fetch_site = request.headers.get("Sec-Fetch-Site", "")
            foreign = (origin is not None and not origin_is_allowed(request, origin)) or (
                fetch_site == "cross-site"
            )
            if foreign:
                return JsonResponse({"message": CROSS_SITE_WRITE}, status=403)
        return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    """Send a strict CSP (no inline script or style) on every response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response
