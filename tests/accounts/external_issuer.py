"""A stand-in external issuer of API tokens for the tests of JWT access tokens (API_JWT_*): the provider (a real
HTTP server on 127.0.0.1, tests/jwks_server.py), the API configured for it, a clock for the key cache, the answers
a refused token gets, and the bad tokens every refusal test draws from. The fixtures reach the tests of
tests/accounts through its conftest.py."""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import jwt
import pytest

from apps.accounts import provider_keys
from apps.accounts.provider_keys import ProviderKeys
from tests.conftest import ApiClientForTests
from tests.jwks_server import AUDIENCE, JwksServer, SigningKey, forge

INVALID = {"fault": {"faultstring": "Invalid access token", "detail": {"errorcode": "oauth.v2.InvalidAccessToken"}}}
EXPIRED = {
    "fault": {
        "faultstring": "Access Token expired",
        "detail": {"errorcode": "keymanagement.service.access_token_expired"},
    }
}
JOBS = "/ai-service/acme/jobs"


class FakeClock:
    """Stands in for time.monotonic in apps.accounts.provider_keys: the key cache's ages move only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def keys_forgotten() -> Iterator[None]:
    """No provider's keys or discovery document kept from one test to the next."""
    ProviderKeys.forget_all()
    yield
    ProviderKeys.forget_all()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(provider_keys, "monotonic", fake)
    return fake


@pytest.fixture
def provider() -> Iterator[JwksServer]:
    server = JwksServer().start()
    yield server
    server.stop()


@pytest.fixture
def issuer(settings: Any, provider: JwksServer, clock: FakeClock) -> JwksServer:
    """The API configured for the provider's tokens, with the defaults of config/settings/base.py."""
    settings.API_JWT_ISSUER = provider.issuer
    settings.API_JWT_AUDIENCE = AUDIENCE
    settings.API_JWT_JWKS_URL = ""
    settings.API_JWT_ALGORITHMS = ["RS256"]
    settings.API_JWT_TENANT_CLAIM = "tenant"
    settings.API_JWT_LEEWAY_SECONDS = 30
    settings.API_JWT_JWKS_CACHE_SECONDS = 300
    return provider


def get_jobs(api: ApiClientForTests, token: str, path: str = JOBS) -> Any:
    return api.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")


def assert_invalid(response: Any) -> None:
    assert response.status_code == 401
    assert response.json() == INVALID
    assert response["WWW-Authenticate"].startswith("Bearer")


def assert_forbidden(response: Any) -> None:
    assert response.status_code == 403
    body = response.json()
    assert (body["code"], body["status"]) == (403, "Forbidden")
    assert "fault" not in body


def _hs256_with_the_public_key(server: JwksServer) -> str:
    return forge(
        {"alg": "HS256", "typ": "JWT", "kid": server.key.kid}, server.claims(), hmac_secret=server.key.public_pem()
    )


BAD_TOKENS: dict[str, Callable[[JwksServer], str]] = {
    "wrong-issuer": lambda s: s.mint(s.claims(iss="https://evil.example.com")),
    "issuer-with-trailing-slash": lambda s: s.mint(s.claims(iss=s.issuer + "/")),
    "no-issuer": lambda s: s.mint(s.claims(iss=None)),
    "wrong-audience": lambda s: s.mint(s.claims(aud="another-api")),
    "no-audience": lambda s: s.mint(s.claims(aud=None)),
    "no-exp": lambda s: s.mint(s.claims(exp=None)),
    "not-yet-valid": lambda s: s.mint(s.claims(nbf=int(time.time()) + 300)),
    "issued-in-the-future": lambda s: s.mint(s.claims(iat=int(time.time()) + 300)),
    "bad-signature": lambda s: s.mint(key=SigningKey("key-1", SigningKey.generate("x").private_key)),
    "tampered-payload": lambda s: _with_payload(s.mint(), json.dumps(s.claims(tenant="globex")).encode()),
    "unknown-kid": lambda s: s.mint(key=SigningKey.generate("not-published")),
    "no-kid": lambda s: jwt.encode(s.claims(), s.key.private_key, "RS256"),
    "alg-none": lambda s: forge({"alg": "none", "typ": "JWT", "kid": s.key.kid}, s.claims()),
    "hs256-with-the-public-key": _hs256_with_the_public_key,
    "algorithm-not-allowed": lambda s: s.mint(algorithm="RS512"),
    "short-key": lambda s: _published_short_key(s),
    "encryption-key": lambda s: _published_encryption_key(s),
    "no-tenant": lambda s: s.mint(s.claims(tenant=None)),
    "empty-tenant": lambda s: s.mint(s.claims(tenant="")),
    "tenant-not-a-string": lambda s: s.mint(s.claims(tenant=["acme"])),
    "two-tenant-scopes": lambda s: s.mint(s.claims(tenant=None, scope="ai.agent_read tenant=acme tenant=globex")),
    "claim-and-scope-disagree": lambda s: s.mint(s.claims(tenant="acme", scope="ai.agent_read tenant=globex")),
    "scope-not-a-string": lambda s: s.mint(s.claims(scope=7)),
    "scp-list-of-numbers": lambda s: s.mint(s.claims(scope=None, scp=[1, 2])),
    "garbage-segments": lambda s: "abc.def.ghi",
    "payload-not-json": lambda s: _with_payload(s.mint(), b"not json"),
}


def _with_payload(token: str, payload: bytes) -> str:
    header, _, signature = token.split(".")
    return f"{header}.{jwt.utils.base64url_encode(payload).decode()}.{signature}"


def _published_encryption_key(server: JwksServer) -> str:
    key = SigningKey.generate("for-encryption")
    server.extra_jwks = [key.public_jwk(use="enc")]
    return server.mint(key=key)


def _published_short_key(server: JwksServer) -> str:
    short = SigningKey.generate("short", bits=1024)
    server.keys.append(short)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return server.mint(key=short)
