"""Middleware that runs on the event loop under ASGI: ours, Django's built-ins and WhiteNoise's.

Django 5.2 runs the hooks of a `MiddlewareMixin` (all of its own middleware) in a thread even in
async mode (`sync_to_async` around each `process_request`/`process_view`/`process_response`),
and a sync-only middleware (WhiteNoise 6.12's) drags everything below it, the view included,
into a thread. An async view behind settings.MIDDLEWARE thus paid a dozen thread hops per
request (Django ticket #37177). Most of these hooks only read headers and set headers, so here
they run on the loop; a hook goes to a thread only when this request makes it do I/O (a
session or messages to save, a form body to read, a page to render), which only page
requests do. Sync mode (tests' Client, `manage.py runserver`) is Django's own code path.

Django's deploy checks look for its security, CSRF and clickjacking middleware by exact path,
so `chatproject.checks` runs the settings checks they guard for these subclasses.
"""

from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.http import HttpRequest, HttpResponse
from django.middleware import clickjacking, common, csrf, security
from django.utils.deprecation import MiddlewareMixin
from whitenoise import middleware as whitenoise

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class LoopMiddleware(MiddlewareMixin):
    """A MiddlewareMixin whose hooks run on the event loop unless `*_needs_thread` says no."""

    def request_needs_thread(self, request: HttpRequest) -> bool:
        return False

    def response_needs_thread(self, request: HttpRequest, response: HttpResponse) -> bool:
        return False

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        response = None
        if hasattr(self, "process_request"):
            if self.request_needs_thread(request):
                response = await sync_to_async(self.process_request)(request)
            else:
                response = self.process_request(request)
        response = response or await self.get_response(request)
        if hasattr(self, "process_response"):
            if self.response_needs_thread(request, response):
                response = await sync_to_async(self.process_response)(request, response)
            else:
                response = self.process_response(request, response)
        return response


# --- Django's built-ins -------------------------------------------------------------------------
# Headers, redirects and URL resolving only: never I/O.
class SecurityMiddleware(LoopMiddleware, security.SecurityMiddleware):
    pass


class CommonMiddleware(LoopMiddleware, common.CommonMiddleware):
    pass


class AuthenticationMiddleware(LoopMiddleware, auth.AuthenticationMiddleware):
    pass  # request.user stays lazy: nothing is read until a view asks


class XFrameOptionsMiddleware(LoopMiddleware, clickjacking.XFrameOptionsMiddleware):
    pass


class SessionMiddleware(LoopMiddleware, sessions.SessionMiddleware):
    """The session is loaded lazily (by whoever reads it, in their thread); saving is I/O."""

    def response_needs_thread(self, request: HttpRequest, response: HttpResponse) -> bool:
        session = getattr(request, "session", None)
        return session is not None and (session.modified or settings.SESSION_SAVE_EVERY_REQUEST)


class MessageMiddleware(LoopMiddleware, messages.MessageMiddleware):
    """Storing messages may read and write the session; nothing to store touches nothing."""

    def response_needs_thread(self, request: HttpRequest, response: HttpResponse) -> bool:
        storage = getattr(request, "_messages", None)
        return storage is not None and (storage.used or storage.added_new)


class CsrfViewMiddleware(LoopMiddleware, csrf.CsrfViewMiddleware):
    """The token lives in a cookie (a header); checking a form reads its body, in a thread."""

    def __init__(self, get_response: Any) -> None:
        super().__init__(get_response)
        if self.async_mode:
            # Django wraps a sync process_view in sync_to_async; this one decides per request.
            self.process_view = self._aprocess_view

    def request_needs_thread(self, request: HttpRequest) -> bool:
        return settings.CSRF_USE_SESSIONS

    def response_needs_thread(self, request: HttpRequest, response: HttpResponse) -> bool:
        return settings.CSRF_USE_SESSIONS

    async def _aprocess_view(
        self, request: HttpRequest, callback: Any, callback_args: Any, callback_kwargs: Any
    ) -> HttpResponse | None:
        check = csrf.CsrfViewMiddleware.process_view
        args = (self, request, callback, callback_args, callback_kwargs)
        on_loop = (
            getattr(request, "csrf_processing_done", False)
            or getattr(callback, "csrf_exempt", False)  # every API view (Ninja's)
            or request.method in SAFE_METHODS
            or getattr(request, "_dont_enforce_csrf_checks", False)
        )
        return check(*args) if on_loop else await sync_to_async(check)(*args)


# --- WhiteNoise ---------------------------------------------------------------------------------
class WhiteNoiseMiddleware(whitenoise.WhiteNoiseMiddleware):
    """WhiteNoise (sync-only in 6.12) with an async path: other URLs pass straight through."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Any = None, settings: Any = settings) -> None:
        super().__init__(get_response, settings)
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        return super().__call__(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if self._may_serve(path):
            # Finding (with autorefresh) and opening a file touch the disk.
            static_file = await sync_to_async(self._static_file, thread_sensitive=False)(path)
            if static_file is not None:
                return await sync_to_async(self.serve, thread_sensitive=False)(static_file, request)
        return await self.get_response(request)

    def _may_serve(self, path: str) -> bool:
        if not self.autorefresh:
            return path in self.files
        if self.use_finders and path.startswith(self.static_prefix):
            return True
        return any(path.startswith(prefix) for _, prefix in self.directories)

    def _static_file(self, path: str) -> Any:
        return self.find_file(path) if self.autorefresh else self.files.get(path)
