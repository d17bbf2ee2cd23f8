"""Writes for API clients."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import get_access_token_model

from apps.accounts.models import ApiClient, Scope
from apps.tenants.models import Tenant


@dataclass(frozen=True)
class IssuedClient:
    client: ApiClient
    client_secret: str  # the only time the plain secret exists outside the client's hands


def api_client_create(*, tenant: Tenant, scopes: list[str], name: str = "") -> IssuedClient:
    unknown = sorted(set(scopes) - set(Scope.values))
    if unknown:
        raise ValidationError(f"Unknown scope(s): {', '.join(unknown)}; known: {', '.join(Scope.values)}")
    if not scopes:
        raise ValidationError("An API client needs at least one scope.")
    secret = generate_client_secret()
    client = ApiClient.objects.create(
        tenant=tenant,
        name=name or f"{tenant.name} API client",
        scopes=" ".join(dict.fromkeys(scopes)),
        client_type=ApiClient.CLIENT_CONFIDENTIAL,
        authorization_grant_type=ApiClient.GRANT_CLIENT_CREDENTIALS,
        client_secret=secret,
        hash_client_secret=True,
    )
    return IssuedClient(client=client, client_secret=secret)


@transaction.atomic
def api_client_revoke(*, client: ApiClient) -> None:
    """Refuse new tokens and invalidate the ones already issued."""
    client.revoked_at = timezone.now()
    client.save(update_fields=["revoked_at"])
    get_access_token_model().objects.filter(application=client).delete()
