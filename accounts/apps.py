from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        # Registers the deploy checks (ours and the middleware's: chatproject is not an app),
        # and the receivers that invalidate cached users on save.
        from accounts import checks, user_cache  # noqa: F401
        from chatproject import checks as middleware_checks  # noqa: F401
