"""JWT access tokens from an external OpenID provider (API_JWT_*): verified locally against the provider's keys,
served by a real HTTP server on 127.0.0.1 (tests/jwks_server.py), in the same 401/403 shapes as our own tokens."""

from __future__ import annotations

import json
import logging
import os
import runpy
import secrets
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from django.core.exceptions import ImproperlyConfigured

from apps.accounts import provider_keys
from apps.accounts.external_tokens import principal_from_jwt
from apps.accounts.principal import ApiPrincipal
from apps.accounts.provider_keys import ProviderKeys
from apps.core.errors import InvalidToken
from apps.jobs.models import Job
from apps.tenants.models import Tenant
from tests.conftest import MANAGE, READ, ApiClientForTests
from tests.jwks_server import AUDIENCE, DISCOVERY_PATH, JWKS_PATH, JwksServer, SigningKey, forge

INVALID = {"fault": {"faultstring": "Invalid access token", "detail": {"errorcode": "oauth.v2.InvalidAccessToken"}}}
EXPIRED = {
    "fault": {
        "faultstring": "Access Token expired",
        "detail": {"errorcode": "keymanagement.service.access_token_expired"},
    }
}
BASE_DIR = Path(__file__).resolve().parent.parent.parent
JOBS = "/ai-service/acme/jobs"


class FakeClock:
    """Stands in for time.monotonic in apps.accounts.provider_keys: the key cache's ages move only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def _no_keys_kept_between_tests() -> Iterator[None]:
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


def _get(api: ApiClientForTests, token: str, path: str = JOBS) -> Any:
    return api.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")


def _assert_invalid(response: Any) -> None:
    assert response.status_code == 401
    assert response.json() == INVALID
    assert response["WWW-Authenticate"].startswith("Bearer")


def _assert_forbidden(response: Any) -> None:
    assert response.status_code == 403
    body = response.json()
    assert (body["code"], body["status"]) == (403, "Forbidden")
    assert "fault" not in body


# --- a good token -----------------------------------------------------------------------------------------------


def test_a_valid_token_lists_the_jobs_of_its_tenant(
    api: ApiClientForTests, issuer: JwksServer, make_job: Callable[..., Job], other_tenant: Tenant
) -> None:
    mine = make_job(status=Job.Status.SUCCESS)
    make_job(tenant=other_tenant)

    response = _get(api, issuer.mint())

    assert response.status_code == 200
    assert [job["id"] for job in response.json()] == [mine.job_id]


def test_a_valid_token_with_the_manage_scope_deletes_a_job(
    api: ApiClientForTests, issuer: JwksServer, make_job: Callable[..., Job]
) -> None:
    job = make_job()

    response = api.delete(f"{JOBS}/{job.job_id}", HTTP_AUTHORIZATION=f"Bearer {issuer.mint()}")

    assert response.status_code == 204
    assert not Job.objects.filter(pk=job.pk).exists()


@pytest.mark.parametrize(
    "scope_claims",
    [
        {"scope": "ai.agent_read"},
        {"scope": None, "scp": ["ai.agent_read"]},
        {"scope": None, "scp": "ai.agent_read"},
    ],
    ids=["scope-string", "scp-list", "scp-string"],
)
def test_it_reads_the_scopes_from_scope_or_scp(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer, scope_claims: dict[str, Any]
) -> None:
    token = issuer.mint(issuer.claims(**scope_claims))

    assert _get(api, token).status_code == 200
    _assert_forbidden(api.delete(f"{JOBS}/some-job", HTTP_AUTHORIZATION=f"Bearer {token}"))


def test_it_takes_the_tenant_from_a_tenant_scope_when_there_is_no_tenant_claim(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer
) -> None:
    token = issuer.mint(issuer.claims(tenant=None, scope="ai.agent_read tenant=acme"))

    assert _get(api, token).status_code == 200


def test_a_tenant_claim_and_a_tenant_scope_that_agree_are_accepted(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer
) -> None:
    token = issuer.mint(issuer.claims(tenant="acme", scope="ai.agent_read tenant=acme"))

    assert _get(api, token).status_code == 200


def test_it_takes_the_tenant_from_the_configured_claim(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer, settings: Any
) -> None:
    settings.API_JWT_TENANT_CLAIM = "https://console.example.com/tenant"
    claims = issuer.claims(tenant="globex", **{"https://console.example.com/tenant": "acme"})

    assert _get(api, issuer.mint(claims)).status_code == 200


def test_the_principal_carries_tenant_scopes_and_client(issuer: JwksServer) -> None:
    principal = principal_from_jwt(issuer.mint(issuer.claims(client_id=None, azp="the-azp")))

    assert principal == ApiPrincipal(
        tenant="acme",
        scopes=frozenset({"ai.agent_read", "ai.agent_manage"}),
        client_id="the-azp",
        subject="machine-client",  # for the audit trail
    )


def test_an_rsa_key_without_alg_verifies_every_allowed_rsa_algorithm(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer, settings: Any
) -> None:
    settings.API_JWT_ALGORITHMS = ["RS256", "PS256"]

    assert _get(api, issuer.mint(algorithm="PS256")).status_code == 200
    assert _get(api, issuer.mint(algorithm="RS256")).status_code == 200


def test_a_key_that_names_its_alg_verifies_only_that_one(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer, settings: Any
) -> None:
    settings.API_JWT_ALGORITHMS = ["RS256", "PS256"]
    issuer.extra_jwks = [SigningKey("named", issuer.key.private_key).public_jwk(alg="RS256")]
    named = SigningKey("named", issuer.key.private_key)

    assert _get(api, issuer.mint(key=named, algorithm="RS256")).status_code == 200
    _assert_invalid(_get(api, issuer.mint(key=named, algorithm="PS256")))


def test_a_token_that_expired_within_the_leeway_is_accepted(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer
) -> None:
    now = int(time.time())

    assert _get(api, issuer.mint(issuer.claims(exp=now - 10, nbf=now + 10))).status_code == 200


def test_our_own_opaque_tokens_keep_working_with_the_issuer_configured(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer, make_token: Callable[..., str]
) -> None:
    assert _get(api, make_token(tenant, READ)).status_code == 200
    _assert_invalid(_get(api, secrets.token_urlsafe(24)))
    assert sum(issuer.hits.values()) == 0


# --- 401 ---------------------------------------------------------------------------------------------------------


def test_an_expired_token_answers_access_token_expired(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer
) -> None:
    response = _get(api, issuer.mint(issuer.claims(exp=int(time.time()) - 60)))

    assert response.status_code == 401
    assert response.json() == EXPIRED
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_expired_token_with_a_forged_signature_is_invalid_not_expired(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer
) -> None:
    forger = SigningKey("key-1", SigningKey.generate("other").private_key)

    _assert_invalid(_get(api, issuer.mint(issuer.claims(exp=int(time.time()) - 60), key=forger)))


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


@pytest.mark.parametrize("make_bad_token", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
def test_it_answers_401_invalid_access_token_for_a_bad_token(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer, make_bad_token: Callable[[JwksServer], str]
) -> None:
    token = make_bad_token(issuer)

    _assert_invalid(_get(api, token))


@pytest.mark.parametrize(
    "break_it",
    [
        lambda s: s.stop(),
        lambda s: setattr(s, "fail_with", 500),
        lambda s: setattr(s, "discovery_issuer", "https://someone-else.example.com"),
    ],
    ids=["server-down", "server-error", "discovery-names-another-issuer"],
)
def test_it_answers_401_and_warns_when_the_keys_cannot_be_had(
    api: ApiClientForTests,
    tenant: Tenant,
    issuer: JwksServer,
    caplog: pytest.LogCaptureFixture,
    break_it: Callable[[JwksServer], None],
) -> None:
    token = issuer.mint()
    break_it(issuer)

    with caplog.at_level(logging.WARNING, logger="apps.accounts.provider_keys"):
        response = _get(api, token)

    _assert_invalid(response)
    assert any(record.levelno == logging.WARNING for record in caplog.records)


def test_jwt_looking_tokens_are_unknown_opaque_tokens_when_no_issuer_is_configured(
    api: ApiClientForTests, tenant: Tenant, provider: JwksServer, settings: Any
) -> None:
    settings.API_JWT_ISSUER = ""

    _assert_invalid(_get(api, provider.mint()))
    assert sum(provider.hits.values()) == 0


# --- 403 ---------------------------------------------------------------------------------------------------------


def test_it_answers_403_on_another_tenants_path(
    api: ApiClientForTests, tenant: Tenant, other_tenant: Tenant, issuer: JwksServer
) -> None:
    _assert_forbidden(_get(api, issuer.mint(), "/ai-service/globex/jobs"))


def test_a_token_for_an_unknown_tenant_answers_as_a_foreign_one(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer
) -> None:
    _assert_forbidden(_get(api, issuer.mint(issuer.claims(tenant="nosuchtenant"))))


def test_it_answers_403_when_the_token_lacks_the_scope(
    api: ApiClientForTests, issuer: JwksServer, make_job: Callable[..., Job]
) -> None:
    job = make_job()
    reader = issuer.mint(issuer.claims(scope=READ))
    manager_only = issuer.mint(issuer.claims(scope=MANAGE))

    response = api.delete(f"{JOBS}/{job.job_id}", HTTP_AUTHORIZATION=f"Bearer {reader}")
    _assert_forbidden(response)
    assert MANAGE in response.json()["message"]
    _assert_forbidden(_get(api, manager_only))
    assert Job.objects.filter(pk=job.pk).exists()


# --- the provider's keys: fetched once, refreshed on expiry and rotation, never hammered ---------------------------


def test_the_keys_are_fetched_once_for_many_requests(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer
) -> None:
    for _ in range(5):
        assert _get(api, issuer.mint()).status_code == 200

    assert issuer.hits == {DISCOVERY_PATH: 1, JWKS_PATH: 1}


def test_the_keys_are_fetched_again_once_the_cache_expires(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer, clock: FakeClock
) -> None:
    token = issuer.mint()
    assert _get(api, token).status_code == 200
    clock.advance(299)
    assert _get(api, token).status_code == 200
    assert issuer.hits[JWKS_PATH] == 1

    clock.advance(2)
    assert _get(api, token).status_code == 200

    assert issuer.hits[JWKS_PATH] == 2


def test_the_keys_expire_after_the_configured_time(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer, clock: FakeClock, settings: Any
) -> None:
    settings.API_JWT_JWKS_CACHE_SECONDS = 60
    token = issuer.mint()
    _get(api, token)
    clock.advance(61)
    _get(api, token)

    assert issuer.hits[JWKS_PATH] == 2


def test_a_rotated_key_is_fetched_when_a_token_names_it(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer, clock: FakeClock
) -> None:
    assert _get(api, issuer.mint()).status_code == 200
    rotated = SigningKey.generate("key-2")
    issuer.keys = [rotated]
    clock.advance(ProviderKeys.REFRESH_COOLDOWN_SECONDS)

    assert _get(api, issuer.mint(key=rotated)).status_code == 200
    assert _get(api, issuer.mint(key=rotated)).status_code == 200
    assert issuer.hits[JWKS_PATH] == 2
    # The old key is gone from the provider's set, and so from ours.
    _assert_invalid(_get(api, issuer.mint(key=SigningKey("key-1", SigningKey.generate("x").private_key))))


def test_unknown_key_ids_refresh_the_keys_at_most_once_per_cooldown(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer, clock: FakeClock
) -> None:
    assert _get(api, issuer.mint()).status_code == 200
    for _ in range(10):
        _assert_invalid(_get(api, issuer.mint(key=SigningKey.generate(secrets.token_hex(4)))))
    assert issuer.hits[JWKS_PATH] == 1

    clock.advance(ProviderKeys.REFRESH_COOLDOWN_SECONDS)
    for _ in range(10):
        _assert_invalid(_get(api, issuer.mint(key=SigningKey.generate(secrets.token_hex(4)))))

    assert issuer.hits[JWKS_PATH] == 2
    assert _get(api, issuer.mint()).status_code == 200


def test_after_a_failed_fetch_it_waits_before_asking_the_provider_again(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer, clock: FakeClock
) -> None:
    token = issuer.mint()
    issuer.fail_with = 503
    for _ in range(3):
        _assert_invalid(_get(api, token))
    assert issuer.hits[DISCOVERY_PATH] == 1

    issuer.fail_with = None
    clock.advance(ProviderKeys.RETRY_AFTER_FAILURE_SECONDS)

    assert _get(api, token).status_code == 200


def test_expired_keys_are_not_used_while_the_provider_is_down(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer, clock: FakeClock
) -> None:
    token = issuer.mint()
    assert _get(api, token).status_code == 200
    issuer.fail_with = 503
    clock.advance(301)

    _assert_invalid(_get(api, token))


def test_a_slow_provider_delays_only_the_tokens_that_need_it(issuer: JwksServer, clock: FakeClock) -> None:
    good = issuer.mint()
    principal_from_jwt(good)
    clock.advance(ProviderKeys.REFRESH_COOLDOWN_SECONDS)
    issuer.delay_seconds = 2.0
    refused: list[bool] = []
    made_up = issuer.mint(key=SigningKey.generate("made-up"))
    unknown = threading.Thread(target=lambda: refused.append(_is_refused(made_up)))
    unknown.start()
    while issuer.hits[JWKS_PATH] < 2:  # the made-up kid is now waiting for the provider
        time.sleep(0.01)

    started = time.monotonic()
    assert principal_from_jwt(good).tenant == "acme"
    assert time.monotonic() - started < 1.0
    unknown.join()
    assert refused == [True]


def _is_refused(token: str) -> bool:
    try:
        principal_from_jwt(token)
    except InvalidToken:
        return True
    return False


@pytest.mark.parametrize("name", ["alg-none", "hs256-with-the-public-key", "algorithm-not-allowed", "no-kid"])
def test_a_token_refused_by_its_header_costs_the_provider_nothing(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer, name: str
) -> None:
    _assert_invalid(_get(api, BAD_TOKENS[name](issuer)))

    assert sum(issuer.hits.values()) == 0


def test_a_configured_jwks_url_skips_discovery(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer, settings: Any
) -> None:
    settings.API_JWT_JWKS_URL = issuer.issuer + JWKS_PATH

    assert _get(api, issuer.mint()).status_code == 200
    assert issuer.hits == {JWKS_PATH: 1}


def test_a_symmetric_key_in_the_key_set_is_never_used(issuer: JwksServer, settings: Any) -> None:
    secret = b"0123456789abcdef0123456789abcdef"
    issuer.keys = []
    issuer.extra_jwks = [{"kty": "oct", "kid": "sym", "k": jwt.utils.base64url_encode(secret).decode()}]
    settings.API_JWT_ALGORITHMS = ["HS256"]  # refused by the settings; even so, no HMAC key is ever taken

    with pytest.raises(InvalidToken):
        principal_from_jwt(jwt.encode(issuer.claims(), secret, "HS256", {"kid": "sym"}))


# --- settings (config/settings/base.py) ---------------------------------------------------------------------------

API_JWT_NAMES = (
    "API_JWT_ISSUER",
    "API_JWT_AUDIENCE",
    "API_JWT_JWKS_URL",
    "API_JWT_ALGORITHMS",
    "API_JWT_TENANT_CLAIM",
    "API_JWT_LEEWAY_SECONDS",
    "API_JWT_JWKS_CACHE_SECONDS",
)


def _load_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **variables: str) -> dict[str, Any]:
    for name in API_JWT_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("APP_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("DJANGO_SECRET_KEY", os.environ["DJANGO_SECRET_KEY"])
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(BASE_DIR / "config" / "settings" / "base.py"))


def test_external_tokens_are_off_by_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    loaded = _load_settings(monkeypatch, tmp_path)

    assert loaded["API_JWT_ISSUER"] == ""
    assert loaded["API_JWT_ALGORITHMS"] == ["RS256"]
    assert loaded["API_JWT_TENANT_CLAIM"] == "tenant"
    assert (loaded["API_JWT_LEEWAY_SECONDS"], loaded["API_JWT_JWKS_CACHE_SECONDS"]) == (30, 300)


def test_the_external_issuer_settings_are_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    loaded = _load_settings(
        monkeypatch,
        tmp_path,
        API_JWT_ISSUER="https://login.example.com/realms/ai/",
        API_JWT_AUDIENCE="ai-service",
        API_JWT_JWKS_URL="https://login.example.com/keys",
        API_JWT_ALGORITHMS="RS256, ES256",
        API_JWT_TENANT_CLAIM="org",
        API_JWT_LEEWAY_SECONDS="5",
        API_JWT_JWKS_CACHE_SECONDS="600",
    )

    assert loaded["API_JWT_ISSUER"] == "https://login.example.com/realms/ai/"
    assert loaded["API_JWT_AUDIENCE"] == "ai-service"
    assert loaded["API_JWT_JWKS_URL"] == "https://login.example.com/keys"
    assert loaded["API_JWT_ALGORITHMS"] == ["RS256", "ES256"]
    assert loaded["API_JWT_TENANT_CLAIM"] == "org"
    assert (loaded["API_JWT_LEEWAY_SECONDS"], loaded["API_JWT_JWKS_CACHE_SECONDS"]) == (5, 600)


def test_an_issuer_without_an_audience_stops_the_start(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(ImproperlyConfigured, match="API_JWT_AUDIENCE"):
        _load_settings(monkeypatch, tmp_path, API_JWT_ISSUER="https://login.example.com")


@pytest.mark.parametrize("algorithms", ["none", "HS256", "RS256,HS256", "rs256", ""])
def test_only_public_key_algorithms_are_allowed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, algorithms: str
) -> None:
    with pytest.raises(ImproperlyConfigured, match="API_JWT_ALGORITHMS"):
        _load_settings(monkeypatch, tmp_path, API_JWT_ALGORITHMS=algorithms)


@pytest.mark.parametrize(
    ("name", "value"),
    [("API_JWT_ISSUER", "login.example.com"), ("API_JWT_JWKS_URL", "file:///etc/passwd")],
)
def test_provider_urls_must_be_http_urls(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, value: str
) -> None:
    with pytest.raises(ImproperlyConfigured, match=name):
        _load_settings(monkeypatch, tmp_path, API_JWT_AUDIENCE="ai-service", **{name: value})
