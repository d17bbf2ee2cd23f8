"""Bearer-token authentication for the API, answering 401 in the gateway's fault shape.

Two kinds of bearer token: opaque ones from our own token endpoint, looked up in the database, and, when an
external issuer is configured (`API_JWT_ISSUER`), JWT access tokens of that issuer, verified against its keys.
"""

from __future__ import annotations

import hashlib

from django.utils import timezone
from oauth2_provider.models import get_access_token_model
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from apps.accounts.external_tokens import external_tokens_enabled, looks_like_jwt, principal_from_jwt
from apps.accounts.models import TENANT_SCOPE_PREFIX
from apps.accounts.principal import ApiPrincipal
from apps.core import logs
from apps.core.compiled import CompiledQuery
from apps.core.errors import ExpiredToken, InvalidToken

AccessToken = get_access_token_model()


def _bearer_token(request: Request) -> str | None:
    header = str(request.META.get("HTTP_AUTHORIZATION", ""))
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None if not header else ""
    return token.strip()


# The token with its client and the client's tenant, by its checksum: every API request runs it, compiled once.
_CALLER = CompiledQuery(
    lambda checksum: (
        # Inner joins: a token without a client, or a client without a tenant, is no token.
        AccessToken.objects.filter(
            token_checksum=checksum, application__tenant__isnull=False, application__revoked_at=None
        ).values("expires", "scope", "application__client_id", "application__tenant_id", "application__tenant__name")
    ),
    checksum="0" * 64,
)


def principal_from_access_token(raw: str) -> ApiPrincipal:
    """The caller an opaque token of ours names, read in one query with its client and the client's tenant.

    Read from the database on every request, with no cache: a revoked client's tokens (deleted by the revoke, and
    refused here by `revoked_at` too) stop working at once in every process."""
    checksum = hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()
    row = _CALLER.first(checksum=checksum)
    if row is None:
        raise InvalidToken()
    if row["expires"] <= timezone.now():
        raise ExpiredToken()
    scopes = row["scope"].split()
    tenant_name = row["application__tenant__name"]
    tenants = [s[len(TENANT_SCOPE_PREFIX) :] for s in scopes if s.startswith(TENANT_SCOPE_PREFIX)]
    # The scope names the tenant the token was issued for; its client's tenant is the one it may act for.
    if tenants != [tenant_name]:
        raise InvalidToken()
    return ApiPrincipal(
        tenant=tenant_name,
        scopes=frozenset(scopes),
        client_id=row["application__client_id"],
        tenant_id=row["application__tenant_id"],
    )


class BearerTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[None, ApiPrincipal] | None:
        raw = _bearer_token(request)
        if raw is None:
            return None
        if not raw:
            raise InvalidToken()
        if external_tokens_enabled() and looks_like_jwt(raw):
            principal = principal_from_jwt(raw)
        else:
            # Our own tokens never look like a JWT; with no external issuer configured, a JWT is just an unknown token.
            principal = principal_from_access_token(raw)
        # From here on the request's log lines name who is calling (never the token itself).
        logs.bind(tenant=principal.tenant, client_id=principal.client_id, user_id=principal.subject or None)
        return None, principal

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="ai-service"'
