"""Template helpers shared by every page."""

from django import template
from django.templatetags.static import static

from chatproject.images import image_url

register = template.Library()

DEFAULT_AVATAR = "img/avatar.svg"


@register.filter
def avatar_url(user: object) -> str:
    """The user's avatar URL, or the default avatar when they have none."""
    return image_url(getattr(user, "profile_pic", "") or "") or static(DEFAULT_AVATAR)
