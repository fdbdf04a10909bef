from django.conf import settings
from django.db import models
from django.utils import timezone

TEXT_MAX_LENGTH = 5000
CLIENT_ID_MAX_LENGTH = 64


class Message(models.Model):
    """One chat message from `sender` to `receiver`; ids order messages (newest = largest id)."""

    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sent_messages"
    )
    receiver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="received_messages"
    )
    text = models.TextField(blank=True, max_length=TEXT_MAX_LENGTH)
    image = models.CharField(max_length=500, blank=True, help_text="Storage name of the image.")
    # Chosen by the sending client so a retried send never creates a second message. NULL when
    # the client sent none: NULLs never collide, on SQL and on MongoDB alike (there the unique
    # index gets a partialFilterExpression `{client_id: {$type: "string"}}`).
    client_id = models.CharField(max_length=CLIENT_ID_MAX_LENGTH, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["sender", "client_id"], name="unique_client_id_per_sender"
            )
        ]
        indexes = [
            # A conversation page, newest first, from either side.
            models.Index(fields=["sender", "receiver", "-id"], name="msg_pair_page"),
            # Unread counts and receipts: messages to me not yet read/delivered.
            models.Index(fields=["receiver", "read_at"], name="msg_unread"),
            models.Index(fields=["receiver", "delivered_at"], name="msg_undelivered"),
            # purge_messages and chat_stats select by age.
            models.Index(fields=["created_at"], name="msg_created"),
        ]

    def __str__(self) -> str:
        preview = self.text[:40] if self.text else "[image]"
        return f"{self.sender_id} -> {self.receiver_id}: {preview}"
