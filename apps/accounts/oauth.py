from __future__ import annotations

from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator

from apps.accounts.models import ApiClient


class TenantClientValidator(OAuth2Validator):  # type: ignore[misc]
    """Grants the requested scopes plus, always, `tenant=<name>`, as the published token endpoint does."""

    def validate_scopes(
        self, client_id: str, scopes: list[str], client: ApiClient, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        if not super().validate_scopes(client_id, scopes, client, request, *args, **kwargs):
            return False
        if client.tenant_scope not in scopes:
            request.scopes = [*scopes, client.tenant_scope]
        return True
