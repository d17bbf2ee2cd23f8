"""Which scopes a client may be granted: its own allowed scopes, and the `tenant=<name>` marker of its tenant."""

from __future__ import annotations

from typing import Any

from oauth2_provider.scopes import BaseScopes

from apps.accounts.models import ApiClient, Scope


class TenantScopes(BaseScopes):  # type: ignore[misc]
    def get_all_scopes(self) -> dict[str, str]:
        return {str(value): str(label) for value, label in Scope.choices}

    def get_available_scopes(
        self, application: ApiClient | None = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        if application is None:
            return list(self.get_all_scopes())
        return [*application.allowed_scopes, application.tenant_scope]

    def get_default_scopes(
        self, application: ApiClient | None = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        return self.get_available_scopes(application, request)
