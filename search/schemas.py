"""The JSON of a message search (docs/SEARCH.md)."""

from ninja import Field, Schema

from messaging.schemas import MessageOut


class SnippetPartOut(Schema):
    text: str
    match: bool = Field(..., description="A word that matches a search word: show it marked.")


class SearchConversationOut(Schema):
    id: str = Field(..., alias="_id")
    kind: str = Field(..., description="direct or group")
    title: str = Field(..., description="The group's title, or the other person's name.")


class SearchSenderOut(Schema):
    id: str = Field(..., alias="_id")
    fullName: str


class SearchResultOut(Schema):
    message: MessageOut = Field(
        ..., description="The Message as pages carry it (deliveredAt/readAt null here)."
    )
    conversation: SearchConversationOut
    sender: SearchSenderOut
    snippet: list[SnippetPartOut] = Field(
        ..., description="The text (cut around the first match when long) in parts."
    )


class SearchOut(Schema):
    results: list[SearchResultOut]
    nextBefore: str | None = Field(
        None, description="Pass as `before` for the next (older) page; null: no more."
    )
