from __future__ import annotations

from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator

from apps.accounts.hashers import dummy_verify
from apps.accounts.models import ApiClient
from apps.accounts.services import api_client_secret_check


class TenantClientValidator(OAuth2Validator):  # type: ignore[misc]
    """Grants the requested scopes plus, always, `tenant=<name>`, as the published token endpoint does.

    Client secrets are checked against their keyed hash (apps/accounts/hashers.py), and a client id that matches no
    usable client costs the same verification as a wrong secret, so response times do not tell which ids exist.
    """

    def validate_scopes(
        self, client_id: str, scopes: list[str], client: ApiClient, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        if not super().validate_scopes(client_id, scopes, client, request, *args, **kwargs):
            return False
        if client.tenant_scope not in scopes:
            request.scopes = [*scopes, client.tenant_scope]
        return True

    def _load_application(self, client_id: str, request: Any) -> ApiClient | None:
        client: ApiClient | None = super()._load_application(client_id, request)
        if client is None:
            dummy_verify(getattr(request, "client_secret", None) or "")
        return client

    def _check_secret(self, provided_secret: str, stored_secret: str) -> bool:
        return api_client_secret_check(secret=provided_secret, stored=stored_secret)
