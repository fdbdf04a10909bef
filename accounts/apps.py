from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        # Registers the deploy checks, and the receivers that invalidate cached users on save.
        from accounts import checks, user_cache  # noqa: F401
