"""Deploy checks for the login token secret (run by `manage.py check --deploy`)."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register

JWT_SECRET_MIN_LENGTH = 32
JWT_SECRET_WEAK = "accounts.W001"
JWT_SECRET_IS_SECRET_KEY = "accounts.W002"
JWT_PREVIOUS_SECRET_WEAK = "accounts.W003"


@register(Tags.security, deploy=True)
def check_jwt_secret(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Anyone who knows or guesses JWT_SECRET can log in as any user."""
    secret = settings.JWT_SECRET or ""
    problems: list[CheckMessage] = []
    if _is_weak(secret):
        problems.append(
            Warning(
                f"JWT_SECRET is shorter than {JWT_SECRET_MIN_LENGTH} characters or not random.",
                hint="Generate one: python -c 'import secrets; print(secrets.token_urlsafe(48))'",
                id=JWT_SECRET_WEAK,
            )
        )
    if secret == settings.SECRET_KEY:
        problems.append(
            Warning(
                "JWT_SECRET is the same as DJANGO_SECRET_KEY.",
                hint="Use two independent secrets so rotating one does not touch the other.",
                id=JWT_SECRET_IS_SECRET_KEY,
            )
        )
    # A previous secret still vouches for tokens until it is removed, so it matters as much.
    previous = getattr(settings, "JWT_PREVIOUS_SECRETS", None) or []
    for position, old_secret in enumerate(previous, start=1):
        if _is_weak(str(old_secret)):
            problems.append(
                Warning(
                    f"JWT_PREVIOUS_SECRETS entry {position} is shorter than "
                    f"{JWT_SECRET_MIN_LENGTH} characters or not random.",
                    hint="Tokens it signed can be forged; remove it (those users log in again).",
                    id=JWT_PREVIOUS_SECRET_WEAK,
                )
            )
    return problems


def _is_weak(secret: str) -> bool:
    return len(secret) < JWT_SECRET_MIN_LENGTH or len(set(secret)) < 5
