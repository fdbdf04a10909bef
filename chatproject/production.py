"""Start-up refusals for production (DJANGO_DEBUG off): settings an operator must not ship.

Called from settings.py, so `daphne`, `manage.py` and every worker stop at import with a
sentence naming the variable, instead of running with a secret anyone can read in our repo.
"""

import re

from django.core.exceptions import ImproperlyConfigured

ALLOWED_HOSTS_WILDCARD = (
    "DJANGO_ALLOWED_HOSTS must list this site's host names when DJANGO_DEBUG is off: "
    "'*' would accept any Host header."
)
PLACEHOLDER_SECRET = (
    "{name} is still a placeholder (as in .env.example): set a long random value, "
    "e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))'."
)

# Compared with the value lower-cased and stripped of everything but letters and digits, so
# "change-me", "CHANGE_ME" and "changeme" all match. A random secret never contains these.
PLACEHOLDER_MARKERS = (
    "changeme",  # .env.example
    "replaceme",
    "placeholder",
    "yoursecret",
    "djangoinsecure",  # the key `django-admin startproject` writes for development
    "insecuredevonly",  # our own debug-mode key
)


def secret_is_placeholder(value: str) -> bool:
    squashed = re.sub(r"[^a-z0-9]", "", value.lower())
    return any(marker in squashed for marker in PLACEHOLDER_MARKERS)


def production_settings_check(*, secrets: dict[str, str], allowed_hosts: list[str]) -> None:
    """Raise ImproperlyConfigured for a placeholder secret or `*` in ALLOWED_HOSTS.

    `secrets` maps each environment variable's name to its value; the value is never echoed.
    """
    for name, value in secrets.items():
        if secret_is_placeholder(value):
            raise ImproperlyConfigured(PLACEHOLDER_SECRET.format(name=name))
    if "*" in allowed_hosts:
        raise ImproperlyConfigured(ALLOWED_HOSTS_WILDCARD)
