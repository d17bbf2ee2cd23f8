"""Writes for API clients."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.hashers import check_password, identify_hasher, make_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import get_access_token_model
from oauth2_provider.settings import oauth2_settings

from apps.accounts.hashers import ClientSecretHasher
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


def api_client_secret_check(*, secret: str, stored: str) -> bool:
    """Whether `secret` is the client secret that `stored` was made from, in constant time.

    Secrets stored another way (PBKDF2, from before the keyed hash; or in clear) still verify, and are stored again
    under the keyed hash on their first successful use, so their slow verification goes away with it.
    """
    try:
        hasher = identify_hasher(stored)
    except ValueError:
        matches = constant_time_compare(secret, stored)
    else:
        if hasher.algorithm == ClientSecretHasher.algorithm:
            return hasher.verify(secret, stored)
        matches = check_password(secret, stored)
    if matches:
        _rehash_client_secret(secret=secret, stored=stored)
    return matches


def _rehash_client_secret(*, secret: str, stored: str) -> None:
    # Keyed on the old value: of two requests re-hashing at once, the second finds nothing left to change.
    rehashed = make_password(secret, hasher=oauth2_settings.CLIENT_SECRET_HASHER)
    ApiClient.objects.filter(client_secret=stored).update(client_secret=rehashed)
