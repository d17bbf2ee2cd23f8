"""What this service fetches from an external OpenID provider: its discovery document and its signing keys (JWKS).

The one home of that fetching and caching, for both users of a provider: console sign-in (apps/accounts/oidc.py,
ID tokens) and API access tokens (apps/accounts/external_tokens.py, JWTs). Each configuration gets one
`ProviderKeys` for the whole process, so nothing is asked of the provider per request:
- the discovery document is kept for `cache_seconds` and must name exactly the issuer it was fetched for;
- the key set is kept for `cache_seconds`; a token signed with a key we do not know yet (the provider rotated its
  keys) makes us fetch it again, but at most once per `REFRESH_COOLDOWN_SECONDS`, so made-up key ids cannot turn
  every request into a call to the provider;
- after a failed fetch nothing is asked for `RETRY_AFTER_FAILURE_SECONDS`: an outage must not add a connection
  attempt (and its timeout) to every request;
- only asymmetric keys of the pinned algorithms are ever used, and every fetch has a timeout and refuses redirects.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from time import monotonic
from typing import Any, ClassVar

import jwt

logger = logging.getLogger(__name__)

# Key types whose keys can only verify: a symmetric ("oct") key in a published key set is never used.
_PUBLIC_KEY_TYPES = {"RSA", "EC"}


class KeysUnavailable(Exception):
    """The provider's discovery document or keys could not be fetched (or are not usable); the details were
    logged, the message says why in short."""


@dataclass(frozen=True)
class ProviderConfig:
    issuer: str
    jwks_url: str  # empty: the discovery document's `jwks_uri`
    algorithms: tuple[str, ...]  # the only ones a key is used for
    cache_seconds: int
    discovery_url: str = ""  # empty: {issuer}/.well-known/openid-configuration
    timeout: float = 5.0  # of each fetch, in seconds


@dataclass(frozen=True)
class _Fetched:
    keys: dict[str, dict[str, jwt.PyJWK]]  # kid -> algorithm -> key
    at: float  # monotonic()


@dataclass(frozen=True)
class _Document:
    content: dict[str, Any]
    at: float  # monotonic()


class ProviderKeys:
    """The discovery document and signing keys of one configured provider, shared by every request of the process."""

    REFRESH_COOLDOWN_SECONDS: ClassVar[float] = 30.0
    RETRY_AFTER_FAILURE_SECONDS: ClassVar[float] = 5.0

    _instances: ClassVar[dict[ProviderConfig, ProviderKeys]] = {}
    _instances_lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def for_config(cls, config: ProviderConfig) -> ProviderKeys:
        with cls._instances_lock:
            if config not in cls._instances:
                cls._instances[config] = cls(config)
            return cls._instances[config]

    @classmethod
    def forget_all(cls) -> None:
        with cls._instances_lock:
            cls._instances.clear()

    def __init__(self, config: ProviderConfig) -> None:
        self._config = config
        self._jwks_url = config.jwks_url
        # Each replaced whole, so readers without the lock see one consistent value.
        self._fetched: _Fetched | None = None
        self._document: _Document | None = None
        self._failed_at: float | None = None
        self._lock = threading.RLock()  # a key refresh may discover the key set's URL under the same lock

    def document(self) -> dict[str, Any]:
        """The provider's discovery document (a copy); raises KeysUnavailable when it cannot be had."""
        document = self._document
        if document is None or self._expired(document.at, monotonic()):
            with self._lock:
                document = self._document_at(monotonic())
        return dict(document.content)

    def cached_document(self) -> dict[str, Any] | None:
        """The discovery document as last fetched, however old, without asking the provider; None if never fetched."""
        document = self._document
        return None if document is None else dict(document.content)

    def key(self, kid: str, algorithm: str) -> jwt.PyJWK | None:
        """The key `kid` for `algorithm`, or None when the provider does not publish it.

        Raises KeysUnavailable when the keys are needed and cannot be fetched.
        """
        fetched = self._fetched
        if fetched is None or self._expired(fetched.at, monotonic()) or kid not in fetched.keys:
            # Only requests that need the provider wait for it; known keys are read without the lock.
            with self._lock:
                fetched = self._fetched_for(kid, monotonic())
        return fetched.keys.get(kid, {}).get(algorithm)

    def _expired(self, at: float, now: float) -> bool:
        return now - at >= self._config.cache_seconds

    def _fetched_for(self, kid: str, now: float) -> _Fetched:
        fetched = self._fetched
        if fetched is None or self._expired(fetched.at, now):
            return self._refresh(now)
        if kid not in fetched.keys and now - fetched.at >= self.REFRESH_COOLDOWN_SECONDS:
            return self._refresh(now)  # perhaps a key the provider has rotated in since we fetched
        return fetched

    def _refresh(self, now: float) -> _Fetched:
        jwks = self._after_backoff(now, lambda: self._fetch_json(self._jwks_url or self._discover_jwks_url(now)))
        fetched = _Fetched(keys=self._usable_keys(jwks), at=now)
        self._fetched = fetched
        return fetched

    def _document_at(self, now: float) -> _Document:
        document = self._document
        if document is None or self._expired(document.at, now):
            document = _Document(content=self._after_backoff(now, self._fetch_document), at=now)
            self._document = document
        return document

    def _after_backoff(self, now: float, fetch: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """`fetch()`, unless a fetch failed just now; a failure forgets what was discovered, as the provider may
        have moved its endpoints."""
        if self._failed_at is not None and now - self._failed_at < self.RETRY_AFTER_FAILURE_SECONDS:
            raise KeysUnavailable("a fetch failed moments ago; the provider is not asked again yet")
        try:
            result = fetch()
        except KeysUnavailable:
            self._failed_at = now
            self._jwks_url, self._document = self._config.jwks_url, None
            raise
        self._failed_at = None
        return result

    def _fetch_document(self) -> dict[str, Any]:
        issuer = self._config.issuer
        url = self._config.discovery_url or issuer.rstrip("/") + "/.well-known/openid-configuration"
        document = self._fetch_json(url)
        if document.get("issuer") != issuer:
            # OpenID Connect Discovery 1.0, 4.3: the document must name exactly the issuer it was fetched for.
            reason = f"{url} names the issuer {document.get('issuer')!r}, not the configured {issuer}"
            logger.warning("%s", reason)
            raise KeysUnavailable(reason)
        return document

    def _discover_jwks_url(self, now: float) -> str:
        jwks_url = self._document_at(now).content.get("jwks_uri")
        if not isinstance(jwks_url, str) or not jwks_url.startswith(("https://", "http://")):
            logger.warning("The discovery document of %s has no usable jwks_uri: %r", self._config.issuer, jwks_url)
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
            for kid, algorithm, key in self._keys_of(entry):
                keys.setdefault(kid, {})[algorithm] = key
        if not keys:
            logger.warning(
                "The key set of %s has no key for %s", self._config.issuer, ", ".join(self._config.algorithms)
            )
        return keys

    def _keys_of(self, entry: Any) -> list[tuple[str, str, jwt.PyJWK]]:
        """A published key, once for each pinned algorithm it may verify; none when it is not a public signing key."""
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            return []
        kid, kty = entry.get("kid"), entry.get("kty")
        if not isinstance(kid, str) or kty not in _PUBLIC_KEY_TYPES:
            return []
        # A key that names its algorithm serves that one only; one that does not, any allowed algorithm of its
        # type (an RSA key without `alg` may sign RS256 and PS256 tokens).
        declared = entry.get("alg")
        found = []
        for algorithm in self._config.algorithms if declared is None else [declared]:
            if algorithm not in self._config.algorithms:
                continue
            try:
                found.append((kid, algorithm, jwt.PyJWK(entry, algorithm=algorithm)))
            except (jwt.PyJWTError, ValueError, TypeError):
                continue  # not a key of this algorithm's type, or malformed
        return found

    def _fetch_json(self, url: str) -> dict[str, Any]:
        """A JSON object from the provider: PyJWT's fetching (http and https only, redirects refused), no caching."""
        client = jwt.PyJWKClient(url, cache_jwk_set=False, timeout=self._config.timeout)
        try:
            data: dict[str, Any] = client.fetch_data()
        except (jwt.PyJWTError, ValueError, OSError) as error:
            logger.warning("Cannot fetch %s from the OpenID provider %s: %s", url, self._config.issuer, error)
            raise KeysUnavailable(f"cannot fetch {url}") from None
        return data
