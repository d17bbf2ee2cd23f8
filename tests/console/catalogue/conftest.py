"""The catalogue pages' fixtures: acme's catalogue and API client, a catalogue in globex that must never show in
acme, and a broker that records the tasks a job would send."""

from __future__ import annotations

from collections.abc import Iterator
from unittest import mock

import pytest

from apps.accounts.models import ApiClient
from apps.agents.models import Kind
from apps.jobs import tasks
from apps.tenants.models import Tenant
from tests.agents.conftest import (
    Catalogue,
    agent_body,
    create,
    token_body,
)
from tests.console.catalogue_fixtures import (
    make_api_client,
)


@pytest.fixture
def catalogue(tenant: Tenant) -> Catalogue:
    return Catalogue(tenant)


@pytest.fixture
def api_client(tenant: Tenant) -> ApiClient:
    return make_api_client(tenant)


@pytest.fixture
def world(catalogue: Catalogue, api_client: ApiClient, other_tenant: Tenant) -> ApiClient:
    """acme's catalogue and API client, and a catalogue in globex too (its a1 must never show in acme)."""
    create(other_tenant, Kind.TOKEN, "t1", token_body("Globex key", "globex-secret"))
    create(other_tenant, Kind.AGENT, "a1", agent_body("t1", name="Globex agent"))
    return api_client


@pytest.fixture
def broker() -> Iterator[mock.Mock]:
    """Sending a job's task is recorded, never done."""
    with mock.patch.object(tasks.job_run, "apply_async") as send:
        yield send
