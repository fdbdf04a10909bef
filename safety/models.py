"""Blocks between people and reports of messages (docs/SAFETY.md).

A block is one row per (blocker, blocked): it works both ways (neither can message the other)
but only the blocker can lift it. A report names a message; `open_key` keeps one open report
per reporter and message (NULL once handled: NULLs never collide, on MongoDB too).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

NOTE_MAX_LENGTH = 500


class Block(models.Model):
    blocker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_made"
    )
    blocked = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_received"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["blocker", "blocked"], name="unique_block")]
        # "Who blocked me" reads by `blocked`; "whom did I block" walks unique_block.
        indexes = [models.Index(fields=["blocked"], name="block_received")]

    def __str__(self) -> str:
        return f"{self.blocker_id} blocks {self.blocked_id}"


class Report(models.Model):
    class Reason(models.TextChoices):
        SPAM = "spam", "Spam"
        HARASSMENT = "harassment", "Harassment or bullying"
        HATE = "hate", "Hate speech"
        SEXUAL = "sexual", "Sexual content"
        VIOLENCE = "violence", "Violence or threats"
        OTHER = "other", "Something else"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DELETED = "deleted", "Message deleted"
        DEACTIVATED = "deactivated", "Sender deactivated"
        DISMISSED = "dismissed", "Dismissed"

    message = models.ForeignKey(
        "messaging.Message", on_delete=models.CASCADE, related_name="reports"
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports_made"
    )
    reason = models.CharField(max_length=20, choices=Reason.choices)
    note = models.TextField(blank=True, max_length=NOTE_MAX_LENGTH)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    # "<reporter pk>:<message pk>" while open, NULL once handled.
    open_key = models.CharField(max_length=64, null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["open_key"], name="unique_open_report")]
        indexes = [models.Index(fields=["status", "-created_at"], name="report_queue")]

    def __str__(self) -> str:
        return f"Report {self.pk} on {self.message_id} ({self.status})"
