"""The reports queue (open first, with the message, its sender, the conversation and a few
messages around it) and the operators' three answers: delete the message for everyone,
deactivate its sender, dismiss. Blocks are listed read-only (people manage their own)."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from safety import selectors, services
from safety.models import Block, Report

PREVIEW_LENGTH = 80


def _preview(text: str, deleted: bool) -> str:
    if deleted:
        return "[deleted]"
    return text if len(text) <= PREVIEW_LENGTH else text[:PREVIEW_LENGTH] + "…"


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "status",
        "reason",
        "message_preview",
        "sender",
        "conversation",
        "reporter",
    )
    list_filter = ("status", "reason")
    list_select_related = ("message", "message__sender", "reporter")
    ordering = ("-created_at",)
    fields = (
        "status",
        "reason",
        "note",
        "reporter",
        "sender",
        "conversation",
        "message_preview",
        "context",
        "created_at",
        "resolved_at",
        "resolved_by",
    )
    readonly_fields = fields
    actions = ("delete_messages", "deactivate_senders", "dismiss")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Report]:
        return super().get_queryset(request).select_related("message", "message__sender")

    @admin.display(description="Message")
    def message_preview(self, obj: Report) -> str:
        message = obj.message
        url = reverse("admin:messaging_message_change", args=[message.pk])
        text = _preview(message.text, message.deleted_at is not None)
        return format_html('<a href="{}">{}</a>', url, text or "(no text)")

    @admin.display(description="Sender")
    def sender(self, obj: Report) -> str:
        user = obj.message.sender
        url = reverse("admin:accounts_user_change", args=[user.pk])
        state = "" if user.is_active else " (deactivated)"
        return format_html('<a href="{}">{}</a>{}', url, str(user), state)

    @admin.display(description="Conversation")
    def conversation(self, obj: Report) -> str:
        url = reverse("admin:messaging_message_changelist")
        pk = obj.message.conversation_id
        return format_html('<a href="{}?conversation={}">Conversation {}</a>', url, pk, pk)

    @admin.display(description="Context (3 messages before and after)")
    def context(self, obj: Report) -> str:
        rows = [
            (
                "font-weight:bold" if m.pk == obj.message_id else "",
                m.seq,
                m.sender.full_name,
                _preview(m.text, m.deleted_at is not None) or f"[{m.kind}]",
            )
            for m in selectors.report_context(obj)
        ]
        body = format_html_join("", '<tr style="{}"><td>{}</td><td>{}</td><td>{}</td></tr>', rows)
        return format_html("<table><tbody>{}</tbody></table>", body)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # reports come from people

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # the actions below are how a report is handled

    @admin.action(description="Delete the reported messages for everyone", permissions=["view"])
    def delete_messages(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        count = services.reports_delete_messages(operator=request.user, reports=list(queryset))
        self.message_user(request, f"Deleted {count} message(s) for everyone.", messages.SUCCESS)

    @admin.action(
        description="Deactivate the senders (logs them out everywhere)", permissions=["view"]
    )
    def deactivate_senders(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        reports = list(queryset.select_related("message"))
        count = services.reports_deactivate_senders(operator=request.user, reports=reports)
        self.message_user(request, f"Deactivated {count} account(s).", messages.SUCCESS)

    @admin.action(description="Dismiss the selected reports", permissions=["view"])
    def dismiss(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        count = services.reports_dismiss(operator=request.user, reports=list(queryset))
        self.message_user(request, f"Dismissed {count} report(s).", messages.SUCCESS)


@admin.register(Block)
class BlockAdmin(admin.ModelAdmin):
    list_display = ("blocker", "blocked", "created_at")
    list_select_related = ("blocker", "blocked")
    fields = list_display
    readonly_fields = list_display

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # a row deleted here would outlive its cached copy in every process
