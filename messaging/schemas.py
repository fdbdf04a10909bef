from typing import Any

from ninja import Field, Schema

from accounts.schemas import UserOut
from attachments.schemas import AttachmentOut


class SendIn(Schema):
    text: str | None = None
    image: str | None = None
    clientId: str | None = None
    replyTo: str | None = Field(
        None, description="The id of the message this one answers (of the same conversation)."
    )
    attachmentId: str | None = Field(
        None, description="A file uploaded to this conversation before, not sent yet."
    )


class ReadIn(Schema):
    upTo: str | None = None


class ReplyOut(Schema):
    """The quote above a reply: the original as it is now."""

    id: str = Field(..., alias="_id")
    senderId: str | None = Field(None, description="Null once the original was purged.")
    text: str | None = Field(None, description="Its first 200 characters; null when it has none.")
    image: bool = Field(..., description="The original has a picture.")
    deleted: bool = Field(..., description="The original was deleted: no text, no picture.")


class ReactionOut(Schema):
    emoji: str
    count: int
    userIds: list[str] = Field(..., description="Who reacted, in the order they did.")


class MessagePreviewOut(Schema):
    """A message as a sidebar shows it last: the Message without `replyTo` and `reactions`."""

    id: str = Field(..., alias="_id")
    conversationId: str
    seq: int = Field(..., description="The message's place in its conversation: 1, 2, 3...")
    senderId: str
    receiverId: str | None = Field(
        None, description="The other person of a direct conversation; null in groups."
    )
    text: str | None = None
    image: str | None = None
    file: AttachmentOut | None = Field(None, description="The attached file, if any.")
    createdAt: str
    updatedAt: str
    clientId: str | None = None
    deliveredAt: str | None = None
    readAt: str | None = None
    editedAt: str | None = Field(None, description="When its text last changed; null if never.")
    deletedAt: str | None = Field(
        None, description="Deleted for everyone: `text` and `image` are null from then on."
    )


class MessageOut(MessagePreviewOut):
    replyTo: ReplyOut | None = Field(None, description="The message this one answers.")
    reactions: list[ReactionOut] = Field(
        default_factory=list, description="One entry per emoji, the first used first."
    )


class SentMessageOut(MessageOut):
    """A message as the send endpoints and `newMessage` carry it."""

    prevId: str | None = Field(
        None, description="The previous message of this conversation; null for the first."
    )


class ContactOut(UserOut):
    unreadCount: int
    lastMessage: MessagePreviewOut | None = None


class ReadOut(Schema):
    message: str
    updated: int


# --- Conversations (/api/conversations/) ---------------------------------------------------------


class ConversationCreateIn(Schema):
    """Either `userId` (the direct conversation with that person) or a group's fields."""

    userId: str | None = None
    title: str | None = None
    memberIds: list[str] | None = None
    picture: str | None = None


class ConversationUpdateIn(Schema):
    title: str | None = None
    picture: str | None = None


class MembersAddIn(Schema):
    userIds: list[str] | None = None


class RoleIn(Schema):
    role: str | None = None


KIND = '"text", or "system" for a line recording an event.'
EVENT = "What a system line records: {type, actor, users?, title?}."


class ConversationMessageOut(MessageOut):
    """A message of a conversation: text lines and system lines ("Alice added Dan")."""

    kind: str = Field("text", description=KIND)
    event: dict[str, Any] | None = Field(None, description=EVENT)


class ConversationMessagePreviewOut(MessagePreviewOut):
    """A conversation's last message as its sidebar row shows it."""

    kind: str = Field("text", description=KIND)
    event: dict[str, Any] | None = Field(None, description=EVENT)


class ConversationSentMessageOut(ConversationMessageOut):
    """A message as the conversation send endpoint answers it."""

    prevId: str | None = Field(
        None, description="The previous message of this conversation; null for the first."
    )


class MemberOut(Schema):
    userId: str
    role: str
    joinedAt: str
    leftAt: str | None = None
    readSeq: int
    readAt: str | None = None
    deliveredSeq: int
    deliveredAt: str | None = None
    user: UserOut


class ConversationOut(Schema):
    id: str = Field(..., alias="_id")
    kind: str = Field(..., description='"direct" or "group".')
    title: str
    picture: str | None = None
    createdBy: str | None = None
    createdAt: str
    updatedAt: str
    lastSeq: int
    lastMessage: ConversationMessagePreviewOut | None = None
    lastActivityAt: str
    unreadCount: int
    role: str = Field(..., description='Your role: "admin" or "member".')
    active: bool = Field(..., description="False once you left or were removed (read-only).")
    muted: bool = Field(False, description="You muted it: no notifications, a quiet count.")
    memberCount: int = Field(..., description="People in it now.")
    peer: UserOut | None = Field(None, description="The other person of a direct conversation.")


class ConversationDetailOut(ConversationOut):
    members: list[MemberOut]


class ReceiptOut(Schema):
    userId: str
    at: str | None = None


class MessageReceiptsOut(Schema):
    messageId: str
    seq: int
    deliveredTo: list[ReceiptOut]
    readBy: list[ReceiptOut]


class LeftOut(Schema):
    message: str


# --- Message actions --------------------------------------------------------------------------


class MessageEditIn(Schema):
    text: str | None = None


class ReactionIn(Schema):
    emoji: str | None = Field(None, description="One emoji (skin tones and joined ones too).")


class ReactionsOut(Schema):
    messageId: str
    reactions: list[ReactionOut]
