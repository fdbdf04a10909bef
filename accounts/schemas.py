from ninja import Field, Schema


class SignupIn(Schema):
    fullName: str | None = None
    email: str | None = None
    password: str | None = None


class LoginIn(Schema):
    email: str | None = None
    password: str | None = None


class ProfileIn(Schema):
    profilePic: str | None = None
    fullName: str | None = None


class PasswordIn(Schema):
    currentPassword: str | None = None
    newPassword: str | None = None


class ThemeIn(Schema):
    theme: str | None = None


class LogoutOut(Schema):
    """The logout confirmation (not a chat message: that is messaging's MessageOut)."""

    message: str


class UserOut(Schema):
    id: str = Field(..., alias="_id")
    fullName: str
    email: str
    profilePic: str
    createdAt: str
    updatedAt: str
    lastSeen: str | None = None
