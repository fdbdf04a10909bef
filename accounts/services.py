"""Writes for accounts: sign-up, login, logout, profile, password and theme."""

import unicodedata

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F

from accounts.limits import password_check
from accounts.models import User, normalize_email
from accounts.selectors import user_stored_avatar
from accounts.user_cache import user_cache_invalidate
from chatproject.errors import ServiceError
from chatproject.images import image_decode, image_store, images_delete, images_deleted_on_error
from chatproject.ratelimit import rate_limit_hit

ALL_FIELDS_REQUIRED = "All fields are required"
PASSWORD_TOO_SHORT = "Password must be at least 6 characters"
PASSWORD_TOO_LONG = "Password must be at most 1024 characters"
INVALID_EMAIL = "Invalid email format"
EMAIL_EXISTS = "Email already exists"
NAME_TOO_LONG = "Full name must be at most 100 characters"
INVALID_CREDENTIALS = "Invalid credentials"
TOO_MANY_ATTEMPTS = "Too many login attempts, please try again later"
TOO_MANY_PASSWORD_ATTEMPTS = "Too many password attempts, please try again later"
TOO_MANY_SIGNUPS = "Too many sign-ups, please try again later"
PROFILE_PIC_REQUIRED = "Profile pic is required"
TOO_MANY_PROFILE_UPDATES = "You are updating your profile too often, please wait a moment"
WRONG_PASSWORD = "Current password is incorrect"
UNKNOWN_THEME = "Unknown theme"

PASSWORD_MAX_LENGTH = 1024
AVATAR_MAX_SIDE = 512
AVATAR_FOLDER = "avatars"
THEMES = ("light", "dark", "forest", "ocean", "sunset", "contrast", "sepia", "midnight")


# Text-direction overrides let a name display as something else ("\u202eevil" reads "live");
# zero-width spaces and BOMs make names that look empty or identical to someone else's.
HIDDEN_CHARACTERS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u2060\ufeff"
)


def _visible_name(full_name: str | None) -> str:
    """The name with control characters dropped and runs of whitespace made one space."""
    kept = (
        " " if char.isspace() else char
        for char in full_name or ""
        if char.isspace() or (unicodedata.category(char) != "Cc" and char not in HIDDEN_CHARACTERS)
    )
    return " ".join("".join(kept).split())


def _check_name_length(full_name: str) -> str:
    if len(full_name) > 100:
        raise ServiceError(NAME_TOO_LONG, errors={"fullName": [NAME_TOO_LONG]})
    return full_name


def _check_password_rules(password: str, field: str = "password") -> None:
    if len(password) < settings.PASSWORD_MIN_LENGTH:
        raise ServiceError(PASSWORD_TOO_SHORT, errors={field: [PASSWORD_TOO_SHORT]})
    if len(password) > PASSWORD_MAX_LENGTH:
        raise ServiceError(PASSWORD_TOO_LONG, errors={field: [PASSWORD_TOO_LONG]})


def user_signup(*, full_name: str | None, email: str | None, password: str | None, ip: str) -> User:
    full_name = _visible_name(full_name)
    if not full_name or not (email or "").strip() or not password:
        raise ServiceError(ALL_FIELDS_REQUIRED)
    _check_name_length(full_name)
    email = normalize_email(email)
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ServiceError(INVALID_EMAIL, errors={"email": [INVALID_EMAIL]}) from exc
    _check_password_rules(password)
    wait = rate_limit_hit(f"signup-ip:{ip}", limit=settings.SIGNUP_RATE_PER_IP, window=3600)
    if wait:
        raise ServiceError(TOO_MANY_SIGNUPS, status=429, retry_after=wait)
    if User.objects.filter(email=email).exists():
        raise ServiceError(EMAIL_EXISTS, errors={"email": [EMAIL_EXISTS]})
    try:
        with transaction.atomic():
            user = User(email=email, full_name=full_name)
            user.set_password(password)
            user.full_clean(exclude=["password"], validate_unique=False)
            user.save()
    except IntegrityError as exc:  # a concurrent sign-up with the same email won the race
        raise ServiceError(EMAIL_EXISTS, errors={"email": [EMAIL_EXISTS]}) from exc
    except ValidationError as exc:
        raise ServiceError(INVALID_EMAIL, errors=exc.message_dict) from exc
    return user


def user_login(*, email: str | None, password: str | None, ip: str) -> User:
    """Check credentials; unknown email, wrong password and deactivated account answer alike."""
    if not (email or "").strip() or not password:
        raise ServiceError(ALL_FIELDS_REQUIRED)
    email = normalize_email(email)
    user = password_check(
        account=f"email:{email}",
        ip=ip,
        check=lambda: _user_with_password(email=email, password=password),
        message=TOO_MANY_ATTEMPTS,
    )
    if user is None:
        raise ServiceError(INVALID_CREDENTIALS)
    return user


def _user_with_password(*, email: str, password: str) -> User | None:
    """The active user with these credentials; every way of failing costs one password hash.

    Answering early for an unknown email or a deactivated account would tell them apart from
    a wrong password by the response time.
    """
    user = User.objects.filter(email=email).first()
    if user is None:
        make_password(password)
        return None
    matches = user.check_password(password)
    return user if matches and user.is_active else None


def user_revoke_tokens(*, user: User) -> None:
    """Invalidate every token issued so far (logout, password change, deactivation)."""
    User.objects.filter(pk=user.pk).update(token_version=F("token_version") + 1)
    user_cache_invalidate(user_id=user.pk)  # .update() sends no post_save
    user.refresh_from_db(fields=["token_version"])
    from messaging.realtime import user_sockets_close

    user_sockets_close(user_id=user.pk)


def user_logout(*, user: User) -> None:
    user_revoke_tokens(user=user)


def user_update_profile(
    *, user: User, full_name: str | None = None, profile_pic: str | None = None
) -> User:
    """Set a new name and/or avatar; a replaced avatar's file is deleted after the commit."""
    full_name = _visible_name(full_name)
    if not profile_pic and not full_name:
        raise ServiceError(PROFILE_PIC_REQUIRED)
    if full_name:
        _check_name_length(full_name)
    # Counted after the cheap checks, before the costly image work.
    wait = rate_limit_hit(
        f"profile-update:{user.pk}",
        limit=settings.PROFILE_UPDATE_RATE_PER_USER,
        window=settings.PROFILE_UPDATE_RATE_WINDOW,
    )
    if wait:
        raise ServiceError(TOO_MANY_PROFILE_UPDATES, status=429, retry_after=wait)
    # Decoded and stored before the row changes: a bad image or a storage outage leaves the
    # profile exactly as it was.
    stored = (
        image_store(image_decode(profile_pic, max_side=AVATAR_MAX_SIDE), folder=AVATAR_FOLDER)
        if profile_pic
        else ""
    )
    with images_deleted_on_error([stored]), transaction.atomic():
        fields = ["updated_at"]
        if full_name:
            user.full_name = full_name
            fields.append("full_name")
        if stored:
            # Read inside the write: on SQLite (BEGIN IMMEDIATE) a concurrent change of the
            # same avatar waits, so each replaced file is deleted exactly once.
            replaced = user_stored_avatar(user_id=user.pk)
            user.profile_pic = stored
            fields.append("profile_pic")
            if replaced:
                transaction.on_commit(lambda: images_delete([replaced]))
        user.save(update_fields=fields)
        # Everyone who can see this name or picture hears about it (after the commit).
        from messaging.profiles import user_updated_announce

        user_updated_announce(user=user)
    return user


def user_change_password(
    *, user: User, current_password: str | None, new_password: str | None, ip: str
) -> User:
    """Replace the password after checking the current one (limited like a login, per user)."""
    if not current_password or not new_password:
        raise ServiceError(ALL_FIELDS_REQUIRED)
    matches = password_check(
        account=f"user:{user.pk}",
        ip=ip,
        check=lambda: user.check_password(current_password),
        message=TOO_MANY_PASSWORD_ATTEMPTS,
        field="currentPassword",
    )
    if not matches:
        raise ServiceError(WRONG_PASSWORD, errors={"currentPassword": [WRONG_PASSWORD]})
    _check_password_rules(new_password, field="newPassword")
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password", "updated_at"])
    user_revoke_tokens(user=user)
    return user


def user_set_theme(*, user: User, theme: str | None) -> User:
    if theme not in THEMES:
        raise ServiceError(UNKNOWN_THEME, errors={"theme": [UNKNOWN_THEME]})
    user.theme = theme
    user.save(update_fields=["theme", "updated_at"])
    return user


def user_set_active(*, user: User, active: bool) -> None:
    """Deactivate or reactivate an account; deactivation ends every session and socket."""
    User.objects.filter(pk=user.pk).update(is_active=active)
    user_cache_invalidate(user_id=user.pk)  # .update() sends no post_save
    user.is_active = active
    if not active:
        user_revoke_tokens(user=user)
