"""JWT access tokens from one external OpenID provider, verified here against the provider's published keys.

Nothing is asked of the provider per request: its signing keys (JWKS) are fetched and kept for the whole process
for `API_JWT_JWKS_CACHE_SECONDS` by apps/accounts/provider_keys.py, which also limits how often a token with an
unknown key id makes us fetch them again.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

import jwt
from django.conf import settings

from apps.accounts.models import TENANT_SCOPE_PREFIX
from apps.accounts.principal import ApiPrincipal
from apps.accounts.provider_keys import KeysUnavailable, ProviderConfig, ProviderKeys
from apps.core.errors import ExpiredToken, InvalidToken

logger = logging.getLogger(__name__)

# header.payload.signature, each base64url without padding. Our own opaque tokens never contain a dot. The
# signature may be empty (`alg: none`): such a token is still a JWT, and is refused as one.
_JWT_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


def external_tokens_enabled() -> bool:
    return bool(settings.API_JWT_ISSUER)


def looks_like_jwt(raw: str) -> bool:
    return _JWT_SHAPE.fullmatch(raw) is not None


def _provider_keys() -> ProviderKeys:
    """The configured issuer's keys, kept for `API_JWT_JWKS_CACHE_SECONDS`."""
    return ProviderKeys.for_config(
        ProviderConfig(
            issuer=settings.API_JWT_ISSUER,
            jwks_url=settings.API_JWT_JWKS_URL,
            algorithms=tuple(settings.API_JWT_ALGORITHMS),
            cache_seconds=settings.API_JWT_JWKS_CACHE_SECONDS,
        )
    )


def principal_from_jwt(raw: str) -> ApiPrincipal:
    """The caller a JWT of the configured issuer names; InvalidToken or ExpiredToken if it is not good."""
    try:
        header = jwt.get_unverified_header(raw)
    except jwt.PyJWTError:
        raise InvalidToken() from None
    algorithm, kid = header.get("alg"), header.get("kid")
    if algorithm not in settings.API_JWT_ALGORITHMS or not isinstance(kid, str):
        raise InvalidToken()
    try:
        key = _provider_keys().key(kid, algorithm)
    except KeysUnavailable:
        raise InvalidToken() from None
    if key is None:
        raise InvalidToken()
    try:
        claims = jwt.decode(
            raw,
            key,
            algorithms=[algorithm],
            issuer=settings.API_JWT_ISSUER,
            audience=settings.API_JWT_AUDIENCE,
            leeway=settings.API_JWT_LEEWAY_SECONDS,
            options={"require": ["exp", "iss", "aud"], "enforce_minimum_key_length": True},
        )
    except jwt.ExpiredSignatureError:
        raise ExpiredToken() from None
    except jwt.PyJWTError as error:
        logger.debug("External access token refused: %s", error)
        raise InvalidToken() from None
    scopes = _scopes(claims)
    subject = claims["sub"] if isinstance(claims.get("sub"), str) else ""
    return ApiPrincipal(tenant=_tenant(claims, scopes), scopes=scopes, client_id=_client_id(claims), subject=subject)


def _scopes(claims: Mapping[str, Any]) -> frozenset[str]:
    # `scope` is a space-separated string (RFC 8693, RFC 9068); some providers send `scp`, a list or a string.
    value = claims["scope"] if "scope" in claims else claims.get("scp", "")
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return frozenset(value)
    raise InvalidToken()


def _tenant(claims: Mapping[str, Any], scopes: frozenset[str]) -> str:
    """The one tenant the token is for: the tenant claim, else a `tenant=<name>` scope; both must agree."""
    from_scopes = {s[len(TENANT_SCOPE_PREFIX) :] for s in scopes if s.startswith(TENANT_SCOPE_PREFIX)}
    claimed = claims.get(settings.API_JWT_TENANT_CLAIM)
    if claimed is not None:
        if not isinstance(claimed, str) or not claimed or not from_scopes <= {claimed}:
            raise InvalidToken()
        return claimed
    if len(from_scopes) != 1:
        raise InvalidToken()
    (tenant,) = from_scopes
    if not tenant:
        raise InvalidToken()
    return tenant


def _client_id(claims: Mapping[str, Any]) -> str:
    for name in ("client_id", "azp", "sub"):  # RFC 9068 names `client_id`; older providers only `azp` or `sub`
        value = claims.get(name)
        if isinstance(value, str) and value:
            return value
    return ""
