"""Django's deploy checks of the security, clickjacking and CSRF settings, for our middleware.

Django decides whether to check SECURE_HSTS_SECONDS, SECURE_SSL_REDIRECT, X_FRAME_OPTIONS,
CSRF_COOKIE_SECURE... by looking for its own middleware's exact path in MIDDLEWARE. We list
hop-free subclasses of them (chatproject/loop_middleware.py), so Django would warn that they are
missing (security.W001-W003, silenced in settings for that reason) and skip the rest. These run
the same conditions with Django's own messages, for Django's classes and any subclass of them.
"""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register
from django.core.checks.security import base, csrf
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.csrf import CsrfViewMiddleware
from django.middleware.security import SecurityMiddleware
from django.utils.module_loading import import_string


def _missing(middleware: type, check_id: str) -> list[CheckMessage]:
    """A warning unless `middleware` or a subclass of it is in MIDDLEWARE."""
    for path in settings.MIDDLEWARE:
        listed = import_string(path)
        if isinstance(listed, type) and issubclass(listed, middleware):
            return []
    name = f"{middleware.__module__}.{middleware.__qualname__}"
    message = f"Neither {name} nor a subclass of it is in MIDDLEWARE: its settings do nothing."
    return [Warning(message, id=check_id)]


@register(Tags.security, deploy=True)
def check_security_middleware_settings(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    if missing := _missing(SecurityMiddleware, "chatproject.W001"):
        return missing
    found = []
    hsts = settings.SECURE_HSTS_SECONDS
    if not hsts:
        found.append(base.W004)
    if hsts and settings.SECURE_HSTS_INCLUDE_SUBDOMAINS is not True:
        found.append(base.W005)
    if hsts and settings.SECURE_HSTS_PRELOAD is not True:
        found.append(base.W021)
    if settings.SECURE_CONTENT_TYPE_NOSNIFF is not True:
        found.append(base.W006)
    if settings.SECURE_SSL_REDIRECT is not True:
        found.append(base.W008)
    policy = settings.SECURE_REFERRER_POLICY
    if policy is None:
        found.append(base.W022)
    else:
        values = {v.strip() for v in policy.split(",")} if isinstance(policy, str) else set(policy)
        if not values <= base.REFERRER_POLICY_VALUES:
            found.append(base.E023)
    opener = settings.SECURE_CROSS_ORIGIN_OPENER_POLICY
    if opener is not None and opener not in base.CROSS_ORIGIN_OPENER_POLICY_VALUES:
        found.append(base.E024)
    return found


@register(Tags.security, deploy=True)
def check_xframe_options_settings(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    if missing := _missing(XFrameOptionsMiddleware, "chatproject.W002"):
        return missing
    return [] if settings.X_FRAME_OPTIONS == "DENY" else [base.W019]


@register(Tags.security, deploy=True)
def check_csrf_settings(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    if missing := _missing(CsrfViewMiddleware, "chatproject.W003"):
        return missing
    secure = settings.CSRF_USE_SESSIONS or settings.CSRF_COOKIE_SECURE is True
    return [] if secure else [csrf.W016]
