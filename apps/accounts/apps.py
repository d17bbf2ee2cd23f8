from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"

    def ready(self) -> None:
        # Registers the OpenAPI description of the bearer-token scheme.
        from apps.accounts import openapi  # noqa: F401
