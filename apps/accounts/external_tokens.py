"""JWT access tokens from one external OpenID provider, verified here against the provider's published keys.

Nothing is asked of the provider per request: its signing keys (JWKS) are fetched once and kept for the whole
process for `API_JWT_JWKS_CACHE_SECONDS`. A token signed with a key we do not know yet (the provider rotated its
keys) makes us fetch them again, but at most once per `REFRESH_COOLDOWN_SECONDS`, so made-up key ids cannot turn
every request into a call to the provider.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from time import monotonic
from typing import Any, ClassVar

import jwt
from django.conf import settings

from apps.accounts.models import TENANT_SCOPE_PREFIX
from apps.accounts.principal import ApiPrincipal
from apps.core.errors import ExpiredToken, InvalidToken

logger = logging.getLogger(__name__)

# header.payload.signature, each base64url without padding. Our own opaque tokens never contain a dot. The
# signature may be empty (`alg: none`): such a token is still a JWT, and is refused as one.
_JWT_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")

# Key types whose keys can only verify: a symmetric ("oct") key in a published key set is never used.
_PUBLIC_KEY_TYPES = {"RSA", "EC"}


def external_tokens_enabled() -> bool:
    return bool(settings.API_JWT_ISSUER)


def looks_like_jwt(raw: str) -> bool:
    return _JWT_SHAPE.fullmatch(raw) is not None


class KeysUnavailable(Exception):
    """The provider's keys could not be fetched (or are not usable); the reason has been logged."""


@dataclass(frozen=True)
class _Config:
    issuer: str
    jwks_url: str  # empty: discovered
    algorithms: tuple[str, ...]
    cache_seconds: int


@dataclass(frozen=True)
class _Fetched:
    keys: dict[str, dict[str, jwt.PyJWK]]  # kid -> algorithm -> key
    at: float  # monotonic()


class ProviderKeys:
    """The signing keys of the configured issuer, shared by every request of the process."""

    REFRESH_COOLDOWN_SECONDS: ClassVar[float] = 30.0
    # After a failed fetch, requests are refused without asking the provider again for this long: an outage
    # must not add a connection attempt (and its timeout) to every request.
    RETRY_AFTER_FAILURE_SECONDS: ClassVar[float] = 5.0
    FETCH_TIMEOUT_SECONDS: ClassVar[float] = 5.0

    _instances: ClassVar[dict[_Config, ProviderKeys]] = {}
    _instances_lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def for_settings(cls) -> ProviderKeys:
        config = _Config(
            issuer=settings.API_JWT_ISSUER,
            jwks_url=settings.API_JWT_JWKS_URL,
            algorithms=tuple(settings.API_JWT_ALGORITHMS),
            cache_seconds=settings.API_JWT_JWKS_CACHE_SECONDS,
        )
        with cls._instances_lock:
            if config not in cls._instances:
                cls._instances[config] = cls(config)
            return cls._instances[config]

    @classmethod
    def forget_all(cls) -> None:
        with cls._instances_lock:
            cls._instances.clear()

    def __init__(self, config: _Config) -> None:
        self._config = config
        self._jwks_url = config.jwks_url
        self._fetched: _Fetched | None = None  # replaced whole, so readers without the lock see one consistent set
        self._failed_at: float | None = None
        self._lock = threading.Lock()

    def key(self, kid: str, algorithm: str) -> jwt.PyJWK | None:
        """The key `kid` for `algorithm`, or None when the provider does not publish it.

        Raises KeysUnavailable when the keys are needed and cannot be fetched.
        """
        fetched = self._fetched
        if fetched is None or self._expired(fetched, monotonic()) or kid not in fetched.keys:
            # Only requests that need the provider wait for it; known keys are read without the lock.
            with self._lock:
                fetched = self._fetched_for(kid, monotonic())
        return fetched.keys.get(kid, {}).get(algorithm)

    def _expired(self, fetched: _Fetched, now: float) -> bool:
        return now - fetched.at >= self._config.cache_seconds

    def _fetched_for(self, kid: str, now: float) -> _Fetched:
        fetched = self._fetched
        if fetched is None or self._expired(fetched, now):
            return self._refresh(now)
        if kid not in fetched.keys and now - fetched.at >= self.REFRESH_COOLDOWN_SECONDS:
            return self._refresh(now)  # perhaps a key the provider has rotated in since we fetched
        return fetched

    def _refresh(self, now: float) -> _Fetched:
        if self._failed_at is not None and now - self._failed_at < self.RETRY_AFTER_FAILURE_SECONDS:
            raise KeysUnavailable()
        try:
            jwks = _fetch_json(self._jwks_url or self._discover_jwks_url())
            fetched = _Fetched(keys=self._usable_keys(jwks), at=now)
        except KeysUnavailable:
            self._failed_at = now
            self._jwks_url = self._config.jwks_url  # discover again next time: the provider may have moved it
            raise
        self._fetched, self._failed_at = fetched, None
        return fetched

    def _discover_jwks_url(self) -> str:
        issuer = self._config.issuer
        document = _fetch_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
        if document.get("issuer") != issuer:
            # OpenID Connect Discovery 1.0, 4.3: the document must name exactly the issuer it was fetched for.
            logger.warning(
                "The discovery document of %s names the issuer %r: check API_JWT_ISSUER", issuer, document.get("issuer")
            )
            raise KeysUnavailable()
        jwks_url = document.get("jwks_uri")
        if not isinstance(jwks_url, str) or not jwks_url.startswith(("https://", "http://")):
            logger.warning("The discovery document of %s has no usable jwks_uri: %r", issuer, jwks_url)
            raise KeysUnavailable()
        self._jwks_url = jwks_url
        return jwks_url

    def _usable_keys(self, jwks: Mapping[str, Any]) -> dict[str, dict[str, jwt.PyJWK]]:
        entries = jwks.get("keys")
        if not isinstance(entries, list):
            logger.warning("The key set of %s has no `keys` list", self._config.issuer)
            raise KeysUnavailable()
        keys: dict[str, dict[str, jwt.PyJWK]] = {}
        for entry in entries:
            if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
                continue
            kid, kty = entry.get("kid"), entry.get("kty")
            if not isinstance(kid, str) or kty not in _PUBLIC_KEY_TYPES:
                continue
            # A key that names its algorithm serves that one only; one that does not, any allowed algorithm of
            # its type (an RSA key without `alg` may sign RS256 and PS256 tokens).
            declared = entry.get("alg")
            for algorithm in self._config.algorithms if declared is None else [declared]:
                if algorithm not in self._config.algorithms:
                    continue
                try:
                    key = jwt.PyJWK(entry, algorithm=algorithm)
                except (jwt.PyJWTError, ValueError, TypeError):
                    continue  # not a key of this algorithm's type, or malformed
                keys.setdefault(kid, {})[algorithm] = key
        if not keys:
            logger.warning(
                "The key set of %s has no key for %s", self._config.issuer, ", ".join(self._config.algorithms)
            )
        return keys


def _fetch_json(url: str) -> dict[str, Any]:
    """A JSON object from the provider: PyJWT's fetching (http and https only, redirects refused), no caching."""
    client = jwt.PyJWKClient(url, cache_jwk_set=False, timeout=ProviderKeys.FETCH_TIMEOUT_SECONDS)
    try:
        data: dict[str, Any] = client.fetch_data()
    except (jwt.PyJWTError, ValueError, OSError) as error:
        logger.warning("Cannot fetch %s for API tokens of an external issuer: %s", url, error)
        raise KeysUnavailable() from None
    return data


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
        key = ProviderKeys.for_settings().key(kid, algorithm)
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
