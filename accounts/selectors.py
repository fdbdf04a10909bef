from datetime import UTC, datetime

from accounts.models import User
from chatproject.images import image_url


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 UTC with milliseconds, as JavaScript's Date.toISOString() writes it."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def user_stored_avatar(*, user_id: object) -> str:
    """The storage name of the avatar the database holds for a user ("" when none)."""
    return User.objects.filter(pk=user_id).values_list("profile_pic", flat=True).first() or ""


def user_public(user: User, *, online: bool = False) -> dict:
    """The contract's User shape; never the password hash."""
    return {
        "_id": str(user.pk),
        "fullName": user.full_name,
        "email": user.email,
        "profilePic": image_url(user.profile_pic),
        "createdAt": iso(user.created_at),
        "updatedAt": iso(user.updated_at),
        "lastSeen": None if online else iso(user.last_seen),
    }
