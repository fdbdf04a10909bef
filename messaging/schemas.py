from typing import Any

from ninja import Field, Schema

from accounts.schemas import UserOut
from attachments.schemas import AttachmentOut


class SendIn(Schema):
    text: str | None = None
    image: str | None = None
    clientId: str | None = None
    attachmentId: str | None = Field(
        None, description="A file uploaded to this conversation before, not sent yet."
    )


class ReadIn(Schema):
    upTo: str | None = None


class MessageOut(Schema):
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


class SentMessageOut(MessageOut):
    """A message as the send endpoints and `newMessage` carry it."""

    prevId: str | None = Field(
        None, description="The previous message of this conversation; null for the first."
    )


class ContactOut(UserOut):
    unreadCount: int
    lastMessage: MessageOut | None = None


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


class ConversationMessageOut(MessageOut):
    """A message of a conversation: text lines and system lines ("Alice added Dan")."""

    kind: str = Field("text", description='"text", or "system" for a line recording an event.')
    event: dict[str, Any] | None = Field(
        None, description="What a system line records: {type, actor, users?, title?}."
    )


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
    lastMessage: ConversationMessageOut | None = None
    lastActivityAt: str
    unreadCount: int
    role: str = Field(..., description='Your role: "admin" or "member".')
    active: bool = Field(..., description="False once you left or were removed (read-only).")
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
