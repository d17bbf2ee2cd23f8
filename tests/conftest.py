"""Personas and helpers shared by the whole suite."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from hypothesis import settings as hypothesis_settings
from oauth2_provider.models import get_access_token_model

from apps.accounts.models import ApiClient
from apps.accounts.services import IssuedClient, api_client_create
from apps.core import logs
from apps.jobs.models import Job
from apps.tenants.models import Tenant
from tests.contract import validate_response

pytest_plugins = ["tests.oidc_provider"]

READ, MANAGE = "ai.agent_read", "ai.agent_manage"

# In CI the property tests draw the same examples every run, so that a red build is always reproducible;
# locally they keep exploring new ones.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


class ApiClientForTests(Client):
    """A test client that checks every response of the published operations against the contract."""

    def generic(self, method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        response = super().generic(method, path, *args, **kwargs)
        # Answers that carry export bundles are streamed (apps/jobs/streaming.py): read them once, whole.
        content = b"".join(response.streaming_content) if response.streaming else response.content
        response.streamed_content = content if response.streaming else None
        body: Any = json.loads(content) if content else None
        validate_response(path.split("?")[0], method, response.status_code, body)
        response.body = body
        return response


@pytest.fixture
def tenant(db: Any) -> Tenant:
    return Tenant.objects.create(name="acme")


@pytest.fixture
def other_tenant(db: Any) -> Tenant:
    return Tenant.objects.create(name="globex")


@pytest.fixture
def issue_client(db: Any) -> Callable[..., IssuedClient]:
    def issue(tenant: Tenant, *scopes: str) -> IssuedClient:
        return api_client_create(tenant=tenant, scopes=list(scopes or (READ, MANAGE)))

    return issue


@pytest.fixture
def make_token(issue_client: Callable[..., IssuedClient]) -> Callable[..., str]:
    """An access token as the token endpoint stores it (only its SHA-256), without the round trip."""

    def make(tenant: Tenant, *scopes: str, expires_in: int = 3600, client: ApiClient | None = None) -> str:
        client = client or issue_client(tenant, *(scopes or (READ, MANAGE))).client
        raw = secrets.token_urlsafe(24)
        get_access_token_model().objects.create(
            application=client,
            token="",
            token_checksum=hashlib.sha256(raw.encode()).hexdigest(),
            expires=timezone.now() + timedelta(seconds=expires_in),
            scope=" ".join([*(scopes or (READ, MANAGE)), f"tenant={tenant.name}"]),
        )
        return raw

    return make


@pytest.fixture
def api() -> ApiClientForTests:
    return ApiClientForTests()


@pytest.fixture
def manager(api: ApiClientForTests, tenant: Tenant, make_token: Callable[..., str]) -> ApiClientForTests:
    """A client of the tenant with read and manage scopes."""
    api.defaults["HTTP_AUTHORIZATION"] = f"Bearer {make_token(tenant, READ, MANAGE)}"
    return api


@pytest.fixture
def reader(tenant: Tenant, make_token: Callable[..., str]) -> ApiClientForTests:
    """A client of the tenant with the read scope only."""
    client = ApiClientForTests()
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {make_token(tenant, READ)}"
    return client


@pytest.fixture
def outsider(other_tenant: Tenant, make_token: Callable[..., str]) -> ApiClientForTests:
    """A fully-scoped client of another tenant."""
    client = ApiClientForTests()
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {make_token(other_tenant, READ, MANAGE)}"
    return client


@pytest.fixture
def make_job(tenant: Tenant) -> Callable[..., Job]:
    def make(**fields: Any) -> Job:
        fields.setdefault("tenant", tenant)
        fields.setdefault("type", Job.Type.AGENT_CHAT)
        return Job.objects.create(**fields)

    return make


def pytest_unconfigure(config: pytest.Config) -> None:
    """The embedded broker's folders, the cache and the metrics of this test process (see config/settings/test.py) go
    when it ends. Under pytest-xdist that is each worker's, and the controller's too: it runs no test, but it loaded
    the settings, which made its folders."""
    folder = os.environ.get("TEST_BROKER_DIR", "")
    if "test-broker-" in folder:
        shutil.rmtree(folder, ignore_errors=True)
    location = str(settings.CACHES["default"]["LOCATION"])
    if "test-cache-" in location:
        shutil.rmtree(location, ignore_errors=True)
    if "test-metrics-" in str(settings.METRICS_DIR):
        shutil.rmtree(settings.METRICS_DIR, ignore_errors=True)


@pytest.fixture(autouse=True)
def _fresh_log_context() -> Iterator[None]:
    """Every test starts with no log context: code a test runs directly (a job's runner, say) binds the fields a
    worker's task would, and nothing of them may reach the next test's lines."""
    token = logs.enter({})
    yield
    logs.leave(token)


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Every test starts with no rate-limit counters (nor anything else cached) left by another."""
    empty_cache()


def empty_cache() -> None:
    if settings.REDIS_URL:
        # Only this run's keys: the broker's queues live in the same Redis database.
        client = redis.Redis.from_url(settings.REDIS_URL)
        keys = list(client.scan_iter(f"{settings.CACHES['default']['KEY_PREFIX']}:*"))
        if keys:
            client.delete(*keys)
    else:
        cache.clear()
