"""Moderation: every uploaded file, read-only, with a download link through the checked view."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.html import format_html

from attachments.models import Attachment
from attachments.services import attachments_remove
from attachments.shapes import attachment_url


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ("name", "content_type", "file_size", "uploader", "sent_in", "created_at")
    list_filter = ("content_type", "created_at")
    search_fields = ("name", "uploader__email")
    list_select_related = ("uploader",)
    ordering = ("-created_at",)
    list_per_page = 50
    fields = (
        "name",
        "download",
        "content_type",
        "size",
        "uploader",
        "conversation",
        "message",
        "storage_name",
        "created_at",
    )
    readonly_fields = fields  # what was sent is the record

    @admin.display(description="Size", ordering="size")
    def file_size(self, obj: Attachment) -> str:
        return filesizeformat(obj.size)

    @admin.display(description="Message")
    def sent_in(self, obj: Attachment) -> str:
        if obj.message_id is None:
            return "(not sent)"
        url = reverse("admin:messaging_message_change", args=[obj.message_id])
        return format_html('<a href="{}">Message {}</a>', url, obj.message_id)

    @admin.display(description="File")
    def download(self, obj: Attachment) -> str:
        # The same checked view as members use; staff with the view permission pass it.
        return format_html('<a href="{}">Download {}</a>', attachment_url(obj), obj.name)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # files come from people, not from the admin

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: Attachment) -> None:
        attachments_remove(attachments=Attachment.objects.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Attachment]) -> None:
        attachments_remove(attachments=queryset)
