"""The chat page: a server-rendered shell that the ES modules in static/js/ bring to life."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static

from accounts.selectors import user_public
from accounts.templatetags.parley import DEFAULT_AVATAR
from messaging.models import TEXT_MAX_LENGTH

GROUP_AVATAR = "img/group.svg"  # a group without a picture of its own


@login_required
def chat_view(request: HttpRequest) -> HttpResponse:
    # Everything the script needs before its first request, read with JSON.parse (CSP-safe).
    boot = {
        "me": user_public(request.user, online=True),
        "defaultAvatar": static(DEFAULT_AVATAR),
        "groupAvatar": static(GROUP_AVATAR),
        "textMaxLength": TEXT_MAX_LENGTH,
        "imageMaxBytes": settings.IMAGE_MAX_BYTES,
        "attachmentMaxBytes": settings.ATTACHMENT_MAX_BYTES,
    }
    return render(request, "messaging/chat.html", {"boot": boot})
