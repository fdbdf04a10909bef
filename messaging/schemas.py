from ninja import Field, Schema

from accounts.schemas import UserOut


class SendIn(Schema):
    text: str | None = None
    image: str | None = None
    clientId: str | None = None


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
