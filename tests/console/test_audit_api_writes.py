"""The console's audit page shows writes made through the API, by their API client, next to the console's own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.test import Client

from apps.accounts.services import IssuedClient
from apps.agents.models import Kind
from apps.audit.models import AuditEvent
from apps.tenants.models import Tenant
from tests.agents.conftest import agent_body, client_with, create, put, token_body
from tests.conftest import MANAGE, READ


def test_the_audit_page_shows_api_writes_by_their_client_and_console_ones_by_their_user(
    tenant: Tenant,
    issue_client: Callable[..., IssuedClient],
    make_token: Callable[..., str],
    manager_client: Client,
) -> None:
    create(tenant, Kind.TOKEN, "t1", token_body())
    issued = issue_client(tenant, READ, MANAGE)
    caller: Any = client_with(make_token(tenant, READ, MANAGE, client=issued.client))
    assert put(caller, Kind.AGENT, "a1", agent_body("t1")).status_code == 201
    assert manager_client.post("/console/acme/agents/a1/delete", {}).status_code == 302

    page = manager_client.get("/console/acme/audit/").content.decode()

    assert f"API client {issued.client.client_id}" in page
    assert "mia-manager" in page
    actors = [event.actor for event in AuditEvent.objects.order_by("at", "id")]
    assert actors == [f"API client {issued.client.client_id}", "mia-manager"]
