"""The site's URLs plus a tiny async API, for tests of the async request path.

The app has no async endpoint of its own yet; these two mirror what one looks like (Ninja,
`cookie_auth`) and its sync twin, under /api/ like the real ones.
"""

from django.http import HttpRequest
from django.urls import path
from ninja import NinjaAPI

from accounts.auth import cookie_auth
from chatproject.urls import handler400, handler403, handler404, handler500  # noqa: F401
from chatproject.urls import urlpatterns as site_urlpatterns

api = NinjaAPI(urls_namespace="async-test", docs_url=None)


@api.get("/whoami", auth=cookie_auth)
async def whoami(request: HttpRequest) -> dict:
    return {"id": str(request.auth.pk), "fullName": request.auth.full_name}


@api.get("/whoami-sync", auth=cookie_auth)
def whoami_sync(request: HttpRequest) -> dict:
    return {"id": str(request.auth.pk), "fullName": request.auth.full_name}


@api.post("/echo", auth=cookie_auth)
async def echo(request: HttpRequest) -> dict:
    return {"id": str(request.auth.pk)}


urlpatterns = [path("api/async-test/", api.urls), *site_urlpatterns]
