"""A file sent in a conversation: uploaded first, then attached to the message that carries it.

Two steps (docs/MESSAGING.md, "Attachments"): the upload stores the file and answers its id;
a send names that id, and the same write points the row at its message. Until then `message`
is NULL and only the uploader may fetch it; unsent uploads are swept after
ATTACHMENT_UNSENT_TTL (`manage.py attachments_sweep`).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

NAME_MAX_LENGTH = 255


class Attachment(models.Model):
    conversation = models.ForeignKey(
        "messaging.Conversation", on_delete=models.CASCADE, related_name="+"
    )
    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    message = models.ForeignKey(
        "messaging.Message",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,  # set by the send that carries it; deletes go through the services
        related_name="+",
    )
    storage_name = models.CharField(max_length=500, help_text="Where the bytes are stored.")
    name = models.CharField(
        max_length=NAME_MAX_LENGTH, help_text="The sender's file name, cleaned."
    )
    size = models.PositiveBigIntegerField(help_text="Bytes.")
    # What the bytes are (attachments/checks.py), never what the client claimed.
    content_type = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # One file per message; NULLs (not sent yet) never collide, on MongoDB either.
            models.UniqueConstraint(fields=["message"], name="one_attachment_per_message")
        ]
        indexes = [
            # The sweep looks for old unsent uploads.
            models.Index(fields=["created_at"], name="attachment_created"),
        ]

    def __str__(self) -> str:
        return self.name
