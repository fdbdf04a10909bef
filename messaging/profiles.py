"""Telling people that someone changed their name or avatar (`userUpdated`).

Who hears it: the person's own sockets (their other tabs) and everyone who is, or was, in a
conversation with them: the people whose sidebar, headers or bubbles can show that name or
picture. One query for the audience; the frame goes out after the profile's transaction commits.
"""

from typing import Any

from accounts.models import User
from chatproject.images import image_url
from messaging import realtime
from messaging.selectors import contact_ids


def user_updated_shape(user: User) -> dict[str, Any]:
    """The part of a user that other people's pages show."""
    return {
        "_id": str(user.pk),
        "fullName": user.full_name,
        "profilePic": image_url(user.profile_pic),
    }


def user_updated_announce(*, user: User) -> None:
    """Send `userUpdated {user}` to the user and to everyone who shares a conversation with them."""
    audience = {str(pk) for pk in contact_ids(user.pk)} | {str(user.pk)}
    realtime.notify_users(audience, "userUpdated", {"user": user_updated_shape(user)})
