from ninja import Field, Schema


class AttachmentOut(Schema):
    """A file: the sender's name for it, its size in bytes, what it is, where to download it."""

    id: str = Field(..., alias="_id")
    name: str = Field(..., description="The sender's file name, cleaned; show it as text.")
    size: int = Field(..., description="Bytes.")
    type: str = Field(..., description="The MIME type decided from the file's content.")
    url: str = Field(
        ..., description="Where members download it (checked on every request; not public)."
    )
