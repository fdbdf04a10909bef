import posixpath

from django.conf import settings
from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path, re_path
from django.views.static import serve

from accounts.admin import admin_login
from attachments.storage import FOLDER as ATTACHMENTS_FOLDER
from attachments.views import attachment_download
from chatproject.api import api

admin.site.site_header = "Parley administration"
admin.site.site_title = "Parley admin"

urlpatterns = [
    path("admin/login/", admin_login),  # the admin's own login view, with a 429 page when limited
    path("admin/", admin.site.urls),
    # Files sent in conversations: checked per request, never under /media/ (attachments/).
    path(
        "api/attachments/<str:attachment_id>/<str:name>",
        attachment_download,
        name="attachment_download",
    ),
    path("api/", api.urls),
    path("", include("accounts.urls")),
    path("", include("messaging.urls")),
]


def media_serve(request: HttpRequest, path: str) -> HttpResponse:
    """Public media (avatars, chat images), except the attachments folder: those files are
    only for the members who may see them (attachments/views.py). Checked on the path as
    `serve` will resolve it, so `./`, `//` and `..` do not get around it."""
    resolved = posixpath.normpath(path.replace("\\", "/")).lstrip("/")
    if resolved.split("/", 1)[0].casefold() == ATTACHMENTS_FOLDER:
        raise Http404
    return serve(request, path, document_root=settings.MEDIA_ROOT)


if not settings.USE_CLOUDINARY:
    # Local media (avatars, chat images) are served by the app itself: zero set-up.
    urlpatterns.append(re_path(r"^media/(?P<path>.*)$", media_serve))


def _api_or_page(request: HttpRequest, status: int, message: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"message": message}, status=status)
    from django.shortcuts import render

    return render(request, "error.html", {"status": status, "message": message}, status=status)


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:  # noqa: ARG001
    return _api_or_page(request, 404, "Not found")


def handler500(request: HttpRequest) -> HttpResponse:
    return _api_or_page(request, 500, "Something went wrong on our side")


def handler400(request: HttpRequest, exception: Exception) -> HttpResponse:  # noqa: ARG001
    return _api_or_page(request, 400, "Bad request")


def handler403(request: HttpRequest, exception: Exception) -> HttpResponse:  # noqa: ARG001
    return _api_or_page(request, 403, "Forbidden")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:  # noqa: ARG001
    """Django's own CSRF page has inline styles our CSP blocks; show ours instead."""
    return _api_or_page(request, 403, "Your form expired or came from another site. Please retry.")
