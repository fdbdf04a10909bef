"""Conversations (direct or group), their members with read/delivered cursors, and messages.

docs/MESSAGING.md ("The data model") says why it is shaped this way; in short:
- every message belongs to a conversation and has `seq`, its place in it (1, 2, 3...), so a
  member's unread count is `last_seq - read_seq - sent_since_read` (their own messages after
  their read cursor), with no counter to update for the other members of each message;
- delivered and read are cursors per member (`delivered_seq`, `read_seq`), moved by one row
  update, and every move is also logged (`ReceiptMark`) so "when did Bob read message 12" has
  an exact answer;
- the sidebar reads one row per conversation (`last_message`, `last_seq`, `last_message_at`),
  whatever the length of the history.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

TEXT_MAX_LENGTH = 5000
CLIENT_ID_MAX_LENGTH = 64
TITLE_MAX_LENGTH = 100
# Code points: the longest fully qualified emoji (a kiss with two skin tones) has 10.
EMOJI_MAX_LENGTH = 32


class Conversation(models.Model):
    class Kind(models.TextChoices):
        DIRECT = "direct", "Direct"
        GROUP = "group", "Group"

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.DIRECT)
    title = models.CharField(max_length=TITLE_MAX_LENGTH, blank=True)
    picture = models.CharField(max_length=500, blank=True, help_text="Storage name of the picture.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # "<smaller user pk>:<larger user pk>" for the one direct conversation of a pair; NULL for
    # groups (NULLs never collide: on MongoDB the unique index filters on `$type: "string"`).
    direct_key = models.CharField(max_length=64, null=True, blank=True)
    last_seq = models.PositiveBigIntegerField(default=0)
    last_message = models.ForeignKey(
        "Message",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,  # a pointer kept by the services, not a relation to enforce
        related_name="+",
    )
    last_message_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["direct_key"], name="unique_direct_pair")]
        indexes = [models.Index(fields=["-last_message_at"], name="conv_recent")]

    def __str__(self) -> str:
        return self.title or f"{self.get_kind_display()} conversation {self.pk}"

    @property
    def is_group(self) -> bool:
        return self.kind == self.Kind.GROUP


class Membership(models.Model):
    """A user in a conversation, with what they may see and how far they have got."""

    class Role(models.TextChoices):
        MEMBER = "member", "Member"
        ADMIN = "admin", "Admin"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(default=timezone.now)
    # Messages with seq > visible_from_seq are theirs to read (those from before they joined
    # are not); while they are out (left or removed), only up to visible_until_seq.
    visible_from_seq = models.PositiveBigIntegerField(default=0)
    left_at = models.DateTimeField(null=True, blank=True)
    visible_until_seq = models.PositiveBigIntegerField(null=True, blank=True)
    read_seq = models.PositiveBigIntegerField(default=0)
    read_at = models.DateTimeField(null=True, blank=True)
    # Their own messages after read_seq: unread = last_seq - read_seq - sent_since_read, so
    # writing never counts as unread and never marks anything read.
    sent_since_read = models.PositiveIntegerField(default=0)
    delivered_seq = models.PositiveBigIntegerField(default=0)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # Muted by this member: no notification, a quiet unread count (docs/SAFETY.md).
    muted = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user"], name="unique_member")
        ]
        indexes = [models.Index(fields=["user", "conversation"], name="member_of")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.conversation_id} ({self.role})"

    @property
    def active(self) -> bool:
        return self.left_at is None


class Message(models.Model):
    """One message of a conversation; `seq` orders it there (ids order all messages too)."""

    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        SYSTEM = "system", "System"  # "Alice added Dan": `event` says what happened

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    seq = models.PositiveBigIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TEXT)
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sent_messages"
    )
    # The other person of a direct conversation (the seed API's `receiverId`); NULL in groups.
    receiver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="received_messages",
    )
    text = models.TextField(blank=True, max_length=TEXT_MAX_LENGTH)
    image = models.CharField(max_length=500, blank=True, help_text="Storage name of the image.")
    event = models.JSONField(null=True, blank=True, help_text="What a system line records.")
    # Chosen by the sending client so a retried send never creates a second message. NULL when
    # the client sent none: NULLs never collide, on SQL and on MongoDB alike (there the unique
    # index gets a partialFilterExpression `{client_id: {$type: "string"}}`).
    client_id = models.CharField(max_length=CLIENT_ID_MAX_LENGTH, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # The message this one answers: read by id in a second query (no join), and kept when that
    # message is deleted or purged (the quote then says "deleted").
    reply_to = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    edited_at = models.DateTimeField(null=True, blank=True)
    # Deleted for everyone: the row stays (seqs stay continuous), its content is gone.
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Its sender, or the operator who deleted it.",
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["sender", "client_id"], name="unique_client_id_per_sender"
            ),
            models.UniqueConstraint(fields=["conversation", "seq"], name="unique_seq"),
        ]
        indexes = [
            # purge_messages and chat_stats select by age. (Pages walk unique_seq.)
            models.Index(fields=["created_at"], name="msg_created"),
        ]

    def __str__(self) -> str:
        if self.deleted_at is not None:
            preview = "[deleted]"
        else:
            preview = self.text[:40] if self.text else ("[event]" if self.event else "[image]")
        return f"{self.sender_id} in {self.conversation_id}: {preview}"


class MessageEdit(models.Model):
    """The text a message had before one edit: the history operators see in the admin."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="edits")
    text = models.TextField(blank=True)
    edited_at = models.DateTimeField(default=timezone.now)
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["edited_at", "id"]

    def __str__(self) -> str:
        return f"{self.message_id} before {self.edited_at:%Y-%m-%d %H:%M:%S}"


class Reaction(models.Model):
    """One person's emoji on one message (at most once each: the unique constraint says so)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reactions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    emoji = models.CharField(max_length=EMOJI_MAX_LENGTH)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        # A page reads its messages' reactions by message id: the foreign key's own index.
        constraints = [
            models.UniqueConstraint(fields=["message", "user", "emoji"], name="unique_reaction")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.emoji} on {self.message_id}"


class ReceiptMark(models.Model):
    """One move of a member's delivered or read cursor: they had everything up to `up_to_seq`
    at `at`. The first mark at or past a message's seq says when that message got there."""

    class Kind(models.TextChoices):
        DELIVERED = "delivered", "Delivered"
        READ = "read", "Read"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    up_to_seq = models.PositiveBigIntegerField()
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(
                fields=["conversation", "user", "kind", "up_to_seq"], name="receipt_lookup"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.conversation_id} up to {self.up_to_seq}"
