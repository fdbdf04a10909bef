"""Moderation: conversations with their members, and messages (search, redact, delete for
everyone or for good, their edit history and reactions)."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from accounts.models import User
from chatproject.ids import parse_pk
from chatproject.images import image_url
from messaging.editing import messages_delete_for_everyone
from messaging.groups import member_remove
from messaging.models import Conversation, Membership, Message, MessageEdit, Reaction
from messaging.services import conversations_delete, messages_delete

PREVIEW_LENGTH = 80
DELETED_PREVIEW = "This message was deleted"


def conversation_label(conversation: Conversation) -> str:
    """A group's title, or the names of the people of a direct conversation."""
    if conversation.title:
        return conversation.title
    names = sorted(
        User.objects.filter(memberships__conversation=conversation).values_list(
            "full_name", flat=True
        )
    )
    return " and ".join(names) or str(conversation)


class ConversationFilter(admin.SimpleListFilter):
    """`?conversation=<id>`: one conversation's messages (linked from each row and each
    conversation)."""

    title = "conversation"
    parameter_name = "conversation"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        # Only shown while a conversation is selected; the rows' links select one.
        if self.value() is None:
            return []
        pk = parse_pk(Conversation, self.value())
        conversation = Conversation.objects.filter(pk=pk).first() if pk is not None else None
        if conversation is None:
            return [(self.value(), "Unknown conversation")]
        return [(self.value(), conversation_label(conversation))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Message]) -> QuerySet[Message]:
        if self.value() is None:
            return queryset
        pk = parse_pk(Conversation, self.value())
        return queryset.filter(conversation_id=pk) if pk is not None else queryset.none()


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


class MessageEditInline(admin.TabularInline):
    """The texts a message had before each edit (operators only; people see the last one)."""

    model = MessageEdit
    extra = 0
    fields = ("text", "edited_at", "edited_by")
    readonly_fields = fields
    can_delete = False
    verbose_name = "earlier text"
    verbose_name_plural = "edit history"

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ReactionInline(admin.TabularInline):
    model = Reaction
    extra = 0
    fields = ("emoji", "user", "created_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("sender", "in_conversation", "preview", "created_at", "seq")
    list_display_links = ("preview",)
    list_filter = (ConversationFilter, ImageFilter, "kind", "created_at")
    search_fields = ("text", "sender__email", "receiver__email")
    list_select_related = ("sender",)
    ordering = ("-id",)
    list_per_page = 50
    # Moderators may redact the text; who wrote what, and when, is the record.
    fields = (
        "conversation",
        "seq",
        "sender",
        "receiver",
        "kind",
        "text",
        "event",
        "image_preview",
        "client_id",
        "reply_to",
        "created_at",
        "updated_at",
        "edited_at",
        "deleted_at",
        "deleted_by",
    )
    readonly_fields = tuple(field for field in fields if field != "text")
    inlines = [MessageEditInline, ReactionInline]
    actions = ("delete_for_everyone",)

    @admin.display(description="Message")
    def preview(self, obj: Message) -> str:
        text = obj.text if len(obj.text) <= PREVIEW_LENGTH else obj.text[:PREVIEW_LENGTH] + "…"
        if obj.deleted_at is not None:
            return DELETED_PREVIEW
        if obj.kind == Message.Kind.SYSTEM:
            return f"[{(obj.event or {}).get('type', 'event')}]"
        if obj.image:
            return f"[image] {text}".strip()
        return text or "(empty)"

    @admin.display(description="Conversation")
    def in_conversation(self, obj: Message) -> str:
        return format_html(
            '<a href="?conversation={}">Conversation {}</a>',
            obj.conversation_id,
            obj.conversation_id,
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

    @admin.action(
        description="Delete selected messages for everyone (a tombstone, live)",
        permissions=["delete"],
    )
    def delete_for_everyone(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        count = messages_delete_for_everyone(operator=request.user, messages=queryset)
        self.message_user(
            request,
            f"Deleted {count} message(s) for everyone (system lines stay).",
            messages.SUCCESS,
        )


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ("user", "role", "joined_at", "left_at", "read_seq", "delivered_seq")
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ("__str__", "kind", "member_count", "last_message_at", "messages_link")
    list_filter = ("kind",)
    search_fields = ("title", "memberships__user__email", "memberships__user__full_name")
    ordering = ("-last_message_at",)
    readonly_fields = (
        "kind",
        "direct_key",
        "created_by",
        "created_at",
        "updated_at",
        "last_seq",
        "last_message_at",
    )
    fields = ("title", "picture", *readonly_fields)
    inlines = [MembershipInline]
    actions = ("delete_selected_conversations",)

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # ours also removes images and tells the members
        return actions

    @admin.display(description="Members")
    def member_count(self, obj: Conversation) -> int:
        return obj.memberships.filter(left_at__isnull=True).count()

    @admin.display(description="Messages")
    def messages_link(self, obj: Conversation) -> str:
        url = reverse("admin:messaging_message_changelist") + f"?conversation={obj.pk}"
        return format_html('<a href="{}">View messages</a>', url)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # people create conversations

    def delete_model(self, request: HttpRequest, obj: Conversation) -> None:
        conversations_delete(conversations=Conversation.objects.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Conversation]) -> None:
        conversations_delete(conversations=queryset)

    @admin.action(description="Delete selected conversations (messages and images too)")
    def delete_selected_conversations(
        self, request: HttpRequest, queryset: QuerySet[Conversation]
    ) -> None:
        count = conversations_delete(conversations=queryset)
        self.message_user(request, f"Deleted {count} conversation(s).", messages.SUCCESS)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "conversation", "role", "joined_at", "left_at")
    list_filter = ("role",)
    search_fields = ("user__email", "user__full_name", "conversation__title")
    list_select_related = ("user", "conversation")
    readonly_fields = (
        "conversation",
        "user",
        "role",
        "joined_at",
        "left_at",
        "visible_from_seq",
        "visible_until_seq",
        "read_seq",
        "read_at",
        "delivered_seq",
        "delivered_at",
    )
    actions = ("remove_from_conversation",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # removing keeps what they had visible to them: use the action

    @admin.action(description="Remove from their conversation (they keep what they had)")
    def remove_from_conversation(
        self, request: HttpRequest, queryset: QuerySet[Membership]
    ) -> None:
        removed = 0
        for membership in queryset.filter(left_at__isnull=True).select_related("conversation"):
            if membership.conversation.is_group:
                member_remove(
                    actor=None,
                    conversation_id=membership.conversation_id,
                    user_id=membership.user_id,
                    by_operator=True,
                )
                removed += 1
        self.message_user(request, f"Removed {removed} member(s) from groups.", messages.SUCCESS)
