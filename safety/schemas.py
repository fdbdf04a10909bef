from ninja import Field, Schema
from pydantic import StrictStr


class DirectoryUserOut(Schema):
    id: str = Field(..., alias="_id")
    fullName: str
    profilePic: str
    email: str | None = Field(
        None, description="Only for people you share a conversation with, or the exact match."
    )
    isContact: bool = Field(..., description="You share a conversation with them.")


class BlockIn(Schema):
    userId: StrictStr


class BlockedUserOut(Schema):
    id: str = Field(..., alias="_id")
    fullName: str
    profilePic: str
    blockedAt: str


class UnblockedOut(Schema):
    userId: str
    blocked: bool


class ReportIn(Schema):
    reason: StrictStr = Field(..., description="spam, harassment, hate, sexual, violence or other.")
    note: StrictStr | None = Field(None, description="Up to 500 characters for the moderators.")


class ReportOut(Schema):
    id: str = Field(..., alias="_id")
    messageId: str
    reason: str
    status: str
    createdAt: str
