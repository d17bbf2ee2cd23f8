from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"

    def ready(self) -> None:
        # Registers the OpenAPI description of the bearer-token scheme, and the sign-in guard.
        from apps.accounts import openapi, signals  # noqa: F401
