"""The error every service raises: a human sentence and the HTTP status it maps to."""


class ServiceError(Exception):
    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        errors: dict[str, list[str]] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.errors = errors
        self.retry_after = retry_after
