"""The error body every API endpoint answers with, for the OpenAPI document."""

from ninja import Field, Schema


class ErrorOut(Schema):
    """What went wrong, in a sentence; `errors` names the fields at fault, when there are any."""

    message: str = Field(examples=["Invalid email format"])
    errors: dict[str, list[str]] | None = Field(
        default=None, examples=[{"email": ["Invalid email format"]}]
    )


def error_responses(*statuses: int) -> dict[int, type[ErrorOut]]:
    """`response={200: UserOut, **error_responses(400, 401)}`: document these error statuses."""
    return dict.fromkeys(statuses, ErrorOut)
