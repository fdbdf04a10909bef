"""Message moderation: browse by conversation, search, redact text, delete (with images)."""

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from accounts.models import User
from chatproject.ids import parse_pk
from chatproject.images import image_url
from messaging.models import Message
from messaging.services import messages_delete

PREVIEW_LENGTH = 80


def conversation_key(message: Message) -> str:
    """The `?conversation=` value naming this message's pair, the same from either side."""
    return "-".join(sorted((str(message.sender_id), str(message.receiver_id))))


class ConversationFilter(admin.SimpleListFilter):
    """`?conversation=<id>-<id>`: one pair's messages, both directions (linked from each row)."""

    title = "conversation"
    parameter_name = "conversation"

    def _pair(self) -> tuple[object, object] | None:
        ids = (self.value() or "").split("-")
        pks = [parse_pk(User, value) for value in ids]
        if len(pks) != 2 or None in pks:
            return None
        return pks[0], pks[1]

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        # Only shown while a conversation is selected; the rows' links select one.
        if self.value() is None:
            return []
        pair = self._pair()
        names = dict(User.objects.filter(pk__in=pair or ()).values_list("pk", "full_name"))
        if pair is None or len(names) != len(set(pair)):
            return [(self.value(), "Unknown conversation")]
        return [(self.value(), f"{names[pair[0]]} and {names[pair[1]]}")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Message]) -> QuerySet[Message]:
        if self.value() is None:
            return queryset
        pair = self._pair()
        if pair is None:
            return queryset.none()
        a, b = pair
        return queryset.filter(Q(sender_id=a, receiver_id=b) | Q(sender_id=b, receiver_id=a))


class ReceiptFilter(admin.SimpleListFilter):
    title = "receipt"
    parameter_name = "receipt"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [
            ("sent", "Sent, not delivered"),
            ("delivered", "Delivered, unread"),
            ("read", "Read"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Message]) -> QuerySet[Message]:
        if self.value() == "sent":
            return queryset.filter(delivered_at__isnull=True, read_at__isnull=True)
        if self.value() == "delivered":
            return queryset.filter(delivered_at__isnull=False, read_at__isnull=True)
        if self.value() == "read":
            return queryset.filter(read_at__isnull=False)
        return queryset


class ImageFilter(admin.SimpleListFilter):
    title = "image"
    parameter_name = "has_image"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [("yes", "With an image"), ("no", "Text only")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Message]) -> QuerySet[Message]:
        if self.value() == "yes":
            return queryset.exclude(image="")
        if self.value() == "no":
            return queryset.filter(image="")
        return queryset


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = (
        "sender",
        "receiver",
        "preview",
        "created_at",
        "delivered_at",
        "read_at",
        "conversation",
    )
    list_display_links = ("preview",)
    list_filter = (ConversationFilter, ReceiptFilter, ImageFilter, "created_at")
    search_fields = ("text", "sender__email", "receiver__email")
    list_select_related = ("sender", "receiver")
    ordering = ("-id",)
    list_per_page = 50
    # Moderators may redact the text; who wrote what, and when, is the record.
    fields = (
        "sender",
        "receiver",
        "text",
        "image_preview",
        "client_id",
        "created_at",
        "updated_at",
        "delivered_at",
        "read_at",
    )
    readonly_fields = tuple(field for field in fields if field != "text")

    @admin.display(description="Message")
    def preview(self, obj: Message) -> str:
        text = obj.text if len(obj.text) <= PREVIEW_LENGTH else obj.text[:PREVIEW_LENGTH] + "…"
        if obj.image:
            return f"[image] {text}".strip()
        return text or "(empty)"

    @admin.display(description="Conversation")
    def conversation(self, obj: Message) -> str:
        return format_html(
            '<a href="?conversation={}">View conversation</a>', conversation_key(obj)
        )

    @admin.display(description="Image")
    def image_preview(self, obj: Message) -> str:
        if not obj.image:
            return "-"
        url = image_url(obj.image)
        return format_html('<a href="{}"><img src="{}" alt="" width="320"></a>', url, url)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # messages come from people, not from the admin

    def delete_model(self, request: HttpRequest, obj: Message) -> None:
        messages_delete(messages=Message.objects.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        messages_delete(messages=queryset)
